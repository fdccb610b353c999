import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The project's own eslint.config.js, with only the boundary rule and without
// type information (the probe files do not exist, so no tsconfig knows them).
const eslint = new ESLint({
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});

async function boundaryErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
}

describe('import boundaries between features', () => {
  it.each([
    ['src/features/users/components/probe.tsx', "import { useCreateToken } from '@/features/tokens/api/tokens';"],
    ['src/features/users/components/probe.tsx', "import { useCreateToken } from '../../tokens/api/tokens';"],
    ['src/features/tokens/probe.ts', "import { useCreateUser } from '../users/api/users';"],
    ['src/features/tokens/probe.ts', "export { useCreateUser } from '@/features/users/api/users';"],
    ['src/features/auth/components/probe.tsx', "import { routes } from '@/app/routes';"],
    ['src/lib/probe.ts', "import { parseView } from '@/features/runs/view-state';"],
    ['src/components/layouts/probe.tsx', "import { parseView } from '../../features/runs/view-state';"],
  ])('refuses %s: %s', async (filePath, source) => {
    const errors = await boundaryErrors(filePath, `${source}\nexport const x = 1;\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^no-restricted-imports: .*(Features do not import each other|shared layers)/);
  });

  it.each([
    ['src/features/users/components/probe.tsx', "import { useCreateUser } from '@/features/users/api/users';"],
    ['src/features/users/components/probe.tsx', "import { useCreateUser } from '../api/users';"],
    ['src/features/users/components/probe.tsx', "import { showFieldProblems } from '@/lib/form';"],
    ['src/features/tokens/probe.ts', "import { tokenLimits } from './token-rules';"],
    ['src/app/routes/probe.tsx', "import { UsersTable } from '@/features/users/components/users-table';"],
  ])('allows %s: %s', async (filePath, source) => {
    expect(await boundaryErrors(filePath, `${source}\nexport const x = 1;\n`)).toEqual([]);
  });
});

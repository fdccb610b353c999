import { describe, expect, it } from 'vitest';

import { projectRunsPath } from '@/config/paths';
import { parseView } from '@/features/runs/view-state';

// The link lives in src/config and its reader in the runs feature; only src/app
// may import both (the import boundaries in eslint.config.js).
describe('projectRunsPath and the runs view', () => {
  it('encodes any name, and the runs view reads it back exactly', () => {
    const name = 'a "b" \\c & d?#=';
    const path = projectRunsPath(name);
    expect(parseView(new URL(path, 'http://x').searchParams).project).toBe(name);
  });
});

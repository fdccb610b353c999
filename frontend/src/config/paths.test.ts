import { describe, expect, it } from 'vitest';

import { parseView } from '@/features/runs/view-state';

import { projectRunsPath } from './paths';

describe('projectRunsPath', () => {
  it('filters the runs table to the project with the project chip', () => {
    expect(projectRunsPath('sweep-12')).toBe('/runs?project=sweep-12');
  });

  it('encodes any name, and the runs view reads it back exactly', () => {
    const name = 'a "b" \\c & d?#=';
    const path = projectRunsPath(name);
    expect(parseView(new URL(path, 'http://x').searchParams).project).toBe(name);
  });
});

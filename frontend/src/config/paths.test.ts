import { describe, expect, it } from 'vitest';

import { projectRunsPath } from './paths';

describe('projectRunsPath', () => {
  it('filters the runs table to the project with the project chip', () => {
    expect(projectRunsPath('sweep-12')).toBe('/runs?project=sweep-12');
  });
});

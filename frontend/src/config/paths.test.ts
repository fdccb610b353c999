import { describe, expect, it } from 'vitest';

import { projectRunsPath } from './paths';

describe('projectRunsPath', () => {
  it('filters the runs table to the project with the query language', () => {
    expect(projectRunsPath('sweep-12')).toBe('/runs?q=project%20%3D%20%22sweep-12%22');
  });

  it('escapes double quotes and backslashes in the name, then encodes the query for the URL', () => {
    const path = projectRunsPath('a "b" \\c & d?#');
    expect(path).toBe(`/runs?q=${encodeURIComponent(String.raw`project = "a \"b\" \\c & d?#"`)}`);
    expect(new URL(path, 'http://x').searchParams.get('q')).toBe(String.raw`project = "a \"b\" \\c & d?#"`);
  });
});

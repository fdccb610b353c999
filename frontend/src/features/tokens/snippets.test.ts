import { describe, expect, it } from 'vitest';

import { pythonSnippet, shellSnippet } from './snippets';

describe('token snippets', () => {
  it('exports the server URL and the token for the clients', () => {
    expect(shellSnippet('https://labreview.example.org', 'lrt_abc')).toBe(
      'export LABREVIEW_URL=https://labreview.example.org LABREVIEW_TOKEN=lrt_abc',
    );
  });

  it('reports a run with the Python client for a writing token, in its first project', () => {
    const code = pythonSnippet({ scopes: ['runs:read', 'runs:write'], projects: ['sweep-12', 'other'] });
    expect(code).toContain('import labreview');
    expect(code).toContain('with labreview.Run("sweep-12", external_id=');
    expect(code).toContain('run.log("loss", ');
    expect(code).toContain('run.metrics(loss=');
  });

  it('writes a project name as a valid Python string literal', () => {
    const code = pythonSnippet({ scopes: ['runs:write'], projects: ['a "quoted" \\ name'] });
    expect(code).toContain(String.raw`labreview.Run("a \"quoted\" \\ name", `);
  });

  it('names a placeholder project for a token of every project', () => {
    expect(pythonSnippet({ scopes: ['runs:write'], projects: [] })).toContain('labreview.Run("my-project", ');
  });

  it('lists runs with a read-only token, which may not create one', () => {
    const code = pythonSnippet({ scopes: ['runs:read'], projects: [] });
    expect(code).toContain('client = labreview.Client()');
    expect(code).toContain('client.request("GET", "/api/runs?limit=10")');
    expect(code).not.toContain('labreview.Run(');
  });
});

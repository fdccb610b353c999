import type { CreatedApiToken } from '@/types/api';

/**
 * Ready-made snippets for a new token. The token goes into the environment,
 * where `labreview push|log` and clients/python/labreview.py read it
 * (LABREVIEW_URL, LABREVIEW_TOKEN); job scripts then hold no secret.
 */

/** shellSnippet sets the two variables the clients read. The token's characters (lrt_ + base64url) need no quoting. */
export function shellSnippet(origin: string, token: string): string {
  return `export LABREVIEW_URL=${origin} LABREVIEW_TOKEN=${token}`;
}

/** pythonString writes a Python string literal (JSON's escapes are valid Python for printable text). */
function pythonString(value: string): string {
  return JSON.stringify(value);
}

/**
 * pythonSnippet uses the one-file client: a run reported from a job with a
 * writing token, or a list of recent runs with a read-only one. It names the
 * token's first project when the token is limited to some.
 */
export function pythonSnippet(token: Pick<CreatedApiToken, 'scopes' | 'projects'>): string {
  const header = [
    'import labreview  # clients/python/labreview.py: one file, copy it next to the job script',
    '',
    '# The URL and the token come from LABREVIEW_URL and LABREVIEW_TOKEN (the export above).',
  ];
  if (!token.scopes.includes('runs:write')) {
    return [
      ...header,
      'client = labreview.Client()',
      'status, page = client.request("GET", "/api/runs?limit=10")',
      'for run in page["runs"]:',
      '    print(run["project"], run["name"], run["status"])',
    ].join('\n');
  }
  const project = pythonString(token.projects[0] ?? 'my-project');
  return [
    'import os',
    '',
    ...header,
    'job = os.environ.get("SLURM_JOB_ID", "local")  # the same id again continues the same run',
    `with labreview.Run(${project}, external_id="job-" + job, params={"lr": 0.001}) as run:`,
    '    for step in range(100):',
    '        run.log("loss", 1.0 / (step + 1), step)',
    '    run.metrics(loss=0.01)',
  ].join('\n');
}

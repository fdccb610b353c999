/**
 * Shapes of the server's API responses, read from the generated OpenAPI
 * types (src/types/openapi.ts, made by `npm run gen:api` from
 * docs/openapi.json, which the server's tests keep true to its answers).
 * Nothing here is written by hand but the names.
 */
import type { components } from './openapi';

type Schemas = components['schemas'];

/** User is an account as the API shows it (GET /api/me, /api/users). */
export type User = Schemas['User'];

/** Me is the signed-in person (GET /api/me) with what the server's permission table lets them do. */
export type Me = Schemas['Me'];

/** AuthSession is one of the caller's sessions (GET /api/auth/sessions). */
export type AuthSession = Schemas['Session'];

/** AuditEvent is one entry of the audit log (GET /api/audit). */
export type AuditEvent = Schemas['Audit'];

/** AuditPage is one page of audit events; `next` is the cursor of the following (older) page. */
export type AuditPage = Schemas['AuditPage'];

/** ApiToken is an API token as the API shows it (GET /api/tokens): never its secret or hash. */
export type ApiToken = Schemas['ApiToken'];

/** TokenScope is what an API token may do: read runs, or create and change them. */
export type TokenScope = ApiToken['scopes'][number];

/** CreatedApiToken is the answer to POST /api/tokens: the token with its secret, shown this once. */
export type CreatedApiToken = ApiToken & { token: string };

/** RunStatus is a run's state as a job reports it, or `stale` for a running run without a sign of life. */
export type RunStatus = Schemas['Run']['status'];

/** ReviewState is a run's current verdict. */
export type ReviewState = Schemas['Review']['state'];

/** Project is one project with its run counts (GET /api/projects). */
export type Project = Schemas['Project'];

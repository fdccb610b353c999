/** AccessClaims are the access-token claims the UI reads as hints; the server decides. */
export interface AccessClaims {
  /** sub: the user id. */
  sub: string;
  /** sid: the session the token belongs to. */
  sid: string;
  /** role: the user's role when the token was issued (what the server authorises with). */
  role: string;
  /** exp: expiry, seconds since the epoch. */
  exp: number;
}

/**
 * decodeAccessClaims reads the payload of a JWT without verifying it. The UI
 * uses the claims only to decide what to show; every request is still checked
 * by the server.
 */
export function decodeAccessClaims(token: string): AccessClaims | null {
  const payload = token.split('.')[1];
  if (payload === undefined) {
    return null;
  }
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== 'object' || claims === null) {
      return null;
    }
    const c = claims as Record<string, unknown>;
    if (typeof c['sub'] !== 'string' || typeof c['exp'] !== 'number') {
      return null;
    }
    return {
      sub: c['sub'],
      sid: typeof c['sid'] === 'string' ? c['sid'] : '',
      role: typeof c['role'] === 'string' ? c['role'] : '',
      exp: c['exp'],
    };
  } catch {
    return null;
  }
}

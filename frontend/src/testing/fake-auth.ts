import { jsonResponse } from './http';

/** makeAccessToken builds an unsigned JWT-shaped token with the given claims (the UI never verifies). */
export function makeAccessToken(claims: { sub?: string; role?: string; sid?: string; exp?: number; jti?: string }): string {
  const encode = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const payload = {
    sub: claims.sub ?? 'u1',
    role: claims.role ?? 'viewer',
    sid: claims.sid ?? 's1',
    exp: claims.exp ?? Math.floor(Date.now() / 1000) + 300,
    jti: claims.jti ?? Math.random().toString(36).slice(2),
  };
  return `${encode({ alg: 'EdDSA', typ: 'JWT' })}.${encode(payload)}.c2lnbmF0dXJl`;
}

/** tokenResponse is the body of a successful login or refresh. */
export function tokenResponse(token: string, expiresIn = 300): Response {
  return jsonResponse({ access_token: token, token_type: 'bearer', expires_in: expiresIn });
}

/** errorResponse is the server's error shape. */
export function errorResponse(status: number, code: string, message = code, headers: Record<string, string> = {}): Response {
  return jsonResponse({ error: code, message, request_id: 'req-test' }, { status, headers });
}

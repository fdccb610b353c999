import Bowser from 'bowser';

/** describeUserAgent turns a User-Agent header into "Chrome 141 on Linux" (or a fallback). */
export function describeUserAgent(userAgent: string): string {
  if (userAgent.trim() === '') {
    return 'Unknown device';
  }
  const parsed = Bowser.parse(userAgent);
  const browser = parsed.browser.name;
  const major = parsed.browser.version?.split('.')[0];
  const os = parsed.os.name;
  const device = parsed.platform.type;
  if (browser === undefined && os === undefined) {
    // Not a browser: a script or a command-line client. Show its product token.
    return userAgent.split(/[\s/]/)[0] ?? userAgent;
  }
  const name = [browser ?? 'Unknown browser', major].filter(Boolean).join(' ');
  const where = [os, device !== undefined && device !== 'desktop' ? `(${device})` : undefined].filter(Boolean).join(' ');
  return where === '' ? name : `${name} on ${where}`;
}

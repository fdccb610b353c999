/** Formatting for people: dates, relative times, waits. */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** formatDateTime shows an ISO timestamp in the reader's locale and time zone. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

/** formatRelative says how long ago (or from now) an ISO timestamp is, e.g. "5 minutes ago". */
export function formatRelative(iso: string, now = Date.now()): string {
  const ms = new Date(iso).getTime();
  if (Number.isNaN(ms)) {
    return iso;
  }
  const seconds = Math.round((ms - now) / 1_000);
  const abs = Math.abs(seconds);
  if (abs < 45) {
    return relative.format(0, 'second');
  }
  if (abs < 45 * 60) {
    return relative.format(Math.round(seconds / 60), 'minute');
  }
  if (abs < 22 * 3_600) {
    return relative.format(Math.round(seconds / 3_600), 'hour');
  }
  return relative.format(Math.round(seconds / 86_400), 'day');
}

/** formatWait says how long to wait, e.g. "14 minutes 5 seconds" or "30 seconds". */
export function formatWait(totalSeconds: number): string {
  const s = Math.max(0, Math.ceil(totalSeconds));
  const minutes = Math.floor(s / 60);
  const seconds = s % 60;
  const parts: string[] = [];
  if (minutes > 0) {
    parts.push(`${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`);
  }
  if (seconds > 0 || minutes === 0) {
    parts.push(`${seconds} ${seconds === 1 ? 'second' : 'seconds'}`);
  }
  return parts.join(' ');
}

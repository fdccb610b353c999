/** Formatting of run values for people. */
import type { Num } from './types';

const compact = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 });

/** toNumber reads a metric or series value; the strings stand for what they name. */
export function toNumber(v: Num | null | undefined): number | null {
  if (v === null || v === undefined) {
    return null;
  }
  if (typeof v === 'number') {
    return v;
  }
  return v === 'NaN' ? Number.NaN : v === 'Infinity' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/** formatNumber shows a number with up to six significant digits, very small or large ones in e-notation. */
export function formatNumber(v: Num | null | undefined): string {
  const n = toNumber(v);
  if (n === null) {
    return '';
  }
  if (Number.isNaN(n)) {
    return 'NaN';
  }
  if (!Number.isFinite(n)) {
    return n > 0 ? '∞' : '−∞';
  }
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) {
    return n.toExponential(4);
  }
  return compact.format(n);
}

/** formatValue shows any param value: numbers as numbers, text as it is, the rest as JSON. */
export function formatValue(v: unknown): string {
  if (v === undefined) {
    return '';
  }
  if (typeof v === 'number') {
    return formatNumber(v);
  }
  if (typeof v === 'string') {
    return v;
  }
  return JSON.stringify(v);
}

/** formatDuration shows seconds as "850 ms", "12.3 s", "4 m 05 s", "2 h 03 m" or "3 d 04 h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) {
    return `${Math.floor(s / 60)} m ${pad(s % 60)} s`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} m`;
  }
  return `${Math.floor(s / 86400)} d ${pad(Math.floor((s % 86400) / 3600))} h`;
}

/** paramAt reads a dotted path of nested params. */
export function paramAt(params: Record<string, unknown>, path: string): unknown {
  let cur: unknown = params;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) {
      return undefined;
    }
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

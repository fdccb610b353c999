/** How the run page shows a file of a run: which files it previews, sizes, CSV rows. */
import type { RunFile } from './api/files';

/** Largest files the page previews; bigger ones are offered for download only. */
const maxImagePreview = 8 << 20;
const maxTextPreview = 1 << 20;
/** Rows of a table (CSV, TSV) and characters of a text shown in a preview. */
export const previewRows = 20;
export const previewChars = 20_000;

export type PreviewKind = 'image' | 'table' | 'text' | null;

/** previewKind says how a file can be shown in the page, or null. */
export function previewKind(f: Pick<RunFile, 'content_type' | 'size'>): PreviewKind {
  const type = f.content_type.split(';')[0]?.trim() ?? '';
  if (type.startsWith('image/') && f.size <= maxImagePreview) {
    return 'image';
  }
  if (f.size > maxTextPreview) {
    return null;
  }
  if (type === 'text/csv' || type === 'text/tab-separated-values') {
    return 'table';
  }
  if (type.startsWith('text/') || type === 'application/json') {
    return 'text';
  }
  return null;
}

/** formatBytes writes a size for people: 512 B, 1.5 KiB, 20 MiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${String(n)} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u] ?? ''}`;
}

/**
 * parseTable reads the first rows of a CSV or TSV text: fields split on the
 * separator, double quotes around a field (with "" for a quote) understood.
 */
export function parseTable(text: string, sep: string, maxRows: number): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < maxRows; i++) {
    const c = text.charAt(i);
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === sep) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if ((field !== '' || row.length > 0) && rows.length < maxRows) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}


/** Links into the run pages: a run opened from a view, and fragments that point at a param or a step range. */
import type { CommentAnchor } from './types';

/** runPath is a run's page, remembering the view it was opened from (for next and previous). */
export function runPath(id: string, viewQuery: string): string {
  return `/runs/${encodeURIComponent(id)}?view=${encodeURIComponent(viewQuery)}`;
}

/** anchorHash is the URL fragment that opens what a comment points at. */
export function anchorHash(anchor: CommentAnchor): string {
  if ('param' in anchor) {
    return `#param:${encodeURIComponent(anchor.param)}`;
  }
  return `#series:${encodeURIComponent(anchor.series)}:${String(anchor.from)}-${String(anchor.to)}`;
}

/** Target is what a URL fragment points at on the run page. */
export type Target = { param: string } | { series: string; from: number; to: number } | null;

/** parseHash reads a fragment written by {@link anchorHash}; anything else points at nothing. */
export function parseHash(hash: string): Target {
  const param = /^#param:(.+)$/.exec(hash);
  if (param?.[1] !== undefined) {
    try {
      return { param: decodeURIComponent(param[1]) };
    } catch {
      return null;
    }
  }
  const series = /^#series:(.+):(\d+)-(\d+)$/.exec(hash);
  if (series?.[1] !== undefined && series[2] !== undefined && series[3] !== undefined) {
    try {
      return { series: decodeURIComponent(series[1]), from: Number(series[2]), to: Number(series[3]) };
    } catch {
      return null;
    }
  }
  return null;
}

/** paramId is the element id of a param, for links that point at it (#param:<path>). */
export function paramId(path: string): string {
  return `param:${path}`;
}


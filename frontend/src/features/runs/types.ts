/** The runs API's shapes (docs/api.md, "Runs", "Series", "Reviews", "Comments"). */

/** Num is a metric or series value: a number, or one of the strings JSON needs for the others. */
export type Num = number | 'NaN' | 'Infinity' | '-Infinity';

/** RunStatus is a stored status, or `stale` for a running run without a sign of life. */
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'stale';

/** ReviewState is a verdict. */
export type ReviewState = 'unreviewed' | 'approved' | 'rejected' | 'needs_rerun';

export const runStatuses: readonly RunStatus[] = ['queued', 'running', 'stale', 'succeeded', 'failed', 'cancelled'];
export const reviewStates: readonly ReviewState[] = ['unreviewed', 'approved', 'rejected', 'needs_rerun'];

/** needsComment lists the verdicts that must say why. */
export const needsComment: readonly ReviewState[] = ['rejected', 'needs_rerun'];

/** reviewLabels names verdicts for people. */
export const reviewLabels: Record<ReviewState, string> = {
  unreviewed: 'Unreviewed',
  approved: 'Approved',
  rejected: 'Rejected',
  needs_rerun: 'Needs rerun',
};

export interface RunReview {
  state: ReviewState;
  id?: string;
  by?: string;
  by_name?: string;
  at?: string | null;
  comment?: string;
  outdated?: boolean;
}

export interface SeriesSummary {
  name: string;
  count: number;
  first_step: number | null;
  last_step: number | null;
  min: Num | null;
  max: Num | null;
  last: Num | null;
}

export interface ValueChange {
  name: string;
  before: unknown;
  after: unknown;
}

export interface SeriesChange {
  name: string;
  count_before: number;
  count_after: number;
  last_step_before: number;
  last_step_after: number;
}

export interface BaselineComparison {
  run_id: string;
  name: string;
  approved: boolean;
  params: ValueChange[];
  metrics: { name: string; run: Num | null; baseline: Num | null; delta: Num | null; ratio: Num | null }[];
}

export interface Run {
  id: string;
  project: string;
  external_id: string;
  name: string;
  status: RunStatus;
  host: string;
  job_id: string;
  /** created_by names the creator and the API token (the names only in the answer for one run). */
  created_by: { user_id: string; token_id?: string; user_name?: string; token_name?: string };
  params: Record<string, unknown>;
  metrics: Record<string, Num>;
  tags: string[] | null;
  notes: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  heartbeat_at: string | null;
  duration_seconds: number | null;
  deleted_at: string | null;
  version: number;
  review: RunReview;
  /** failure is why a failed or cancelled run ended (null: no reason given); lists leave out the detail. */
  failure?: { reason: string; detail?: string } | null;
  changes_since_review?: { params?: ValueChange[]; metrics?: ValueChange[]; series?: SeriesChange[] };
  baseline?: BaselineComparison;
  series?: SeriesSummary[];
}

export interface RunsPage {
  runs: Run[];
  next: string | null;
  total: number;
  total_exact: boolean;
  /** warnings are hints about names in q that no run in view has (docs/api.md, "Warnings"). */
  warnings?: { message: string; suggestion: string; column: number }[];
}

/**
 * Point is one [step, value] pair of a series; read with x=time it has a
 * third element, the point's wall time in Unix seconds (null: written
 * before the server kept times).
 */
export type Point = [number, Num, (number | null)?];

/** Clock is the span of a run's clock, Unix seconds (null: its points carry no times). */
export type Clock = { first: number; last: number } | null;

export interface SeriesWindow extends SeriesSummary {
  window_count: number;
  downsampled: boolean;
  points: Point[];
}

export interface ReviewEntry {
  id: string;
  state: ReviewState;
  by: string;
  by_name?: string;
  at: string;
  comment?: string;
  batch_id?: string;
  /** batch_size is how many verdicts the batch gave: more than one is a bulk review. */
  batch_size?: number;
  undo_of?: string;
}

export interface BulkReviewResult {
  batch_id: string;
  reviewed: string[];
  skipped: { id: string; reason: string }[];
}

export type CommentAnchor = { param: string } | { series: string; from: number; to: number };

export interface RunComment {
  id: string;
  author: string;
  author_name?: string;
  at: string;
  body?: string;
  anchor?: CommentAnchor | null;
  edited_at?: string | null;
  deleted: boolean;
  history?: { body: string; at: string }[];
}

/** RunKeys are the names the live runs of a project (or of all) use: GET /api/runs/keys. */
export interface RunKeys {
  params: string[];
  metrics: string[];
  series: string[];
  /** truncated: some kind has more names than the server lists (1,000); ask again with a prefix. */
  truncated: boolean;
}

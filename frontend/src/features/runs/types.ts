/**
 * The runs API's shapes (docs/api.md, "Runs", "Series", "Reviews",
 * "Comments"), read from the generated OpenAPI types (src/types/openapi.ts,
 * made by `npm run gen:api` from docs/openapi.json, which the server's tests
 * keep true to its answers). Only the names and the UI's constants are
 * written here, and a compile-time check ties the constants to the enums.
 */
import type { components } from '@/types/openapi';

type Schemas = components['schemas'];

/** Num is a metric or series value: a number, or one of the strings JSON needs for the others. */
export type Num = Schemas['Run']['metrics'][string];

/** RunStatus is a stored status, or `stale` for a running run without a sign of life. */
export type RunStatus = Schemas['Run']['status'];

/** ReviewState is a verdict. */
export type ReviewState = Schemas['Review']['state'];

/** RunReview is a run's current verdict. */
export type RunReview = Schemas['Review'];

/** SeriesSummary is what a run's answer says of one of its series. */
export type SeriesSummary = Schemas['Series'];

/** ValueChange is a param or metric that changed since the last verdict, or differs from the baseline. */
export type ValueChange = Schemas['ValueChange'];

/** SeriesChange is a series that grew or was cut since the last verdict. */
export type SeriesChange = Schemas['SeriesChange'];

/** BaselineComparison is a run beside its project's baseline run. */
export type BaselineComparison = Schemas['Baseline'];

/** Run is one run; its params are a JSON object, nested for dotted names. */
export type Run = Schemas['Run'];

/** RunsPage is one page of GET /api/runs; `warnings` are hints about names in q that no run in view has. */
export type RunsPage = Schemas['RunsPage'];

/**
 * Point is one [step, value] pair of a series; read with x=time it has a
 * third element, the point's wall time in Unix seconds (null: written
 * before the server kept times).
 */
export type Point = Schemas['SeriesData']['points'][number];

/** Clock is the span of a run's clock, Unix seconds (null: its points carry no times). */
export type Clock = Schemas['SeriesReadout']['clock'];

/** SeriesWindow is one series of GET /api/runs/{id}/series: its summary and the points of the window. */
export type SeriesWindow = Schemas['SeriesData'];

/** RunsBatch is the answer of GET /api/runs/batch: runs by id, and the ids that name none the caller can read. */
export type RunsBatch = Schemas['RunsBatch'];

/** RunsSeriesReadout is the answer of GET /api/runs/series: the same series of several runs, one read. */
export type RunsSeriesReadout = Schemas['RunsSeriesReadout'];

/** ReviewEntry is one verdict of a run's history; `batch_size` above one marks a bulk review. */
export type ReviewEntry = Schemas['ReviewEntry'];

/** BulkReviewResult is the answer to POST /api/runs/review. */
export type BulkReviewResult = Schemas['Bulk'];

/** CommentAnchor ties a comment to a param or to a step range of a series. */
export type CommentAnchor = NonNullable<Schemas['Comment']['anchor']>;

/** RunComment is one comment of a run's thread (a deleted one keeps its place, without a body). */
export type RunComment = Schemas['Comment'];

/** RunKeys are the names the live runs of a project (or of all) use: GET /api/runs/keys. */
export type RunKeys = Schemas['RunKeys'];

// Compile-time checks: the UI's lists name every value of the server's enums.
type Assert<T extends true> = T;
type Covers<List, Union> = [Exclude<Union, List>] extends [never] ? true : false;
export type TypeChecks = [
  Assert<Covers<(typeof runStatuses)[number], RunStatus>>,
  Assert<Covers<(typeof reviewStates)[number], ReviewState>>,
];

export const runStatuses = ['queued', 'running', 'stale', 'succeeded', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];
export const reviewStates = ['unreviewed', 'approved', 'rejected', 'needs_rerun'] as const satisfies readonly ReviewState[];

/** needsComment lists the verdicts that must say why. */
export const needsComment: readonly ReviewState[] = ['rejected', 'needs_rerun'];

/** reviewLabels names verdicts for people. */
export const reviewLabels: Record<ReviewState, string> = {
  unreviewed: 'Unreviewed',
  approved: 'Approved',
  rejected: 'Rejected',
  needs_rerun: 'Needs rerun',
};

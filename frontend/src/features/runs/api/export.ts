/**
 * CSV exports (docs/api.md, "CSV export"): the runs of a view with the
 * table's columns, and a run's series. The server streams them; the file
 * comes through the API client, as every request carries the token in
 * memory, and is then saved by the browser. Loaded on demand (the first
 * page's weight).
 */
import { apiFetchBlob } from '@/lib/api-client';
import { saveBlob } from '@/lib/save-blob';

import type { ListRequest } from '../view-state';
import { listParams } from './runs';

/** exportRunsCsv saves every run of the view (id first, then the table's columns, in order). */
export async function exportRunsCsv(list: ListRequest, columns: readonly string[]): Promise<void> {
  const params = listParams(list);
  params.set('columns', ['id', ...columns].join(','));
  saveBlob(await apiFetchBlob(`/runs.csv?${params.toString()}`), 'runs.csv');
}

/** exportSeriesCsv saves the named series of a run, one line per point. */
export async function exportSeriesCsv(runId: string, runName: string, series: readonly string[]): Promise<void> {
  const params = new URLSearchParams();
  for (const s of series) {
    params.append('name', s);
  }
  const file = `${runName.replace(/[^\w.-]+/g, '_') || 'run'}-series.csv`;
  saveBlob(await apiFetchBlob(`/runs/${encodeURIComponent(runId)}/series.csv?${params.toString()}`), file);
}

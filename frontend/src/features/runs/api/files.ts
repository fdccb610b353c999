/**
 * A run's files (GET /api/runs/{id}/files and …/files/{path}): the list, and
 * the bytes of one file for a preview or a download. The bytes come through
 * the API client (an <img src> could not carry the access token).
 */
import { useQuery } from '@tanstack/react-query';

import { apiFetch, apiFetchBlob } from '@/lib/api-client';
import type { components } from '@/types/openapi';

/** RunFile is a file of a run as the API lists it. */
export type RunFile = components['schemas']['File'];

/** filesPageSize is the most files the list shows (the API's largest page). */
export const filesPageSize = 1000;

export function useRunFiles(runId: string) {
  return useQuery({
    queryKey: ['runs', 'one', runId, 'files'],
    queryFn: ({ signal }) =>
      apiFetch<components['schemas']['FilesPage']>(
        `/runs/${encodeURIComponent(runId)}/files?limit=${String(filesPageSize)}`,
        { signal },
      ),
  });
}

/** filePath is a file's API path, each part escaped. */
export function filePath(runId: string, path: string): string {
  return `/runs/${encodeURIComponent(runId)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** fetchFile reads a file's bytes (inline: the server's answer for display). */
export function fetchFile(runId: string, path: string, inline: boolean, signal?: AbortSignal): Promise<Blob> {
  return apiFetchBlob(filePath(runId, path) + (inline ? '?inline=1' : ''), signal === undefined ? {} : { signal });
}

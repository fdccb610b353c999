import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { startSession } from '@/lib/session/session';
import { installFakeApi } from '@/testing/fake-api';
import { jsonResponse, renderWithProviders } from '@/testing/test-utils';

import { formatBytes, parseTable, previewKind } from '../files';
import { RunFiles } from './run-files';

const file = (path: string, content_type: string, size: number) => ({
  path, content_type, size, sha256: path, created_at: '2026-01-02T03:04:05Z', created_by: 'u1', url: `/api/runs/r1/files/${path}`,
});

describe('the files of a run', () => {
  it('lists them, shows a CSV as a table and a text as text, and offers every file for download', async () => {
    const fetched: string[] = [];
    installFakeApi({
      handlers: {
        'GET /api/runs/r1/files': () => jsonResponse({
          files: [file('metrics.csv', 'text/csv; charset=utf-8', 40), file('model/w.bin', 'application/octet-stream', 3 << 20),
            file('train.log', 'text/plain; charset=utf-8', 30)],
          next: null,
        }),
        'GET /api/runs/r1/files/metrics.csv': (_init, url) => {
          fetched.push(url.pathname + url.search);
          return new Response('step,loss\n1,"0,5"\n2,0.25\n', { headers: { 'Content-Type': 'text/csv' } });
        },
        'GET /api/runs/r1/files/train.log': () => new Response('<b>epoch 1</b> done', { headers: { 'Content-Type': 'text/plain' } }),
      },
    });
    startSession();
    renderWithProviders(<RunFiles runId="r1" />);
    const table = await screen.findByRole('table', { name: 'Files of the run' });
    expect(within(table).getByText('3.0 MiB')).toBeInTheDocument();
    // Weights cannot be shown, only downloaded.
    expect(screen.queryByRole('button', { name: 'Show model/w.bin' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Download model/w.bin' })).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Show metrics.csv' }));
    const csv = await screen.findByRole('table', { name: 'First rows of metrics.csv' });
    expect(within(csv).getByRole('columnheader', { name: 'loss' })).toBeInTheDocument();
    expect(within(csv).getByRole('cell', { name: '0,5' })).toBeInTheDocument();
    expect(fetched).toEqual(['/api/runs/r1/files/metrics.csv?inline=1']);

    await userEvent.click(screen.getByRole('button', { name: 'Show train.log' }));
    // Text is text: markup in a file is never rendered.
    expect(await screen.findByText('<b>epoch 1</b> done')).toBeInTheDocument();
  });

  it('says so when a run has no files', async () => {
    installFakeApi({ handlers: { 'GET /api/runs/r2/files': () => jsonResponse({ files: [], next: null }) } });
    startSession();
    renderWithProviders(<RunFiles runId="r2" />);
    expect(await screen.findByText(/No files/)).toBeInTheDocument();
  });
});

describe('file helpers', () => {
  it('previews images, tables and texts within their sizes', () => {
    expect(previewKind({ content_type: 'image/png', size: 100 })).toBe('image');
    expect(previewKind({ content_type: 'text/tab-separated-values; charset=utf-8', size: 100 })).toBe('table');
    expect(previewKind({ content_type: 'application/json', size: 100 })).toBe('text');
    expect(previewKind({ content_type: 'text/plain', size: 2 << 20 })).toBeNull();
    expect(previewKind({ content_type: 'application/octet-stream', size: 1 })).toBeNull();
  });
  it('reads quoted CSV fields and sizes', () => {
    expect(parseTable('a,b\r\n"x ""y""",2\n3', ',', 10)).toEqual([['a', 'b'], ['x "y"', '2'], ['3']]);
    expect(parseTable('a\nb\nc\n', ',', 2)).toEqual([['a'], ['b']]);
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
});

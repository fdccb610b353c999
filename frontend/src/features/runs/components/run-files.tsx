import { Button, Group, Loader, ScrollArea, Stack, Table, Text, VisuallyHidden } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { ErrorAlert } from '@/components/error-alert';
import { formatDateTime } from '@/lib/format';
import { saveBlob } from '@/lib/save-blob';

import { fetchFile, type RunFile, useRunFiles } from '../api/files';
import { formatBytes, parseTable, previewChars, type PreviewKind, previewKind, previewRows } from '../files';

function readAsDataURL(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => { resolve(typeof reader.result === 'string' ? reader.result : ''); };
    reader.onerror = () => { reject(reader.error ?? new Error('the file could not be read')); };
    reader.readAsDataURL(blob);
  });
}

/** FilePreview shows one file: an image, the first rows of a table, or the start of a text. */
function FilePreview({ runId, file, kind }: { runId: string; file: RunFile; kind: Exclude<PreviewKind, null> }) {
  const preview = useQuery({
    queryKey: ['runs', 'one', runId, 'file', file.path, file.sha256, kind],
    queryFn: async ({ signal }) => {
      const blob = await fetchFile(runId, file.path, true, signal);
      // Images go in as data: URLs (the page's policy allows data: images,
      // not blob: ones); texts as text, never as markup.
      return kind === 'image' ? readAsDataURL(blob) : blob.text();
    },
    staleTime: Infinity,
  });
  if (preview.error !== null) {
    return <ErrorAlert error={preview.error} title="The file could not be shown" />;
  }
  if (preview.data === undefined) {
    return <Loader size="sm" aria-label={`Loading ${file.path}`} />;
  }
  if (kind === 'image') {
    return <img src={preview.data} alt={file.path} style={{ maxWidth: '100%', height: 'auto' }} />;
  }
  if (kind === 'table') {
    const sep = file.content_type.startsWith('text/tab-separated-values') ? '\t' : ',';
    const rows = parseTable(preview.data, sep, previewRows + 1);
    const [head, ...body] = rows;
    return (
      <ScrollArea>
        <Table striped withTableBorder aria-label={`First rows of ${file.path}`}>
          {head !== undefined && (
            <Table.Thead>
              <Table.Tr>{head.map((h, i) => <Table.Th key={i}>{h}</Table.Th>)}</Table.Tr>
            </Table.Thead>
          )}
          <Table.Tbody>
            {body.map((r, i) => (
              <Table.Tr key={i}>{r.map((c, j) => <Table.Td key={j}>{c}</Table.Td>)}</Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea>
    );
  }
  const text = preview.data.length > previewChars ? `${preview.data.slice(0, previewChars)}\n…` : preview.data;
  return (
    <ScrollArea.Autosize mah={400}>
      <Text component="pre" ff="monospace" size="sm" style={{ whiteSpace: 'pre-wrap', margin: 0 }} aria-label={`Start of ${file.path}`}>
        {text}
      </Text>
    </ScrollArea.Autosize>
  );
}

/** download saves a file through the API client (which carries the token). */
async function download(runId: string, file: RunFile) {
  saveBlob(await fetchFile(runId, file.path, false), file.path.split('/').pop() ?? 'file');
}

/**
 * RunFiles lists a run's files (plots, logs, tables, weights; MLflow's
 * artifacts): images shown inline, texts and CSV previewed, anything else
 * offered for download.
 */
export function RunFiles({ runId }: { runId: string }) {
  const files = useRunFiles(runId);
  const [open, setOpen] = useState<string | null>(null);
  const [failed, setFailed] = useState<unknown>(null);
  if (files.error !== null) {
    return <ErrorAlert error={files.error} title="The files could not be listed" />;
  }
  if (files.data === undefined) {
    return <Loader size="sm" aria-label="Loading the files" />;
  }
  const list = files.data.files;
  if (list.length === 0) {
    return <Text c="dimmed">No files. Jobs upload them with labreview file put, log_file or MLflow's log_artifact.</Text>;
  }
  return (
    <Stack gap="sm">
      {failed !== null && <ErrorAlert error={failed} title="The download failed" />}
      <ScrollArea>
        <Table aria-label="Files of the run">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>File</Table.Th>
              <Table.Th>Size</Table.Th>
              <Table.Th>Uploaded</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.map((f) => {
              const kind = previewKind(f);
              return (
                <Table.Tr key={f.path}>
                  <Table.Td style={{ wordBreak: 'break-all' }}>{f.path}</Table.Td>
                  <Table.Td>{formatBytes(f.size)}</Table.Td>
                  <Table.Td>{formatDateTime(f.created_at)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      {kind !== null && (
                        <Button
                          size="compact-sm"
                          variant="subtle"
                          aria-expanded={open === f.path}
                          aria-label={`${open === f.path ? 'Hide' : 'Show'} ${f.path}`}
                          onClick={() => { setOpen(open === f.path ? null : f.path); }}
                        >
                          {open === f.path ? 'Hide' : 'Show'}
                        </Button>
                      )}
                      <Button
                        size="compact-sm"
                        variant="subtle"
                        aria-label={`Download ${f.path}`}
                        onClick={() => {
                          setFailed(null);
                          download(runId, f).catch(setFailed);
                        }}
                      >
                        Download
                      </Button>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </ScrollArea>
      {list.map((f) => {
        const kind = previewKind(f);
        return open === f.path && kind !== null ? (
          <Stack key={f.path} gap="xs" data-testid="file-preview">
            <Text fw={600}>{f.path}</Text>
            <FilePreview runId={runId} file={f} kind={kind} />
          </Stack>
        ) : null;
      })}
      {files.data.next !== null && <Text c="dimmed" size="sm">The first {list.length} files are listed.</Text>}
    </Stack>
  );
}

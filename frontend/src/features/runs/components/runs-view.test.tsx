import { screen } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { jsonResponse, renderApp } from '@/testing/test-utils';

describe("the runs page's names", () => {
  it('completes and offers as columns the names the server lists for the project chip, none of which a loaded run has', async () => {
    const asked: string[] = [];
    renderApp('/runs?project=sweep-12', {
      handlers: {
        'GET /api/runs/keys': (_init, url) => {
          asked.push(url.search);
          return jsonResponse({ params: ['optimizer.lr'], metrics: ['val_acc'], series: ['val loss'], truncated: false });
        },
      },
    });
    const input = await screen.findByRole('textbox', { name: 'Query' });
    await userEvent.type(input, 'metrics.v');
    expect(await screen.findByRole('option', { name: 'metrics.val_acc' })).toBeInTheDocument();
    await userEvent.clear(input);
    await userEvent.type(input, 'las');
    expect(await screen.findByRole('option', { name: 'last("val loss")' })).toBeInTheDocument();
    await userEvent.keyboard('{Escape}');

    await userEvent.click(screen.getByRole('button', { name: /^Columns/ }));
    await userEvent.click(await screen.findByRole('combobox', { name: 'Columns' }));
    expect(await screen.findByRole('option', { name: 'params.optimizer.lr' })).toBeInTheDocument();
    expect(screen.getByRole('option', { name: 'metrics.val_acc' })).toBeInTheDocument();
    // One request, for the project chip's project, shared by both.
    expect(asked).toEqual(['?project=sweep-12']);
  });

  it('asks for the names that start with the one being typed when the list was cut short', async () => {
    const asked: string[] = [];
    renderApp('/runs', {
      handlers: {
        'GET /api/runs/keys': (_init, url) => {
          asked.push(url.search);
          const prefix = url.searchParams.get('prefix');
          return jsonResponse(
            prefix === null
              ? { params: ['a0', 'a1'], metrics: [], series: [], truncated: true }
              : { params: ['deep.x'].filter((p) => p.startsWith(prefix)), metrics: [], series: [], truncated: false },
          );
        },
      },
    });
    const input = await screen.findByRole('textbox', { name: 'Query' });
    await userEvent.type(input, 'params.dee');
    expect(await screen.findByRole('option', { name: 'params.deep.x' })).toBeInTheDocument();
    expect(asked[0]).toBe('');
    expect(asked).toContain('?prefix=dee');
  });
});

import { screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { errorResponse } from '@/testing/fake-auth';
import type { FakeHandler } from '@/testing/fake-api';
import { jsonResponse, renderApp } from '@/testing/test-utils';
import type { ApiToken, CreatedApiToken } from '@/types/api';

const secret = 'lrt_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_xyzw';

function token(overrides: Partial<ApiToken> = {}): ApiToken {
  return {
    id: 't1',
    name: 'cluster A',
    hint: 'xyzw',
    scopes: ['runs:read', 'runs:write'],
    projects: [],
    created_at: '2026-01-02T03:04:05Z',
    expires_at: '2026-04-02T03:04:05Z',
    last_used_at: null,
    revoked_at: null,
    status: 'active',
    ...overrides,
  };
}

/** tokenServer is a fake /api/tokens that keeps what was created and revoked. */
function tokenServer(initial: ApiToken[] = []) {
  const tokens = [...initial];
  const bodies: unknown[] = [];
  const handlers: Record<string, FakeHandler> = {
    'GET /api/tokens': () => jsonResponse({ tokens }),
    'GET /api/projects': () => jsonResponse({ projects: [] }),
    'POST /api/tokens': (init) => {
      const body = JSON.parse(typeof init?.body === 'string' ? init.body : '') as { name: string; scopes: ApiToken['scopes']; projects: string[] };
      bodies.push(body);
      const created: CreatedApiToken = {
        ...token({ id: `t${String(tokens.length + 1)}`, name: body.name, scopes: body.scopes, projects: body.projects }),
        token: secret,
      };
      tokens.unshift(token({ id: created.id, name: body.name, scopes: body.scopes, projects: body.projects }));
      return jsonResponse(created, { status: 201 });
    },
  };
  return { tokens, bodies, handlers };
}

async function openNewTokenDialog() {
  await userEvent.click(await screen.findByRole('button', { name: 'New token' }));
  return screen.findByRole('dialog', { name: 'New API token' });
}

describe('the new token form', () => {
  it('offers a viewer runs:read only', async () => {
    const server = tokenServer();
    renderApp('/tokens', { user: { role: 'viewer' }, handlers: server.handlers });

    const dialog = await openNewTokenDialog();
    const scopes = within(dialog).getByRole('group', { name: /Scopes/ });

    expect(within(scopes).getAllByRole('checkbox')).toHaveLength(1);
    expect(within(scopes).getByRole('checkbox', { name: /runs:read/ })).toBeChecked();
    expect(within(dialog).queryByRole('checkbox', { name: /runs:write/ })).not.toBeInTheDocument();
    expect(within(dialog).getByText('Viewers can hold runs:read only.')).toBeInTheDocument();
    // The theme names Modal's icon-only close button.
    expect(within(dialog).getByRole('button', { name: 'Close' })).toBeInTheDocument();
  });

  it.each(['reviewer', 'admin'] as const)('offers a %s both scopes, both chosen to start with', async (role) => {
    const server = tokenServer();
    renderApp('/tokens', { user: { role }, handlers: server.handlers });

    const dialog = await openNewTokenDialog();

    expect(within(dialog).getByRole('checkbox', { name: /runs:read/ })).toBeChecked();
    expect(within(dialog).getByRole('checkbox', { name: /runs:write/ })).toBeChecked();
  });

  it('checks the fields before sending anything', async () => {
    const server = tokenServer();
    const { api } = renderApp('/tokens', { user: { role: 'reviewer' }, handlers: server.handlers });
    const dialog = await openNewTokenDialog();

    await userEvent.type(within(dialog).getByLabelText(/^Name/), '   ');
    await userEvent.click(within(dialog).getByRole('checkbox', { name: /runs:read/ }));
    await userEvent.click(within(dialog).getByRole('checkbox', { name: /runs:write/ }));
    const days = within(dialog).getByLabelText(/^Expires after/);
    await userEvent.clear(days);
    await userEvent.type(days, '400');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create token' }));

    expect(await within(dialog).findByText('Give the token a name that says where it is used.')).toBeInTheDocument();
    expect(within(dialog).getByText('Choose at least one scope.')).toBeInTheDocument();
    expect(within(dialog).getByText('Between 1 and 365 days.')).toBeInTheDocument();
    expect(within(dialog).getByLabelText(/^Name/)).toHaveAttribute('aria-invalid', 'true');
    expect(api.calls()).not.toContain('POST /api/tokens');
  });

  it('refuses a name over 100 characters', async () => {
    const server = tokenServer();
    const { api } = renderApp('/tokens', { user: { role: 'reviewer' }, handlers: server.handlers });
    const dialog = await openNewTokenDialog();
    const name = within(dialog).getByLabelText(/^Name/);

    await userEvent.click(name);
    await userEvent.paste('x'.repeat(101));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create token' }));

    expect(await within(dialog).findByText(/At most 100 printable characters/)).toBeInTheDocument();
    expect(api.calls()).not.toContain('POST /api/tokens');
  });

  it('shows the server’s objection under the field it names', async () => {
    const server = tokenServer();
    server.handlers['POST /api/tokens'] = () =>
      jsonResponse(
        {
          error: 'invalid',
          message: 'projects Project names are 1 to 200 printable characters.',
          request_id: 'req-test',
          details: [{ field: 'projects', message: 'Project names are 1 to 200 printable characters.' }],
        },
        { status: 400 },
      );
    renderApp('/tokens', { user: { role: 'reviewer' }, handlers: server.handlers });
    const dialog = await openNewTokenDialog();

    await userEvent.type(within(dialog).getByLabelText(/^Name/), 'cluster A');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create token' }));

    expect(await within(dialog).findByText('Project names are 1 to 200 printable characters.')).toBeInTheDocument();
    expect(within(dialog).getByRole('alert')).toHaveTextContent('The token was not created');
  });

  it('sends the token request and reveals the token once, with snippets that carry it', async () => {
    const server = tokenServer();
    const writeText = vi.fn<(text: string) => Promise<void>>(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const { queryClient } = renderApp('/tokens', { user: { role: 'reviewer' }, handlers: server.handlers });
    const dialog = await openNewTokenDialog();

    await userEvent.type(within(dialog).getByLabelText(/^Name/), '  cluster A  ');
    await userEvent.type(within(dialog).getByRole('combobox', { name: 'Projects' }), 'sweep "12"{Enter}');
    const days = within(dialog).getByLabelText(/^Expires after/);
    await userEvent.clear(days);
    await userEvent.type(days, '30');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create token' }));

    const reveal = await screen.findByRole('dialog', { name: 'Your new token: cluster A' });
    expect(server.bodies).toEqual([
      { name: 'cluster A', scopes: ['runs:read', 'runs:write'], projects: ['sweep "12"'], expires_in_days: 30 },
    ]);
    expect(within(reveal).getByText(/shown only once/)).toBeInTheDocument();
    expect(within(reveal).getByTestId('new-token-secret')).toHaveTextContent(secret);
    expect(within(reveal).getByTestId('new-token-shell').textContent).toBe(
      `export LABREVIEW_URL=${window.location.origin} LABREVIEW_TOKEN=${secret}`,
    );
    const python = within(reveal).getByTestId('new-token-python').textContent;
    expect(python).toContain('import labreview');
    expect(python).toContain('with labreview.Run("sweep \\"12\\"", external_id=');
    expect(python).toContain('LABREVIEW_TOKEN');

    await userEvent.click(within(reveal).getByRole('button', { name: 'Copy token' }));
    expect(writeText).toHaveBeenCalledWith(secret);
    expect(await within(reveal).findByRole('button', { name: 'Copied token' })).toBeInTheDocument();
    await userEvent.click(within(reveal).getByRole('button', { name: 'Copy shell (the job’s environment)' }));
    expect(writeText).toHaveBeenLastCalledWith(`export LABREVIEW_URL=${window.location.origin} LABREVIEW_TOKEN=${secret}`);

    // Escape does not lose the secret; the button does, for good.
    await userEvent.keyboard('{Escape}');
    expect(screen.getByRole('dialog', { name: 'Your new token: cluster A' })).toBeInTheDocument();
    await userEvent.click(within(reveal).getByRole('button', { name: 'I have copied it' }));
    await waitFor(() => {
      expect(screen.queryByText(secret)).not.toBeInTheDocument();
    });
    // Nor does the query cache keep the answer that carried it.
    await waitFor(() => {
      expect(JSON.stringify(queryClient.getMutationCache().getAll().map((m) => m.state))).not.toContain(secret);
    });
    const row = within(await screen.findByTestId('tokens-table')).getByText('cluster A').closest('tr');
    expect(row).not.toBeNull();
    expect(row).toHaveTextContent('sweep "12"');
    expect(row).toHaveTextContent('never');
    expect(document.body).not.toHaveTextContent(secret);

    // A second token starts from an empty form.
    const again = await openNewTokenDialog();
    expect(within(again).getByLabelText(/^Name/)).toHaveValue('');
  });
});

describe('the token list', () => {
  it('shows an admin every token with its owner, and a reviewer no owner column', async () => {
    const tokens = [
      token({ id: 't2', name: 'Bob’s sweeps', owner: { id: 'u2', email: 'bob@example.org', name: 'Bob' } }),
      token({ id: 't3', name: 'left over', owner: { id: 'u9', email: '', name: '' }, status: 'revoked' }),
    ];
    renderApp('/tokens', { user: { role: 'admin' }, handlers: { 'GET /api/tokens': () => jsonResponse({ tokens }) } });

    const table = await screen.findByTestId('tokens-table');
    expect(within(table).getByRole('columnheader', { name: 'Owner' })).toBeInTheDocument();
    const bob = within(table).getByText('Bob’s sweeps').closest('tr');
    expect(bob).toHaveTextContent('bob@example.org');
    expect(within(table).getByText('left over').closest('tr')).toHaveTextContent('Deleted account');
    // Only active tokens can be revoked.
    expect(within(table).getByRole('button', { name: 'Revoke Bob’s sweeps' })).toBeInTheDocument();
    expect(within(table).queryByRole('button', { name: 'Revoke left over' })).not.toBeInTheDocument();
  });

  it('hides the owner column from non-admins and says when a token was last used', async () => {
    const tokens = [token({ last_used_at: new Date(Date.now() - 5 * 60_000).toISOString(), projects: ['a', 'b'] })];
    renderApp('/tokens', { user: { role: 'reviewer' }, handlers: { 'GET /api/tokens': () => jsonResponse({ tokens }) } });

    const table = await screen.findByTestId('tokens-table');
    expect(within(table).queryByRole('columnheader', { name: 'Owner' })).not.toBeInTheDocument();
    const row = within(table).getByText('cluster A').closest('tr');
    expect(row).toHaveTextContent('5 minutes ago');
    expect(row).toHaveTextContent('a, b');
    expect(row).toHaveTextContent('ends in …xyzw');
  });

  it('revokes a token after confirmation', async () => {
    const server = tokenServer([token()]);
    server.handlers['DELETE /api/tokens/t1'] = () => {
      const first = server.tokens[0];
      if (first !== undefined) {
        server.tokens[0] = { ...first, status: 'revoked', revoked_at: new Date().toISOString() };
      }
      return new Response(null, { status: 204 });
    };
    const { api } = renderApp('/tokens', { user: { role: 'reviewer' }, handlers: server.handlers });

    await userEvent.click(await screen.findByRole('button', { name: 'Revoke cluster A' }));
    const confirm = await screen.findByRole('dialog', { name: 'Revoke cluster A?' });
    expect(api.calls()).not.toContain('DELETE /api/tokens/t1');
    await userEvent.click(within(confirm).getByRole('button', { name: 'Revoke' }));

    expect(await screen.findByRole('status')).toHaveTextContent('cluster A was revoked.');
    expect(api.calls()).toContain('DELETE /api/tokens/t1');
    const row = within(screen.getByTestId('tokens-table')).getByText('cluster A').closest('tr');
    await waitFor(() => {
      expect(row).toHaveTextContent('Revoked');
    });
    expect(screen.queryByRole('button', { name: 'Revoke cluster A' })).not.toBeInTheDocument();
  });

  it('says so when there are no tokens yet', async () => {
    renderApp('/tokens', { handlers: { 'GET /api/tokens': () => jsonResponse({ tokens: [] }) } });

    expect(await screen.findByText('No API tokens yet')).toBeInTheDocument();
    expect(screen.queryByTestId('tokens-table')).not.toBeInTheDocument();
  });

  it('explains a failed load', async () => {
    renderApp('/tokens', { handlers: { 'GET /api/tokens': () => errorResponse(503, 'database_unavailable', 'The database cannot be reached.') } });

    expect(await screen.findByRole('alert')).toHaveTextContent('The database cannot be reached.');
  });
});

import { screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import type { FakeHandler } from '@/testing/fake-api';
import { errorResponse } from '@/testing/fake-auth';
import { jsonResponse, renderApp } from '@/testing/test-utils';
import type { User } from '@/types/api';

// The users page is a lazy route, and the strength estimator loads on first use:
// on a busy machine both take longer than the default waits.
const slow = 10_000;
vi.setConfig({ testTimeout: 30_000 });

const strongPassword = 'orbital-granite-lantern-42';

const walter: User = {
  id: 'u2',
  email: 'walter@example.org',
  name: 'Walter Tester',
  role: 'viewer',
  disabled: false,
  created_at: '2026-01-02T03:04:05Z',
  updated_at: '2026-01-02T03:04:05Z',
};

function renderUsers(handlers: Record<string, FakeHandler> = {}) {
  return renderApp('/admin/users', {
    user: { role: 'admin' },
    handlers: { 'GET /api/users': () => jsonResponse({ users: [walter] }), ...handlers },
  });
}

/** fill puts text into a field at once (typing it key by key re-rates the password on every key). */
async function fill(field: HTMLElement, text: string) {
  await userEvent.click(field);
  await userEvent.paste(text);
}

async function openNewUser() {
  await userEvent.click(await screen.findByRole('button', { name: 'New user' }, { timeout: slow }));
  return screen.findByRole('dialog', { name: 'New user' });
}

describe('the new user form', () => {
  it('checks the fields before sending anything', async () => {
    const { api } = renderUsers();
    const dialog = await openNewUser();

    await userEvent.click(within(dialog).getByRole('button', { name: 'Create user' }));

    expect(within(dialog).getByRole('textbox', { name: /^Email/ })).toHaveAccessibleDescription(
      'Enter an email address, like name@example.org.',
    );
    expect(within(dialog).getByRole('textbox', { name: /^Name/ })).toHaveAttribute('aria-invalid', 'true');
    expect(within(dialog).getByText('Enter a name.')).toBeInTheDocument();
    expect(within(dialog).getByText('Use at least 12 characters.')).toBeInTheDocument();
    expect(api.calls()).not.toContain('POST /api/users');
  });

  it('shows the server’s field problems on the fields they name', async () => {
    renderUsers({
      'POST /api/users': () =>
        jsonResponse(
          {
            error: 'invalid_input',
            message: 'Some fields need another look.',
            details: [{ field: 'email', message: 'An account with this email exists already.' }],
          },
          { status: 400 },
        ),
    });
    const dialog = await openNewUser();

    await fill(within(dialog).getByRole('textbox', { name: /^Email/ }), 'walter@example.org');
    await fill(within(dialog).getByRole('textbox', { name: /^Name/ }), 'Walter Again');
    await fill(within(dialog).getByLabelText(/^First password/), strongPassword);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create user' }));

    const email = within(dialog).getByRole('textbox', { name: /^Email/ });
    await waitFor(
      () => {
        expect(email).toHaveAttribute('aria-invalid', 'true');
      },
      { timeout: slow },
    );
    expect(email).toHaveAccessibleDescription('An account with this email exists already.');
    expect(within(dialog).getByRole('alert')).toHaveTextContent('Some fields need another look.');
  });
});

describe('the reset password form', () => {
  it('puts the server’s refusal of the password on the field, not in an alert', async () => {
    renderUsers({
      'POST /api/users/u2/password': () => errorResponse(400, 'password_too_common', 'This password is on a list of common passwords.'),
    });
    const row = await screen.findByRole('row', { name: /Walter Tester/ }, { timeout: slow });
    await userEvent.click(within(row).getByRole('button', { name: 'Actions for Walter Tester' }));
    await userEvent.click(await screen.findByRole('menuitem', { name: 'Reset password…' }));
    const dialog = await screen.findByRole('dialog', { name: 'Reset password of Walter Tester' });

    const field = within(dialog).getByLabelText(/^New password/);
    await fill(field, strongPassword);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Set password' }));

    expect(
      await within(dialog).findByText('This password is on a list of common passwords.', {}, { timeout: slow }),
    ).toBeInTheDocument();
    // Mantine's PasswordInput describes the field by its error (it sets no aria-invalid).
    expect(field).toHaveAccessibleDescription('This password is on a list of common passwords.');
    expect(within(dialog).queryByRole('alert')).not.toBeInTheDocument();
  });
});

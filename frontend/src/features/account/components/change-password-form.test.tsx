import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { errorResponse } from '@/testing/fake-auth';
import { jsonResponse, renderApp } from '@/testing/test-utils';

// The account page is a lazy route and the strength estimator loads on first
// use: on a busy machine both take longer than the default waits.
const slow = 10_000;
vi.setConfig({ testTimeout: 30_000 });

async function passwordForm() {
  const heading = await screen.findByRole('heading', { name: 'Change password' }, { timeout: slow });
  const form = heading.closest('form');
  if (form === null) {
    throw new Error('no form around the heading');
  }
  return form;
}

async function fill(field: HTMLElement, text: string) {
  await userEvent.click(field);
  await userEvent.paste(text);
}

describe('the change password form', () => {
  it('checks the fields before sending anything', async () => {
    const { api } = renderApp('/account', { handlers: { 'GET /api/auth/sessions': () => jsonResponse({ sessions: [] }) } });
    const form = await passwordForm();

    await fill(within(form).getByLabelText(/^New password/), 'short');
    await fill(within(form).getByLabelText(/^Repeat the new password/), 'shorter');
    await userEvent.click(within(form).getByRole('button', { name: 'Change password' }));

    expect(within(form).getByText('Enter your current password.')).toBeInTheDocument();
    expect(within(form).getByText('Use at least 12 characters.')).toBeInTheDocument();
    expect(within(form).getByText('The passwords do not match.')).toBeInTheDocument();
    expect(api.calls()).not.toContain('POST /api/me/password');
  });

  it('puts a wrong current password on its field, not in an alert', async () => {
    renderApp('/account', {
      handlers: {
        'GET /api/auth/sessions': () => jsonResponse({ sessions: [] }),
        'POST /api/me/password': () => errorResponse(403, 'wrong_password', 'The current password is wrong.'),
      },
    });
    const form = await passwordForm();
    const next = 'orbital-granite-lantern-42';

    await fill(within(form).getByLabelText(/^Current password/), 'not-my-password');
    await fill(within(form).getByLabelText(/^New password/), next);
    await fill(within(form).getByLabelText(/^Repeat the new password/), next);
    await userEvent.click(within(form).getByRole('button', { name: 'Change password' }));

    expect(await within(form).findByText('The current password is wrong.', {}, { timeout: slow })).toBeInTheDocument();
    expect(within(form).getByLabelText(/^Current password/)).toHaveAccessibleDescription('The current password is wrong.');
    expect(within(form).queryByRole('alert')).not.toBeInTheDocument();
  });
});

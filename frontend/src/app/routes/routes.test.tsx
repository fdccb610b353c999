import { screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { errorResponse, makeAccessToken, tokenResponse } from '@/testing/fake-auth';
import { renderApp } from '@/testing/test-utils';

describe('routes', () => {
  it('sends / to the runs page, the first page after sign-in', async () => {
    const { router } = renderApp('/');

    expect(await screen.findByRole('heading', { level: 1, name: 'Runs' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/runs');
    expect(await screen.findByText('No runs match this view.')).toBeInTheDocument();
  });

  it('asks for the first page of runs once: the route prefetch and the table share it', async () => {
    const { api } = renderApp('/runs?project=p1&sort=-metrics.loss');

    expect(await screen.findByText('No runs match this view.')).toBeInTheDocument();
    const lists = api.fetch.mock.calls
      .map(([input]) => new URL(input instanceof Request ? input.url : String(input), 'http://localhost'))
      .filter((u) => u.pathname === '/api/runs');
    expect(lists.map((u) => u.search)).toEqual(['?limit=100&project=p1&sort=-metrics.loss']);
  });

  it('renders the status page at /status', async () => {
    renderApp('/status');

    expect(await screen.findByRole('heading', { level: 1, name: 'Server status' })).toBeInTheDocument();
    expect(await screen.findByText('1.0.0')).toBeInTheDocument();
  });

  it('renders the not-found page inside the shell for an unknown path', async () => {
    const { router } = renderApp('/no/such/page');

    expect(await screen.findByRole('heading', { level: 1, name: 'Page not found' })).toBeInTheDocument();
    expect(screen.getByText('/no/such/page')).toBeInTheDocument();
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Runs' })).toBeInTheDocument();

    await userEvent.click(screen.getByRole('link', { name: 'Go to the runs' }));

    // The runs route has a loader (it prefetches), so the navigation settles a tick later.
    expect(await screen.findByRole('heading', { level: 1, name: 'Runs' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/runs');
  });

  it('marks the current page in the navigation', async () => {
    renderApp('/runs');
    const nav = await screen.findByRole('navigation', { name: 'Main' });

    expect(within(nav).getByRole('link', { name: 'Runs' })).toHaveAttribute('aria-current', 'page');
    await userEvent.click(within(nav).getByRole('link', { name: 'Server status' }));

    expect(within(nav).getByRole('link', { name: 'Server status' })).toHaveAttribute('aria-current', 'page');
    expect(within(nav).getByRole('link', { name: 'Runs' })).not.toHaveAttribute('aria-current');
  });

  it('renders no <style> elements, which the CSP would block', async () => {
    renderApp('/status');
    await screen.findByText('1.0.0');

    expect(document.querySelectorAll('style')).toHaveLength(0);
    expect(document.querySelectorAll('[style*="--"]').length).toBeGreaterThan(0);
  });
});

describe('the shell', () => {
  it("shows the user's name and role and signs out to the sign-in page", async () => {
    const { api, router } = renderApp('/status', { user: { name: 'Grace Hopper', role: 'reviewer' } });

    const who = await screen.findByRole('group', { name: 'Signed in as' });
    expect(await within(who).findByText('Grace Hopper')).toBeInTheDocument();
    expect(within(who).getByText('Reviewer')).toBeInTheDocument();

    await userEvent.click(within(who).getByRole('button', { name: 'Sign out' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeInTheDocument();
    expect(screen.getByTestId('session-notice')).toHaveTextContent('You have signed out.');
    expect(router.state.location.pathname).toBe('/login');
    await waitFor(() => {
      expect(api.calls()).toContain('POST /api/auth/logout');
    });
  });

  it('offers the admin pages only to admins', async () => {
    renderApp('/');
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(within(nav).queryByRole('link', { name: 'Users' })).not.toBeInTheDocument();
    expect(within(nav).queryByRole('link', { name: 'Audit log' })).not.toBeInTheDocument();
  });

  it('shows the admin links to an admin', async () => {
    renderApp('/', { user: { role: 'admin' } });
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    // The links follow the permissions /api/me lists, which come after the shell.
    expect(await within(nav).findByRole('link', { name: 'Users' })).toBeInTheDocument();
    expect(within(nav).getByRole('link', { name: 'Audit log' })).toBeInTheDocument();
  });

  it('answers a viewer on an admin page without calling the admin API', async () => {
    const { api } = renderApp('/admin/users');

    expect(await screen.findByRole('heading', { level: 1, name: 'Not available' })).toBeInTheDocument();
    expect(api.calls()).not.toContain('GET /api/users');
  });
});

describe('signing in', () => {
  it('shows neither the sign-in form nor protected content while the boot refresh runs', async () => {
    const { api } = renderApp('/status', {
      handlers: { 'POST /api/auth/refresh': () => new Promise<Response>(() => undefined) },
    });

    await waitFor(() => {
      expect(api.calls()).toContain('POST /api/auth/refresh');
    });
    expect(screen.queryByRole('heading', { name: 'Sign in' })).not.toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Server status' })).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Password')).not.toBeInTheDocument();
  });

  it('sends a signed-out visitor to sign-in and back to the deep link afterwards', async () => {
    const { router, api } = renderApp('/status?tab=db', { signedIn: false });

    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/login');
    expect(router.state.location.search).toBe(`?next=${encodeURIComponent('/status?tab=db')}`);
    expect(screen.queryByTestId('session-notice')).not.toBeInTheDocument();

    await userEvent.type(screen.getByLabelText(/Email/), api.user.email);
    await userEvent.type(screen.getByLabelText(/^Password/), 'orbital-granite-lantern-42');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { level: 1, name: 'Server status' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/status');
    expect(router.state.location.search).toBe('?tab=db');
  });

  it('explains a wrong password and stays on the sign-in page', async () => {
    const { router, api } = renderApp('/login', { signedIn: false });
    await screen.findByRole('heading', { level: 1, name: 'Sign in' });

    await userEvent.type(screen.getByLabelText(/Email/), api.user.email);
    await userEvent.type(screen.getByLabelText(/^Password/), 'not-the-password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('Wrong email or password.');
    expect(router.state.location.pathname).toBe('/login');
    expect(screen.getByLabelText(/^Password/)).toHaveValue('');
  });

  it('says how long to wait when sign-in is throttled, and holds the button until then', async () => {
    renderApp('/login', {
      signedIn: false,
      handlers: {
        'POST /api/auth/login': () =>
          errorResponse(429, 'too_many_attempts', 'Too many failed sign-ins. Try again in 14m0s.', { 'Retry-After': '840' }),
      },
    });
    await screen.findByRole('heading', { level: 1, name: 'Sign in' });

    await userEvent.type(screen.getByLabelText(/Email/), 'ada@example.org');
    await userEvent.type(screen.getByLabelText(/^Password/), 'whatever-it-is');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('Try again in 14 minutes.');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeDisabled();
  });

  it('checks the fields before sending anything', async () => {
    const { api } = renderApp('/login', { signedIn: false });
    await screen.findByRole('heading', { level: 1, name: 'Sign in' });

    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(screen.getByText('Enter your email address.')).toBeInTheDocument();
    expect(api.calls()).not.toContain('POST /api/auth/login');
  });

  it('sends a signed-in visitor of /login on to the page they asked for', async () => {
    const { router } = renderApp(`/login?next=${encodeURIComponent('/status')}`);

    expect(await screen.findByRole('heading', { level: 1, name: 'Server status' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/status');
  });

  it('never follows a next parameter off the site', async () => {
    const { router } = renderApp(`/login?next=${encodeURIComponent('//evil.example/')}`);

    await screen.findByRole('heading', { level: 1, name: 'Runs' });
    expect(router.state.location.pathname).toBe('/runs');
  });

  it('explains once that the server ended the session', async () => {
    // An admin ended the session after the boot refresh: /me is refused, and so
    // is the one refresh that follows.
    let refreshes = 0;
    renderApp('/status', {
      handlers: {
        'POST /api/auth/refresh': () => {
          refreshes += 1;
          return refreshes === 1
            ? tokenResponse(makeAccessToken({}))
            : errorResponse(401, 'invalid_refresh_token');
        },
        'GET /api/me': () => errorResponse(401, 'invalid_token'),
      },
    });

    const notice = await screen.findByTestId('session-notice');
    expect(notice).toHaveTextContent('Your session has ended');
    expect(screen.getAllByTestId('session-notice')).toHaveLength(1);

    expect(refreshes).toBe(2);

    await userEvent.click(within(notice).getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByTestId('session-notice')).not.toBeInTheDocument();
  });
});

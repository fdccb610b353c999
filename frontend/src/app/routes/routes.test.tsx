import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { jsonResponse, renderApp, stubFetch } from '@/testing/test-utils';

function stubHealthyServer() {
  return stubFetch(() =>
    Promise.resolve(jsonResponse({ status: 'ok', version: '1.0.0', database: { status: 'up', mode: 'embedded' } })),
  );
}

describe('routes', () => {
  it('renders the overview with the health summary at /', async () => {
    stubHealthyServer();

    renderApp('/');

    expect(screen.getByRole('heading', { level: 1, name: 'Welcome to labreview' })).toBeInTheDocument();
    expect(await screen.findByText('Database up')).toBeInTheDocument();
  });

  it('renders the status page at /status', async () => {
    stubHealthyServer();

    renderApp('/status');

    expect(screen.getByRole('heading', { level: 1, name: 'Server status' })).toBeInTheDocument();
    expect(await screen.findByText('1.0.0')).toBeInTheDocument();
  });

  it('renders the not-found page inside the shell for an unknown path', async () => {
    stubHealthyServer();

    const { router } = renderApp('/no/such/page');

    expect(screen.getByRole('heading', { level: 1, name: 'Page not found' })).toBeInTheDocument();
    expect(screen.getByText('/no/such/page')).toBeInTheDocument();
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Overview' })).toBeInTheDocument();

    await userEvent.click(screen.getByRole('link', { name: 'Go to the overview' }));

    expect(router.state.location.pathname).toBe('/');
    expect(screen.getByRole('heading', { level: 1, name: 'Welcome to labreview' })).toBeInTheDocument();
  });

  it('marks the current page in the navigation', async () => {
    stubHealthyServer();
    renderApp('/');
    const nav = screen.getByRole('navigation', { name: 'Main' });

    expect(within(nav).getByRole('link', { name: 'Overview' })).toHaveAttribute('aria-current', 'page');
    await userEvent.click(within(nav).getByRole('link', { name: 'Server status' }));

    expect(within(nav).getByRole('link', { name: 'Server status' })).toHaveAttribute('aria-current', 'page');
    expect(within(nav).getByRole('link', { name: 'Overview' })).not.toHaveAttribute('aria-current');
  });

  it('renders no <style> elements, which the CSP would block', async () => {
    stubHealthyServer();

    renderApp('/status');
    await screen.findByText('1.0.0');

    expect(document.querySelectorAll('style')).toHaveLength(0);
    expect(document.querySelectorAll('[style*="--"]').length).toBeGreaterThan(0);
  });
});

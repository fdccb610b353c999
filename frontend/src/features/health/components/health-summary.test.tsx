import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { jsonResponse, renderWithProviders, stubFetch } from '@/testing/test-utils';

import type { Health } from '../types';

import { HealthSummary } from './health-summary';

const healthy: Health = { status: 'ok', version: '1.4.0', database: { status: 'up', mode: 'embedded' } };

describe('HealthSummary', () => {
  it('shows a loading state until the first report arrives', () => {
    stubFetch(() => new Promise<Response>(() => undefined));

    renderWithProviders(<HealthSummary />);

    expect(screen.getByRole('status')).toHaveTextContent('Checking server health…');
  });

  it('shows server and database status from GET /api/health', async () => {
    const fetchMock = stubFetch(() => Promise.resolve(jsonResponse(healthy)));

    renderWithProviders(<HealthSummary />);

    expect(await screen.findByText('Server operational')).toBeInTheDocument();
    expect(screen.getByText('Database up')).toBeInTheDocument();
    expect(screen.getByText('Version 1.4.0 · embedded database')).toBeInTheDocument();
    expect(fetchMock.mock.calls[0]?.[0]).toBe('/api/health');
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
  });

  it('shows a degraded server with its database down', async () => {
    stubFetch(() =>
      Promise.resolve(
        jsonResponse({ ...healthy, status: 'degraded', database: { status: 'down', mode: 'hosted' } }),
      ),
    );

    renderWithProviders(<HealthSummary />);

    expect(await screen.findByText('Server degraded')).toBeInTheDocument();
    expect(screen.getByText('Database down')).toBeInTheDocument();
    expect(screen.getByText('Version 1.4.0 · hosted database')).toBeInTheDocument();
  });

  it("shows the API client's error message when the server answers with an error", async () => {
    stubFetch(() =>
      Promise.resolve(
        jsonResponse(
          { error: 'unavailable', message: 'The server is shutting down.', request_id: 'req-9' },
          { status: 503 },
        ),
      ),
    );

    renderWithProviders(<HealthSummary />);

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Server health unavailable');
    expect(alert).toHaveTextContent('The server is shutting down.');
    expect(alert).toHaveTextContent('Request ID: req-9');
    expect(screen.queryByText(/^Server (operational|degraded)$/)).not.toBeInTheDocument();
  });

  it('shows the network error message when the server cannot be reached', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')));

    renderWithProviders(<HealthSummary />);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not reach the server. Check your connection and try again.',
    );
  });
});

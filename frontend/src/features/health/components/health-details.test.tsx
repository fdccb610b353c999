import { screen, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { jsonResponse, renderWithProviders, stubFetch } from '@/testing/test-utils';

import type { Health } from '../types';

import { HealthDetails } from './health-details';

const healthy: Health = { status: 'ok', version: '2.0.1', database: { status: 'up', mode: 'hosted' } };

/** valueOf returns the <dd> that belongs to the <dt> with the given label. */
function valueOf(label: string): HTMLElement {
  const term = screen.getByText(label, { selector: 'dt' });
  const value = term.nextElementSibling;
  if (!(value instanceof HTMLElement)) {
    throw new Error(`no value after ${label}`);
  }
  return value;
}

describe('HealthDetails', () => {
  it('shows a loading state until the first report arrives', () => {
    stubFetch(() => new Promise<Response>(() => undefined));

    renderWithProviders(<HealthDetails />);

    expect(screen.getByRole('status')).toHaveTextContent('Checking server health…');
  });

  it('lists every field of the health report', async () => {
    stubFetch(() => Promise.resolve(jsonResponse(healthy)));

    renderWithProviders(<HealthDetails />);

    await screen.findByText('Version', { selector: 'dt' });
    expect(valueOf('Server')).toHaveTextContent('Operational');
    expect(valueOf('Version')).toHaveTextContent('2.0.1');
    expect(valueOf('Database')).toHaveTextContent('Up');
    expect(valueOf('Database mode')).toHaveTextContent('hosted database');
    expect(valueOf('Last successful check')).not.toBeEmptyDOMElement();
    expect(screen.getByText('Checked automatically every 15 seconds.')).toBeInTheDocument();
  });

  it('shows the error and still offers a re-check when loading fails', async () => {
    const fetchMock = stubFetch(() =>
      Promise.resolve(jsonResponse({ error: 'internal', message: 'Something broke.', request_id: 'r1' }, { status: 500 })),
    );

    renderWithProviders(<HealthDetails />);

    expect(await screen.findByRole('alert')).toHaveTextContent('Something broke.');
    fetchMock.mockImplementation(() => Promise.resolve(jsonResponse(healthy)));
    await userEvent.click(screen.getByRole('button', { name: 'Check now' }));

    expect(await screen.findByText('2.0.1')).toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('keeps the last report and shows the error when a re-check fails', async () => {
    const fetchMock = stubFetch(() => Promise.resolve(jsonResponse(healthy)));
    renderWithProviders(<HealthDetails />);
    await screen.findByText('2.0.1');

    fetchMock.mockImplementation(() => Promise.reject(new TypeError('Failed to fetch')));
    await userEvent.click(screen.getByRole('button', { name: 'Check now' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Latest health check failed; showing the previous result');
    expect(within(alert).getByText(/could not reach the server/i)).toBeInTheDocument();
    expect(valueOf('Version')).toHaveTextContent('2.0.1');
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });
});

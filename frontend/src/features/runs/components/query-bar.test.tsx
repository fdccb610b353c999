import { screen } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { renderWithProviders } from '@/testing/test-utils';

import { QueryBar } from './query-bar';

const source = { params: ['lr'], metrics: ['loss'], series: ['val loss'], projects: ['sweep-12', 'sweep 13'] };

describe('QueryBar', () => {
  it('completes field names and values from the keyboard and applies on Enter', async () => {
    const onSubmit = vi.fn();
    renderWithProviders(<QueryBar value="" onSubmit={onSubmit} source={source} problem={null} />);
    const input = screen.getByRole('textbox', { name: 'Query' });

    await userEvent.type(input, 'metr');
    expect(await screen.findByRole('option', { name: 'metrics.loss' })).toBeInTheDocument();
    await userEvent.keyboard('{Tab}');
    expect(input).toHaveValue('metrics.loss ');
    expect(input).toHaveFocus();

    await userEvent.type(input, '< 1 and project = sw');
    expect(screen.getByRole('option', { name: 'sweep 13' })).toBeInTheDocument();
    await userEvent.keyboard('{ArrowDown}{ArrowDown}{Enter}');
    expect(input).toHaveValue('metrics.loss < 1 and project = "sweep 13" ');
    expect(onSubmit).not.toHaveBeenCalled();

    await userEvent.keyboard('{Escape}{Enter}');
    expect(onSubmit).toHaveBeenCalledWith('metrics.loss < 1 and project = "sweep 13"');
  });

  it("shows the server's message and marks the column it names", () => {
    renderWithProviders(
      <QueryBar
        value="status = done"
        onSubmit={vi.fn()}
        source={source}
        problem={{ message: 'The query is not valid at column 10: status is one of …', column: 10 }}
      />,
    );
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('The query is not valid at column 10');
    expect(screen.getByTestId('query-error-marker').textContent).toBe('status = done\n         ^');
    expect(screen.getByRole('textbox', { name: 'Query' })).toHaveAttribute('aria-invalid', 'true');
  });

  it('shows a message without a marker when the server names no column', () => {
    renderWithProviders(
      <QueryBar value="x" onSubmit={vi.fn()} source={source} problem={{ message: 'Too slow', column: null }} />,
    );
    expect(screen.getByRole('alert')).toHaveTextContent('Too slow');
    expect(screen.queryByTestId('query-error-marker')).toBeNull();
  });
});

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
    await userEvent.keyboard('{ArrowDown}{Tab}');
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

  it('opens no list on focus, and Tab leaves the field unchanged unless an option is highlighted', async () => {
    const onSubmit = vi.fn();
    renderWithProviders(
      <>
        <QueryBar value="status = failed" onSubmit={onSubmit} source={source} problem={null} />
        <button type="button">after</button>
      </>,
    );
    const input = screen.getByRole('textbox', { name: 'Query' });
    await userEvent.click(input);
    expect(screen.queryByRole('option')).toBeNull();
    await userEvent.keyboard('{Tab}');
    expect(input).toHaveValue('status = failed');
    expect(screen.getByRole('button', { name: 'Apply' })).toHaveFocus();

    // Typing opens the list, but nothing is taken without a highlight.
    await userEvent.click(input);
    await userEvent.keyboard('{End} and me');
    expect(await screen.findByRole('option', { name: 'metrics.loss' })).toBeInTheDocument();
    await userEvent.keyboard('{Tab}');
    expect(input).toHaveValue('status = failed and me');

    // Ctrl+Space opens it on demand.
    await userEvent.click(input);
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('option', { name: 'metrics.loss' })).toBeNull();
    await userEvent.keyboard('{Control>} {/Control}');
    expect(await screen.findByRole('option', { name: 'metrics.loss' })).toBeInTheDocument();
  });

  it('Tab takes the option the pointer highlights', async () => {
    renderWithProviders(<QueryBar value="" onSubmit={vi.fn()} source={source} problem={null} />);
    const input = screen.getByRole('textbox', { name: 'Query' });
    await userEvent.type(input, 'metr');
    await userEvent.hover(await screen.findByRole('option', { name: 'metrics.loss' }));
    await userEvent.keyboard('{Tab}');
    expect(input).toHaveValue('metrics.loss ');
    expect(input).toHaveFocus();
  });

  it('shows the server hints in a status region', () => {
    renderWithProviders(
      <QueryBar
        value="metrics.los < 1"
        onSubmit={vi.fn()}
        source={source}
        problem={null}
        warnings={[{ message: 'No run here has metrics.los. Did you mean metrics.loss?', suggestion: 'metrics.loss', column: 1 }]}
      />,
    );
    expect(screen.getByRole('status', { name: 'Query hints' })).toHaveTextContent('Did you mean metrics.loss?');
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

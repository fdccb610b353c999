import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { jsonResponse, renderApp } from '@/testing/test-utils';
import type { Project } from '@/types/api';

const threeHoursAgo = new Date(Date.now() - 3 * 3_600_000).toISOString();

function project(overrides: Partial<Project> = {}): Project {
  return {
    name: 'sweep-12',
    runs: 1200,
    deleted: 3,
    by_status: { queued: 0, running: 12, succeeded: 1150, failed: 38, cancelled: 0 },
    by_review: { unreviewed: 900, approved: 250, rejected: 40, needs_rerun: 10 },
    outdated: 4,
    last_activity: threeHoursAgo,
    baseline_run: null,
    ...overrides,
  };
}

function renderProjects(projects: Project[]) {
  return renderApp('/projects', { handlers: { 'GET /api/projects': () => jsonResponse({ projects }) } });
}

/** cellsOf maps each column header (the lower header row where there are two) to the row's cell text. */
function cellsOf(table: HTMLElement, row: HTMLElement): Record<string, string> {
  const headerRows = within(table).getAllByRole('row').slice(0, 2);
  const [top, bottom] = headerRows.map((r) => within(r).getAllByRole('columnheader'));
  const names: string[] = [];
  let lower = 0;
  for (const th of top ?? []) {
    const span = Number(th.getAttribute('colspan') ?? '1');
    if (span === 1) {
      names.push(th.textContent);
    } else {
      for (let i = 0; i < span; i += 1) {
        names.push(`${th.textContent} / ${bottom?.[lower]?.textContent ?? ''}`);
        lower += 1;
      }
    }
  }
  const cells = [...row.querySelectorAll('th, td')].map((c) => c.textContent);
  return Object.fromEntries(names.map((n, i) => [n, cells[i] ?? '']));
}

describe('the projects page', () => {
  it('shows one row per project with its counts by status and review, outdated verdicts and last activity', async () => {
    renderProjects([project(), project({ name: 'quiet', runs: 0, by_status: {}, by_review: {}, outdated: 0, last_activity: null })]);

    const table = await screen.findByRole('table', { name: 'Projects' });
    const row = within(table).getByRole('rowheader', { name: 'sweep-12' }).closest('tr');
    if (row === null) {
      throw new Error('no row for sweep-12');
    }
    const { 'Last activity': lastActivity, ...counts } = cellsOf(table, row);
    expect(lastActivity).toMatch(/^3 hours ago/);
    expect(counts).toEqual({
      Project: 'sweep-12',
      Runs: (1200).toLocaleString(),
      'By status / Queued': '0',
      'By status / Running': '12',
      'By status / Succeeded': (1150).toLocaleString(),
      'By status / Failed': '38',
      'By status / Cancelled': '0',
      'By review / Unreviewed': '900',
      'By review / Approved': '250',
      'By review / Rejected': '40',
      'By review / Needs rerun': '10',
      'Outdated verdicts': '4',
    });
    // Relative and absolute time, the machine-readable one on <time>.
    const time = within(row).getByText('3 hours ago');
    expect(time.tagName).toBe('TIME');
    expect(time).toHaveAttribute('datetime', threeHoursAgo);

    const quiet = within(table).getByRole('rowheader', { name: 'quiet' }).closest('tr');
    if (quiet === null) {
      throw new Error('no row for quiet');
    }
    expect(cellsOf(table, quiet)['By status / Running']).toBe('—');
    expect(cellsOf(table, quiet)['Last activity']).toBe('—');
  });

  it('links each project to its runs with the project chip, the name encoded', async () => {
    const tricky = 'lr "fast" & \\ slow';
    renderProjects([project(), project({ name: tricky })]);

    const link = await screen.findByRole('link', { name: 'sweep-12' });
    expect(link).toHaveAttribute('href', '/runs?project=sweep-12');
    const href = screen.getByRole('link', { name: tricky }).getAttribute('href') ?? '';
    expect(new URL(href, 'http://x').searchParams.get('project')).toBe(tricky);
  });

  it('renders a project name written like HTML as text', async () => {
    const name = '<img src=x onerror=alert(1)>';
    renderProjects([project({ name })]);

    const link = await screen.findByRole('link', { name });
    expect(link.textContent).toBe(name);
    expect(document.querySelector('img[src="x"]')).toBeNull();
    expect(screen.getByRole('table', { name: 'Projects' }).querySelectorAll('img')).toHaveLength(0);
    expect(new URL(link.getAttribute('href') ?? '', 'http://x').searchParams.get('project')).toBe(name);
  });

  it('says so when there are no projects', async () => {
    renderProjects([]);

    expect(await screen.findByText('No projects yet')).toBeInTheDocument();
    expect(screen.queryByRole('table', { name: 'Projects' })).not.toBeInTheDocument();
  });

  it('is in the navigation for every role, with the API tokens page', async () => {
    renderProjects([]);

    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Projects' })).toHaveAttribute('aria-current', 'page');
    expect(within(nav).getByRole('link', { name: 'API tokens' })).toHaveAttribute('href', '/tokens');
  });
});

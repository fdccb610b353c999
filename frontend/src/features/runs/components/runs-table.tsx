import { Checkbox, Loader, Text } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { Link } from 'react-router';

import type { Column } from '../columns';
import classes from '../runs.module.css';
import type { Run } from '../types';
import { parseSort } from '../view-state';

const rowHeight = 37;
const selectWidth = 44;
/** fetchAhead: the next page is asked for when the view comes this many rows near the end of what is loaded. */
const fetchAhead = 30;

export interface RunsTableProps {
  runs: Run[];
  total: number;
  columns: Column[];
  sort: string;
  onSort: (key: string) => void;
  widths: Record<string, number>;
  onResize: (key: string, width: number) => void;
  selected: ReadonlySet<string>;
  onToggle: (id: string) => void;
  onToggleAll: (select: boolean) => void;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => void;
  runHref: (run: Run) => string;
  onOpen: (run: Run) => void;
  /** selectable is false for roles that have nothing to do with a selection. */
  selectable: boolean;
}

/**
 * RunsTable is the virtualised runs table: only the rows in view are in the
 * DOM, and the next server page is fetched as the view nears the end of the
 * loaded ones, so 100,000 runs scroll without loading them all at once.
 * Keyboard: Tab reaches the table's one focusable row; arrows, Page Up/Down,
 * Home and End move; Enter opens the run; Space selects it.
 */
export function RunsTable(props: RunsTableProps) {
  const { runs, columns, hasNextPage, isFetchingNextPage, fetchNextPage } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [focusIndex, setFocusIndex] = useState(0);
  const focusPending = useRef(false);
  const count = runs.length + (hasNextPage ? 1 : 0);
  // The virtualizer's functions change with every scroll; this component is
  // not memoised by the compiler, which is what the rule warns about.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;

  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastIndex >= runs.length - fetchAhead) {
      fetchNextPage();
    }
  }, [hasNextPage, isFetchingNextPage, lastIndex, runs.length, fetchNextPage]);

  const activeIndex = Math.min(focusIndex, Math.max(0, runs.length - 1));

  const moveTo = (index: number) => {
    const next = Math.max(0, Math.min(runs.length - 1, index));
    focusPending.current = true;
    setFocusIndex(next);
    virtualizer.scrollToIndex(next, { align: 'auto' });
  };

  const onRowKey = (e: KeyboardEvent<HTMLTableRowElement>, index: number, run: Run) => {
    if (e.target !== e.currentTarget) {
      return;
    }
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? 400) / rowHeight) - 1);
    const moves: Record<string, number> = {
      ArrowDown: index + 1,
      ArrowUp: index - 1,
      PageDown: index + page,
      PageUp: index - page,
      Home: 0,
      End: runs.length - 1,
    };
    const target = moves[e.key];
    if (target !== undefined) {
      e.preventDefault();
      moveTo(target);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      props.onOpen(run);
    } else if (e.key === ' ' && props.selectable) {
      e.preventDefault();
      props.onToggle(run.id);
    }
  };

  const paddingTop = items[0]?.start ?? 0;
  const paddingBottom = virtualizer.getTotalSize() - (items.at(-1)?.end ?? 0);
  const sort = parseSort(props.sort);
  const allSelected = runs.length > 0 && runs.every((r) => props.selected.has(r.id));
  const colSpan = columns.length + (props.selectable ? 1 : 0);

  return (
    <div ref={scroller} className={classes.scroller} data-testid="runs-scroller">
      <table
        className={classes.table}
        aria-label="Runs"
        aria-rowcount={props.total + 1}
      >
        <colgroup>
          {props.selectable && <col style={{ width: selectWidth }} />}
          {columns.map((c) => (
            <col key={c.key} style={{ width: props.widths[c.key] ?? c.width }} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            {props.selectable && (
              <th scope="col" aria-label="Selection">
                <div className={classes.headerCell}>
                  <Checkbox
                    mx="xs"
                    aria-label="Select all loaded runs"
                    checked={allSelected}
                    indeterminate={!allSelected && props.selected.size > 0}
                    onChange={(e) => { props.onToggleAll(e.currentTarget.checked); }}
                  />
                </div>
              </th>
            )}
            {columns.map((c) => {
              const sorted = c.sortKey !== undefined && sort.key === c.sortKey;
              return (
                <th
                  key={c.key}
                  scope="col"
                  aria-label={c.label}
                  aria-sort={sorted ? (sort.desc ? 'descending' : 'ascending') : undefined}
                >
                  <div className={classes.headerCell}>
                    {c.sortKey === undefined ? (
                      <span className={classes.headerLabel} title={c.label}>
                        {c.label}
                      </span>
                    ) : (
                      <button
                        type="button"
                        className={classes.sortButton}
                        title={`Sort by ${c.label}`}
                        onClick={() => { props.onSort(c.sortKey ?? c.key); }}
                      >
                        {c.label}
                        {sorted && <span aria-hidden="true">{sort.desc ? ' ↓' : ' ↑'}</span>}
                      </button>
                    )}
                    <ResizeHandle
                      label={c.label}
                      width={props.widths[c.key] ?? c.width}
                      onResize={(w) => { props.onResize(c.key, w); }}
                    />
                  </div>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {paddingTop > 0 && (
            <tr className={classes.spacer} aria-hidden="true">
              <td colSpan={colSpan} style={{ height: paddingTop }} />
            </tr>
          )}
          {items.map((item) => {
            const run = runs[item.index];
            if (run === undefined) {
              return (
                <tr key="loading" className={classes.row}>
                  <td colSpan={colSpan}>
                    <Loader size="xs" mr="xs" />
                    <Text span size="sm">
                      Loading more runs…
                    </Text>
                  </td>
                </tr>
              );
            }
            const selected = props.selected.has(run.id);
            return (
              <tr
                key={run.id}
                ref={(el) => {
                  if (el !== null && item.index === activeIndex && focusPending.current) {
                    focusPending.current = false;
                    el.focus({ preventScroll: true });
                  }
                }}
                className={classes.row}
                tabIndex={item.index === activeIndex ? 0 : -1}
                aria-rowindex={item.index + 2}
                aria-selected={props.selectable ? selected : undefined}
                data-run-id={run.id}
                onFocus={(e) => {
                  if (e.target === e.currentTarget) {
                    setFocusIndex(item.index);
                  }
                }}
                onKeyDown={(e) => { onRowKey(e, item.index, run); }}
              >
                {props.selectable && (
                  <td>
                    <Checkbox
                      aria-label={`Select ${run.name}`}
                      checked={selected}
                      tabIndex={-1}
                      onChange={() => { props.onToggle(run.id); }}
                    />
                  </td>
                )}
                {columns.map((c) => (
                  <td key={c.key} title={c.text(run)} className={c.numeric ? classes.mono : undefined}>
                    {c.key === 'name' ? (
                      <Link to={props.runHref(run)} tabIndex={-1}>
                        {run.name}
                      </Link>
                    ) : (
                      c.render(run)
                    )}
                  </td>
                ))}
              </tr>
            );
          })}
          {paddingBottom > 0 && (
            <tr className={classes.spacer} aria-hidden="true">
              <td colSpan={colSpan} style={{ height: paddingBottom }} />
            </tr>
          )}
        </tbody>
      </table>
      {runs.length === 0 && !hasNextPage && (
        <Text p="md" c="dimmed">
          No runs match this view.
        </Text>
      )}
    </div>
  );
}

const minWidth = 60;
const maxWidth = 800;

/** ResizeHandle changes a column's width by dragging, or with the arrow keys when focused. */
function ResizeHandle({ label, width, onResize }: { label: string; width: number; onResize: (w: number) => void }) {
  const start = useRef<{ x: number; width: number } | null>(null);
  const clamp = (w: number) => Math.round(Math.max(minWidth, Math.min(maxWidth, w)));
  return (
    <div
      role="separator"
      aria-orientation="vertical"
      aria-label={`Resize ${label}`}
      aria-valuenow={width}
      aria-valuemin={minWidth}
      aria-valuemax={maxWidth}
      tabIndex={0}
      className={classes.resizer}
      onPointerDown={(e: PointerEvent<HTMLDivElement>) => {
        e.currentTarget.setPointerCapture(e.pointerId);
        start.current = { x: e.clientX, width };
      }}
      onPointerMove={(e) => {
        if (start.current !== null) {
          onResize(clamp(start.current.width + e.clientX - start.current.x));
        }
      }}
      onPointerUp={() => {
        start.current = null;
      }}
      onKeyDown={(e) => {
        if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
          e.preventDefault();
          onResize(clamp(width + (e.key === 'ArrowRight' ? 16 : -16)));
        }
      }}
    />
  );
}

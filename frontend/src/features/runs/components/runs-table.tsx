import { Checkbox, Loader, Text } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useRef, useState, type CSSProperties, type KeyboardEvent, type RefObject, type PointerEvent } from 'react';
import { Link } from 'react-router';

import type { Column } from '../columns';
import classes from '../runs.module.css';
import type { Run } from '../types';
import { parseSort, type Density } from '../view-state';

/** rowHeights are a row's height in pixels, its border included (runs.module.css sets the cells' height). */
const rowHeights: Record<Density, number> = { comfortable: 37, compact: 29 };
/** minHeight is the table's least height, when the page above it is tall. */
const minHeight = 320;
/** bottomMargin is kept free under the table and what follows it (the page's padding). */
const bottomMargin = 16;
const selectWidth = 44;
/** fetchAhead: the next page is asked for when the view comes this many rows near the end of what is loaded. */
const fetchAhead = 30;

export interface RunsTableProps {
  runs: Run[];
  total: number;
  columns: Column[];
  /** pinned is how many of the first columns stay in view when the table scrolls sideways. */
  pinned: number;
  density: Density;
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
  const rowHeight = rowHeights[props.density];
  const scroller = useRef<HTMLDivElement>(null);
  const height = useFillHeight(scroller);
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
  useEffect(() => {
    virtualizer.measure();
  }, [virtualizer, rowHeight]);
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
  // Pinned columns stick at the left, after the selection column (which sticks too).
  const pinStyles: (CSSProperties | undefined)[] = [];
  let left = props.selectable ? selectWidth : 0;
  columns.forEach((c, i) => {
    if (i < props.pinned) {
      pinStyles.push({ insetInlineStart: left });
      left += props.widths[c.key] ?? c.width;
    }
  });
  const pinClass = (i: number) =>
    i < props.pinned ? `${classes.pinned} ${i === props.pinned - 1 ? classes.lastPinned : ''}` : undefined;

  return (
    <div ref={scroller} className={classes.scroller} style={{ height }} data-testid="runs-scroller">
      <table
        className={classes.table}
        data-density={props.density}
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
              <th scope="col" aria-label="Selection" className={classes.pinned} style={{ insetInlineStart: 0 }}>
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
            {columns.map((c, i) => {
              const sorted = c.sortKey !== undefined && sort.key === c.sortKey;
              return (
                <th
                  key={c.key}
                  scope="col"
                  aria-label={c.label}
                  aria-sort={sorted ? (sort.desc ? 'descending' : 'ascending') : undefined}
                  className={pinClass(i)}
                  style={pinStyles[i]}
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
                  <td className={classes.pinned} style={{ insetInlineStart: 0 }}>
                    <Checkbox
                      aria-label={`Select ${run.name}`}
                      checked={selected}
                      tabIndex={-1}
                      onChange={() => { props.onToggle(run.id); }}
                    />
                  </td>
                )}
                {columns.map((c, i) => (
                  <td
                    key={c.key}
                    title={c.text(run)}
                    className={[c.numeric ? classes.mono : '', pinClass(i) ?? ''].join(' ').trim() || undefined}
                    style={pinStyles[i]}
                    data-col={c.key}
                  >
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

/**
 * useFillHeight is the height that makes the element fill the viewport under
 * the page's sticky header, with what follows it still in view below (at
 * least minHeight): once the page scrolls to the table, it fills the screen.
 */
function useFillHeight(ref: RefObject<HTMLElement | null>): number {
  const [height, setHeight] = useState(minHeight);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) {
      return undefined;
    }
    const update = () => {
      // The app layout's header sticks at the top (components/layouts/app-layout).
      const header = document.querySelector('header');
      const sticky = header !== null && ['sticky', 'fixed'].includes(getComputedStyle(header).position);
      const top = sticky ? header.getBoundingClientRect().height : 0;
      // What follows the table in its parent stays in view, and a margin.
      const gap = el.parentElement === null ? 0 : parseFloat(getComputedStyle(el.parentElement).rowGap) || 0;
      let below = bottomMargin;
      for (let n = el.nextElementSibling; n !== null; n = n.nextElementSibling) {
        below += n.getBoundingClientRect().height + gap;
      }
      setHeight(Math.max(minHeight, Math.floor(window.innerHeight - top - below)));
    };
    update();
    const observer = new ResizeObserver(update);
    observer.observe(document.body);
    window.addEventListener('resize', update);
    return () => {
      observer.disconnect();
      window.removeEventListener('resize', update);
    };
  }, [ref]);
  return height;
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

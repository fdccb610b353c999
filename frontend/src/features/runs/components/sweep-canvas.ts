/**
 * Canvas drawing of the sweep view: parallel coordinates and a scatter.
 * Lines are drawn in a handful of paths (one per colour), never one stroke
 * per run; the faded lines are a cached layer, so a brush being dragged
 * redraws only the highlighted ones.
 */
import { formatValue, fromPos, type Axis } from '../sweep-data';

/** Palette holds a colour scheme's colours for the canvas. */
export interface Palette {
  text: string;
  axis: string;
  faded: string;
  brush: string;
  brushEdge: string;
  ramp: string[];
}

/** palettes: the ramp runs from low to high values of the colouring axis; each is readable on its background. */
export const palettes: Record<'light' | 'dark', Palette> = {
  light: {
    text: '#212529',
    axis: '#495057',
    faded: 'rgba(134, 142, 150, 0.18)',
    brush: 'rgba(25, 113, 194, 0.15)',
    brushEdge: '#1971c2',
    ramp: ['#0d0887', '#5c01a6', '#9c179e', '#cc4778', '#e16d3a'],
  },
  dark: {
    text: '#e9ecef',
    axis: '#adb5bd',
    faded: 'rgba(173, 181, 189, 0.14)',
    brush: 'rgba(116, 192, 252, 0.2)',
    brushEdge: '#74c0fc',
    ramp: ['#7aa2ff', '#a98bff', '#e07ad0', '#ff8a80', '#ffd166'],
  },
};

/** Layout is where the axes are, in CSS pixels of the canvas. */
export interface Layout {
  xs: number[];
  top: number;
  bottom: number;
}

export const margin = { top: 34, bottom: 22, side: 64 };

/** layoutAxes spreads n axes over a width. */
export function layoutAxes(n: number, width: number, height: number): Layout {
  const inner = width - 2 * margin.side;
  const xs = n <= 1 ? [width / 2] : Array.from({ length: n }, (_, i) => margin.side + (i * inner) / (n - 1));
  return { xs, top: margin.top, bottom: height - margin.bottom };
}

/** yOf is the canvas y of a place (0–1) on an axis. */
export function yOf(layout: Layout, t: number): number {
  return layout.bottom - t * (layout.bottom - layout.top);
}

/** tOf is the place (0–1, clamped) of a canvas y on the axes. */
export function tOf(layout: Layout, y: number): number {
  return Math.min(1, Math.max(0, (layout.bottom - y) / (layout.bottom - layout.top)));
}

/** prepare sizes a canvas for its CSS size and the screen's pixel ratio, and clears it. */
export function prepare(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D | null {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.round(width * ratio);
  const h = Math.round(height * ratio);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  if (ctx === null) {
    return null;
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

function ticks(axis: Axis): { t: number; label: string }[] {
  if (axis.kind === 'category') {
    const n = axis.categories.length;
    const every = Math.max(1, Math.ceil(n / 12));
    return axis.categories
      .map((c, i) => ({ t: (i + 0.5) / n, label: formatValue(c) }))
      .filter((_, i) => i % every === 0);
  }
  if (axis.max === axis.min) {
    return [{ t: 0.5, label: formatValue(axis.min) }];
  }
  return [0, 0.25, 0.5, 0.75, 1].map((t) => ({ t, label: formatValue(fromPos(axis, t)) }));
}

function shorten(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) {
    return text;
  }
  let s = text;
  while (s.length > 1 && ctx.measureText(`${s}…`).width > width) {
    s = s.slice(0, -1);
  }
  return `${s}…`;
}

/** drawAxis draws an axis line, its name and its ticks. */
function drawAxis(ctx: CanvasRenderingContext2D, axis: Axis, x: number, layout: Layout, palette: Palette, room: number) {
  ctx.strokeStyle = palette.axis;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x + 0.5, layout.top);
  ctx.lineTo(x + 0.5, layout.bottom);
  ctx.stroke();
  ctx.fillStyle = palette.text;
  ctx.font = '600 12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(shorten(ctx, `${axis.key.replace(/^(params|metrics)\./, '')}${axis.log ? ' (log)' : ''}`, room), x, layout.top - 14);
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const { t, label } of ticks(axis)) {
    const y = yOf(layout, t);
    ctx.beginPath();
    ctx.moveTo(x - 3, y + 0.5);
    ctx.lineTo(x, y + 0.5);
    ctx.stroke();
    ctx.fillText(shorten(ctx, label, margin.side - 8), x - 5, y);
  }
}

/** LinesInput is what the parallel coordinates draw. */
export interface LinesInput {
  axes: Axis[];
  /** mask marks the runs the brushes pass (highlighted); the others are faded. */
  mask: Uint8Array;
  count: number;
  /** brushes are the places (0–1) of each axis's brush, or null. */
  brushes: ([number, number] | null)[];
}

/**
 * linePaths adds each run's polyline to a path: the faded runs' path (mask
 * null: every run), or one path per colour for the runs the mask marks. A
 * missing value breaks the line: the run is left out of the segments that
 * touch that axis. It returns how many runs got a line.
 */
function linePaths(axes: Axis[], mask: Uint8Array | null, count: number, layout: Layout, paths: Path2D[]): number {
  const colour = axes.at(-1);
  const buckets = paths.length;
  let drawn = 0;
  for (let i = 0; i < count; i++) {
    if (mask !== null && mask[i] !== 1) {
      continue;
    }
    const t = colour?.pos[i] ?? Number.NaN;
    const path = paths[buckets === 1 || Number.isNaN(t) ? 0 : Math.min(buckets - 1, Math.floor(t * buckets))] as Path2D;
    let started = false;
    let any = false;
    for (let a = 0; a < axes.length; a++) {
      const p = (axes[a] as Axis).pos[i] as number;
      if (Number.isNaN(p)) {
        started = false;
        continue;
      }
      const x = layout.xs[a] as number;
      const y = yOf(layout, p);
      if (started) {
        path.lineTo(x, y);
        any = true;
      } else {
        path.moveTo(x, y);
        if (axes.length === 1) {
          path.lineTo(x + 0.01, y);
          any = true;
        }
        started = true;
      }
    }
    if (any) {
      drawn++;
    }
  }
  return drawn;
}

/**
 * drawFaded draws every run's line in the faded colour: the layer under the
 * highlighted lines. It changes only with the data, the axes or the size,
 * so the view keeps it in an offscreen canvas and a brush being dragged
 * redraws only the highlighted lines over it. It returns how many runs got
 * a line.
 */
export function drawFaded(ctx: CanvasRenderingContext2D, axes: Axis[], count: number, layout: Layout, palette: Palette): number {
  const path = new Path2D();
  const drawn = linePaths(axes, null, count, layout, [path]);
  ctx.lineWidth = 1;
  ctx.strokeStyle = palette.faded;
  ctx.stroke(path);
  return drawn;
}

/** drawLines draws the highlighted runs (coloured by the last axis), the brushes and the axes, over the faded layer. */
export function drawLines(ctx: CanvasRenderingContext2D, input: LinesInput, layout: Layout, palette: Palette): void {
  const { axes, mask, count } = input;
  const paths = palette.ramp.map(() => new Path2D());
  linePaths(axes, mask, count, layout, paths);
  ctx.lineWidth = 1;
  ctx.globalAlpha = count > 2000 ? 0.35 : count > 200 ? 0.6 : 0.9;
  paths.forEach((path, b) => {
    ctx.strokeStyle = palette.ramp[b] as string;
    ctx.stroke(path);
  });
  ctx.globalAlpha = 1;
  const room = axes.length <= 1 ? 300 : ((layout.xs[1] ?? 0) - (layout.xs[0] ?? 0)) - 8;
  axes.forEach((axis, a) => {
    const x = layout.xs[a] as number;
    const brush = input.brushes[a];
    if (brush != null) {
      const y0 = yOf(layout, Math.max(brush[0], brush[1]));
      const y1 = yOf(layout, Math.min(brush[0], brush[1]));
      ctx.fillStyle = palette.brush;
      ctx.fillRect(x - 9, y0, 18, Math.max(2, y1 - y0));
      ctx.strokeStyle = palette.brushEdge;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x - 9, y0, 18, Math.max(2, y1 - y0));
    }
    drawAxis(ctx, axis, x, layout, palette, room);
  });
}

/** drawScatter draws one axis against another; it returns how many runs got a point. */
export function drawScatter(
  ctx: CanvasRenderingContext2D,
  x: Axis,
  y: Axis,
  mask: Uint8Array,
  count: number,
  width: number,
  height: number,
  palette: Palette,
): number {
  const left = margin.side + 18;
  const right = width - 24;
  const top = 16;
  const bottom = height - 40;
  const faded = new Path2D();
  const shown = new Path2D();
  let drawn = 0;
  for (let i = 0; i < count; i++) {
    const px = x.pos[i] as number;
    const py = y.pos[i] as number;
    if (Number.isNaN(px) || Number.isNaN(py)) {
      continue;
    }
    // Categories get a little spread (by run index) so their points do not pile up.
    const jitter = x.kind === 'category' ? (((i * 7919) % 101) / 101 - 0.5) * (0.6 / x.categories.length) : 0;
    const cx = left + (px + jitter) * (right - left);
    const cy = bottom - py * (bottom - top);
    const path = mask[i] === 1 ? shown : faded;
    // Squares, not circles: ten thousand arcs cost a brush's release tens of milliseconds.
    path.rect(cx - 1.5, cy - 1.5, 3, 3);
    drawn++;
  }
  ctx.fillStyle = palette.faded;
  ctx.fill(faded);
  ctx.fillStyle = palette.ramp[0] as string;
  ctx.globalAlpha = count > 2000 ? 0.5 : 0.85;
  ctx.fill(shown);
  ctx.globalAlpha = 1;
  ctx.strokeStyle = palette.axis;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, bottom);
  ctx.lineTo(right, bottom);
  ctx.stroke();
  ctx.fillStyle = palette.text;
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const { t, label } of ticks(x)) {
    ctx.fillText(shorten(ctx, label, 90), left + t * (right - left), bottom + 4);
  }
  ctx.font = '600 12px system-ui, sans-serif';
  ctx.fillText(`${x.key}${x.log ? ' (log)' : ''}`, (left + right) / 2, bottom + 20);
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const { t, label } of ticks(y)) {
    ctx.fillText(shorten(ctx, label, left - 8), left - 5, bottom - t * (bottom - top));
  }
  ctx.save();
  ctx.translate(12, (top + bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.font = '600 12px system-ui, sans-serif';
  ctx.fillText(`${y.key}${y.log ? ' (log)' : ''}`, 0, 0);
  ctx.restore();
  return drawn;
}

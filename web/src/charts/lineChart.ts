// The one thin uPlot adapter: draws aligned M4 columns (a line per run through its buckets'
// last values, with a band from each bucket's min to max). With smoothing, the line is the
// debiased EMA of the last values and the raw line is drawn faintly behind it.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { colorAt, withAlpha } from "./colors";
import { type AlignedM4 } from "./m4";
import { smoothEma } from "./smoothing";
import { formatValue, valueNear } from "./tooltip";
import type { XRange } from "./zoom";

export interface LineChartOptions {
  title: string;
  width: number;
  height: number;
  labels: string[]; // one per run, in aligned.runIds order
  colors?: string[]; // one per run (default: the palette in order)
  /** EMA weight in [0, 1); 0 (default) draws the raw line only. */
  smoothing?: number;
  /** A logarithmic y axis (values ≤ 0 are left out). */
  logScale?: boolean;
  /** The x axis' label (default "step"), and whether x is a wall time in seconds. */
  xLabel?: string;
  xTime?: boolean;
  /** Called with the x-range selected by dragging; without it a drag zooms in place. */
  onZoom?(range: XRange): void;
  /** Called on a double-click (reset the zoom). */
  onResetZoom?(): void;
}

/** Above this many runs a chart's lines are 1 px wide. */
const THIN_LINES_ABOVE = 10;

function positive(values: (number | null)[]): (number | null)[] {
  return values.map((v) => (v != null && v > 0 ? v : null));
}

export function lineChart(target: HTMLElement, aligned: AlignedM4, options: LineChartOptions): uPlot {
  const smoothing = options.smoothing ?? 0;
  const log = options.logScale ?? false;
  const fix = log ? positive : (v: (number | null)[]) => v;
  const series: uPlot.Series[] = [{ label: options.xLabel ?? "step" }];
  const lines: { label: string; color: string; index: number }[] = [];
  const bands: uPlot.Band[] = [];
  const data: (Float64Array | (number | null)[])[] = [aligned.x];
  // Many runs get 1 px lines: drawn as hairlines, they cost a small fraction of wider ones where
  // the canvas is drawn in software (a 100-run workspace panel: ~17 ms to rasterize, not ~400 ms).
  const lineWidth = aligned.runIds.length > THIN_LINES_ABOVE ? 1 : 1.5;
  aligned.runIds.forEach((_, i) => {
    const color = options.colors?.[i] ?? colorAt(i);
    const [last, min, max] = aligned.columns[i]!;
    const label = options.labels[i] ?? aligned.runIds[i] ?? "";
    if (smoothing > 0) {
      series.push({ label: `${label} (raw)`, stroke: withAlpha(color, 0.3), width: 1, spanGaps: true,
                    points: { show: false } });
      data.push(fix(last));
    }
    const base = series.length;
    lines.push({ label, color, index: base });
    // Points only where they are sparse enough to see (uPlot's default), so a run of one step shows.
    series.push({ label, stroke: color, width: lineWidth, spanGaps: true, points: { fill: color } });
    series.push({ label: "min", stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
    series.push({ label: "max", stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
    data.push(fix(smoothing > 0 ? smoothEma(last, smoothing) : last), fix(min), fix(max));
    bands.push({ series: [base + 2, base + 1], fill: withAlpha(color, smoothing > 0 ? 0.08 : 0.18) });
  });
  const opts: uPlot.Options = {
    title: options.title,
    width: options.width,
    height: options.height,
    series,
    bands,
    legend: { show: false },
    scales: { x: { time: options.xTime ?? false }, y: log ? { distr: 3 } : {} },
    axes: [{ label: options.xLabel ?? "step" }, {}],
    cursor: { drag: { x: true, y: false, setScale: !options.onZoom } },
    plugins: [tooltipPlugin(lines, options.xLabel ?? "step", options.xTime ?? false)],
    hooks: options.onZoom ? {
      setSelect: [(u: uPlot) => {
        if (u.select.width <= 0) return;
        const range = { min: u.posToVal(u.select.left, "x"), max: u.posToVal(u.select.left + u.select.width, "x") };
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        options.onZoom!(range);
      }],
    } : {},
  };
  const chart = new uPlot(opts, data as uPlot.AlignedData, target);
  if (options.onResetZoom) chart.over.addEventListener("dblclick", () => options.onResetZoom!());
  return chart;
}

/** A tooltip listing every run's value at the cursor, with its name and colour. */
function tooltipPlugin(lines: { label: string; color: string; index: number }[], xName: string,
                       xTime: boolean): uPlot.Plugin {
  const tip = document.createElement("div");
  tip.className = "chart-tooltip";
  tip.dataset["testid"] = "chart-tooltip";
  tip.hidden = true;
  return {
    hooks: {
      init: [(u: uPlot) => { u.over.appendChild(tip); }],
      setCursor: [(u: uPlot) => {
        const idx = u.cursor.idx;
        if (idx == null || u.cursor.left == null || u.cursor.left < 0) {
          tip.hidden = true;
          return;
        }
        const x = u.data[0][idx]!;
        const head = document.createElement("div");
        head.className = "tooltip-x";
        head.textContent = `${xName}: ${xTime ? new Date(x * 1000).toLocaleString() : formatValue(x)}`;
        const rows = lines.map(({ label, color, index }) => {
          const row = document.createElement("div");
          row.className = "tooltip-row";
          row.dataset["testid"] = "tooltip-row";
          const swatch = document.createElement("span");
          swatch.className = "swatch";
          swatch.style.background = color;
          const name = document.createElement("span");
          name.className = "tooltip-name";
          name.dataset["testid"] = "tooltip-name";
          name.textContent = label;
          const value = document.createElement("span");
          value.className = "tooltip-value";
          value.textContent = formatValue(valueNear(u.data[index] as (number | null)[], idx));
          row.append(swatch, name, value);
          return row;
        });
        tip.replaceChildren(head, ...rows);
        tip.hidden = false;
        const left = u.cursor.left!;
        const right = left > u.over.clientWidth / 2;
        tip.style.left = right ? "" : `${left + 12}px`;
        tip.style.right = right ? `${u.over.clientWidth - left + 12}px` : "";
      }],
    },
  };
}

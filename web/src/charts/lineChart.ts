// The one thin uPlot adapter: draws aligned M4 columns (a line per run through its buckets'
// last values, with a band from each bucket's min to max). With smoothing, the line is the
// debiased EMA of the last values and the raw line is drawn faintly behind it.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { colorAt, withAlpha } from "./colors";
import { type AlignedM4 } from "./m4";
import { smoothEma } from "./smoothing";

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
}

function positive(values: (number | null)[]): (number | null)[] {
  return values.map((v) => (v != null && v > 0 ? v : null));
}

export function lineChart(target: HTMLElement, aligned: AlignedM4, options: LineChartOptions): uPlot {
  const smoothing = options.smoothing ?? 0;
  const log = options.logScale ?? false;
  const fix = log ? positive : (v: (number | null)[]) => v;
  const series: uPlot.Series[] = [{ label: "step" }];
  const bands: uPlot.Band[] = [];
  const data: (Float64Array | (number | null)[])[] = [aligned.x];
  aligned.runIds.forEach((_, i) => {
    const color = options.colors?.[i] ?? colorAt(i);
    const [last, min, max] = aligned.columns[i]!;
    const label = options.labels[i] ?? aligned.runIds[i];
    if (smoothing > 0) {
      series.push({ label: `${label} (raw)`, stroke: withAlpha(color, 0.3), width: 1, spanGaps: true,
                    points: { show: false } });
      data.push(fix(last));
    }
    const base = series.length;
    series.push({ label, stroke: color, width: 1.5, spanGaps: true, points: { show: false } });
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
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    axes: [{ label: "step" }, {}],
    cursor: { drag: { x: true, y: false } },
  };
  return new uPlot(opts, data as uPlot.AlignedData, target);
}

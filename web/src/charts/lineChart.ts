// The one thin uPlot adapter: draws aligned M4 columns (a line per run through its buckets'
// last values, with a band from each bucket's min to max).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { colorAt, withAlpha } from "./colors";
import { type AlignedM4, toUplotData } from "./m4";

export interface LineChartOptions {
  title: string;
  width: number;
  height: number;
  labels: string[]; // one per run, in aligned.runIds order
  colors?: string[]; // one per run (default: the palette in order)
}

export function lineChart(target: HTMLElement, aligned: AlignedM4, options: LineChartOptions): uPlot {
  const series: uPlot.Series[] = [{ label: "step" }];
  const bands: uPlot.Band[] = [];
  aligned.runIds.forEach((_, i) => {
    const color = options.colors?.[i] ?? colorAt(i);
    const base = 1 + i * 3;
    series.push({ label: options.labels[i] ?? aligned.runIds[i], stroke: color, width: 1.5, spanGaps: true,
                  points: { show: false } });
    series.push({ label: "min", stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
    series.push({ label: "max", stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
    bands.push({ series: [base + 2, base + 1], fill: withAlpha(color, 0.18) });
  });
  const opts: uPlot.Options = {
    title: options.title,
    width: options.width,
    height: options.height,
    series,
    bands,
    legend: { show: false },
    scales: { x: { time: false } },
    axes: [{ label: "step" }, {}],
    cursor: { drag: { x: true, y: false } },
  };
  return new uPlot(opts, toUplotData(aligned) as uPlot.AlignedData, target);
}

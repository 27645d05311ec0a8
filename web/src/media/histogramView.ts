// A histogram key as a heat map per run, drawn on a canvas: x = step, y = value, colour = count (see
// ./heatmap.ts); hovering reads out the step, the value range and the count under the cursor.

import { h, message } from "../components/dom";
import { cellAt, colorScale, heatMap, intensity, type HeatMap } from "./heatmap";
import type { HistogramRef, Logged } from "./types";
import { runLabel, type MediaView, type RunMedia } from "./view";

const HEIGHT = 160;
/** Room for the value labels (left) and the step labels (below). */
const LEFT = 52;
const BOTTOM = 18;
const ROWS = 64;

function label(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
}

/** The heat map's pixels, then its axes' labels. */
function paint(canvas: HTMLCanvasElement, map: HeatMap): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const width = canvas.width - LEFT;
  const height = canvas.height - BOTTOM;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const [x0, x1] = [map.xEdges[0]!, map.xEdges[map.xEdges.length - 1]!];
  // Which column each pixel x shows, then each pixel: one pass over width × height, however many steps.
  const columnOfPixel = new Int32Array(width);
  let column = 0;
  for (let px = 0; px < width; px++) {
    const x = x0 + ((px + 0.5) / width) * (x1 - x0);
    while (column + 1 < map.steps.length && x >= map.xEdges[column + 1]!) column++;
    columnOfPixel[px] = column;
  }
  const image = ctx.createImageData(width, height);
  for (let py = 0; py < height; py++) {
    const row = Math.min(map.rows - 1, Math.floor(((height - 1 - py + 0.5) / height) * map.rows));
    for (let px = 0; px < width; px++) {
      const t = intensity(map, columnOfPixel[px]!, row);
      const [r, g, b] = t > 0 ? colorScale(t) : [255, 255, 255]; // empty cells are white
      const i = (py * width + px) * 4;
      image.data[i] = r;
      image.data[i + 1] = g;
      image.data[i + 2] = b;
      image.data[i + 3] = 255;
    }
  }
  ctx.putImageData(image, LEFT, 0);
  ctx.fillStyle = "#57606a";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "top";
  ctx.fillText(label(map.hi), LEFT - 4, 0);
  ctx.textBaseline = "bottom";
  ctx.fillText(label(map.lo), LEFT - 4, height);
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(`step ${map.steps[0]}`, LEFT, height + 3);
  ctx.textAlign = "right";
  if (map.steps.length > 1) ctx.fillText(String(map.steps[map.steps.length - 1]), canvas.width, height + 3);
}

function readout(map: HeatMap, canvas: HTMLCanvasElement, event: MouseEvent): string {
  const box = canvas.getBoundingClientRect();
  const px = ((event.clientX - box.left) * canvas.width) / box.width - LEFT;
  const py = ((event.clientY - box.top) * canvas.height) / box.height;
  const width = canvas.width - LEFT;
  const height = canvas.height - BOTTOM;
  if (px < 0 || px >= width || py < 0 || py >= height) return "";
  const [x0, x1] = [map.xEdges[0]!, map.xEdges[map.xEdges.length - 1]!];
  const cell = cellAt(map, x0 + (px / width) * (x1 - x0), map.lo + ((height - py) / height) * (map.hi - map.lo));
  if (!cell) return "";
  const rowHeight = (map.hi - map.lo) / map.rows;
  const bottom = map.lo + cell.row * rowHeight;
  const count = map.counts[cell.column * map.rows + cell.row] ?? 0;
  return `step ${map.steps[cell.column]}: ${label(bottom)} to ${label(bottom + rowHeight)}: ${label(Number(count.toPrecision(3)))}`;
}

/** Heat maps (canvases with their axes) `width()` pixels wide and `height(runs)` tall (default HEIGHT), by the
 *  number of runs shown. */
export function histogramView(width: () => number, height: (runs: number) => number = () => HEIGHT): MediaView {
  const element = h("div", { class: "media-view media-histograms" });
  return {
    element,
    show(runs: RunMedia[]): void {
      const mapHeight = height(runs.length);
      element.replaceChildren(...runs.map((run) => {
        const map = heatMap(run.entries.filter((e): e is Logged<HistogramRef> => e.value._type === "histogram"), ROWS);
        const box = h("figure", { class: "media-cell", "data-testid": "media-cell", "data-run": run.runId,
                                  "data-steps": map.steps.length }, runLabel(run));
        if (map.steps.length === 0) {
          box.append(message("empty", "No histograms logged."));
          return box;
        }
        const canvas = h("canvas", { width: width(), height: mapHeight, "data-testid": "media-heatmap" });
        const hover = h("div", { class: "media-note", "data-testid": "media-readout" });
        canvas.addEventListener("mousemove", (event) => { hover.textContent = readout(map, canvas, event); });
        canvas.addEventListener("mouseleave", () => { hover.textContent = ""; });
        paint(canvas, map);
        box.append(canvas, hover);
        return box;
      }));
    },
    retry(): void {},
    destroy(): void {},
  };
}

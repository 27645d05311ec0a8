// System metrics (columnar: sample times and per-metric values) → the aligned columns lineChart draws (pure; tested).

import type { SystemMetrics } from "../api/run";
import type { AlignedM4 } from "./m4";

/** One metric over time: x is seconds since the first sample; each sample is its own bucket (last = min = max). */
export function systemSeries(system: SystemMetrics, name: string): AlignedM4 {
  const t0 = system.timestamps[0] ?? 0;
  const values = (system.metrics[name] ?? []).map((v) => (typeof v === "number" && Number.isFinite(v) ? v : null));
  return {
    runIds: [name],
    x: Float64Array.from(system.timestamps, (t) => t - t0),
    columns: [[values, values.slice(), values.slice()]],
  };
}

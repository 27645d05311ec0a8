// Numbers and times as people read them (pure; tested).

/** A duration in seconds as "1h 02m", "3m 07s" or "12s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(rest).padStart(2, "0")}s`;
  return `${rest}s`;
}

/** How long ago a Unix time (seconds) was, relative to `now` (seconds): "just now", "5 min ago", … */
export function formatAgo(time: number | null | undefined, now: number): string {
  if (time == null || !Number.isFinite(time)) return "never";
  const d = Math.max(0, now - time);
  if (d < 45) return "just now";
  if (d < 3600) return `${Math.round(d / 60)} min ago`;
  if (d < 86400) return `${Math.round(d / 3600)} h ago`;
  if (d < 86400 * 30) return `${Math.round(d / 86400)} d ago`;
  return formatDate(time);
}

/** A Unix time (seconds) as "YYYY-MM-DD HH:MM" in local time. */
export function formatDate(time: number): string {
  const t = new Date(time * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}`;
}

/** A size in bytes as "812 B", "1.5 KiB", "3.2 MiB" or "1.1 GiB" (binary units, one decimal). */
export function formatBytes(size: number): string {
  if (!Number.isFinite(size) || size < 0) return "–";
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A JSON number as the API sends it (non-finite values are the strings "NaN", "Infinity", "-Infinity"). */
export function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return NaN;
}

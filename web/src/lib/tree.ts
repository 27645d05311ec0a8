// Nested config/summary values as rows of a tree, and filtering them by a search text (pure; tested).

export interface TreeRow {
  /** The dotted path, e.g. "optimizer.lr" (list items as "betas.0"). */
  path: string;
  key: string;
  depth: number;
  /** A group (an object with keys) has no value; a leaf's value as text. */
  group: boolean;
  value: string;
}

function isGroup(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length > 0;
}

/** A media value (`{"_type": "image-file", ...}`, docs/media.md): one leaf, not a group of its fields. */
function isMedia(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && typeof (value as { _type?: unknown })._type === "string";
}

/** A media value in a line: its type and file (a histogram by its bins; a list of images by its count). */
function formatMedia(value: Record<string, unknown>): string {
  const type = String(value["_type"]);
  if (Array.isArray(value["values"])) return `${type} (${value["values"].length} bins)`;
  if (Array.isArray(value["items"])) return `${type} (${value["items"].length})`;
  return typeof value["path"] === "string" ? `${type}: ${value["path"]}` : type;
}

/** A leaf as people read it: strings bare, media values by type and file, everything else as JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (isMedia(value)) return formatMedia(value);
  if (value === undefined) return "";
  return JSON.stringify(value);
}

/** Depth-first rows: each group, then its children (keys in their stored order). */
export function treeRows(value: Record<string, unknown>, options: { hidePrivate?: boolean } = {}): TreeRow[] {
  const rows: TreeRow[] = [];
  const walk = (node: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [key, child] of Object.entries(node)) {
      if (options.hidePrivate && depth === 0 && key.startsWith("_")) continue;
      const path = prefix ? `${prefix}.${key}` : key;
      if (isGroup(child) && !isMedia(child)) {
        rows.push({ path, key, depth, group: true, value: "" });
        walk(child, path, depth + 1);
      } else {
        rows.push({ path, key, depth, group: false, value: formatValue(child) });
      }
    }
  };
  walk(value, "", 0);
  return rows;
}

/**
 * The rows matching `query` (case-insensitive, in a path or a leaf's value), with the groups
 * above each match kept so that it stays in context; every row below a matching group is kept too.
 */
export function filterRows(rows: TreeRow[], query: string): TreeRow[] {
  const q = query.trim().toLowerCase();
  if (!q) return rows;
  const keep = new Set<string>();
  const matchedGroups: string[] = [];
  for (const row of rows) {
    const under = matchedGroups.some((g) => row.path.startsWith(`${g}.`));
    const hit = row.path.toLowerCase().includes(q) || (!row.group && row.value.toLowerCase().includes(q));
    if (!hit && !under) continue;
    keep.add(row.path);
    if (row.group && hit) matchedGroups.push(row.path);
    const parts = row.path.split(".");
    for (let i = 1; i < parts.length; i++) keep.add(parts.slice(0, i).join("."));
  }
  return rows.filter((row) => keep.has(row.path));
}

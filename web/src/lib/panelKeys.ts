// Which chart panels a workspace has and how they are sectioned (pure; tested).

/** The keys that get a chart panel: the logged numeric keys (the server's), less the internal ones
 *  ("_runtime", "a._b"), sorted. Not the summary's keys: a summary also holds values never logged as
 *  history and define_metric's aggregates ("loss.min"). */
export function chartKeys(logged: readonly string[]): string[] {
  return [...new Set(logged)].filter((key) => !key.startsWith("_") && !key.includes("._"))
    .sort((a, b) => a.localeCompare(b));
}

/** A key's section: what comes before its last "/" ("" for keys without one). */
export function sectionOf(key: string): string {
  const i = key.lastIndexOf("/");
  return i < 0 ? "" : key.slice(0, i);
}

export interface Section {
  name: string;
  keys: string[];
}

/** Keys in sections by prefix, sections sorted by name with the unprefixed ones ("") last. */
export function sectionKeys(keys: readonly string[]): Section[] {
  const sections = new Map<string, string[]>();
  for (const key of keys) {
    const name = sectionOf(key);
    if (!sections.has(name)) sections.set(name, []);
    sections.get(name)!.push(key);
  }
  return [...sections.entries()]
    .sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)))
    .map(([name, list]) => ({ name, keys: list.sort((a, b) => a.localeCompare(b)) }));
}

/** Whether a panel matches the search text (case-insensitive substring; empty matches all). */
export function panelMatches(key: string, search: string): boolean {
  const s = search.trim().toLowerCase();
  return s === "" || key.toLowerCase().includes(s);
}

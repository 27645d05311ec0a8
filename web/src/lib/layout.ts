// The workspace layout (pure; tested): how many grid columns fit a width at a density, how wide a
// panel spanning some of them is in pixels (its chart's width, and so its bucket count), panels'
// order and sizes per section, and the document saved on the server (protocol.WorkspaceLayout).
// Chart panels and media panels share the document: a media panel's section is saved under
// mediaSection(prefix), a name no chart section can have (see MEDIA_SECTION_PREFIX).

import type { PanelSize, SectionLayout, WorkspaceLayout } from "../api/schema";

export type Density = "compact" | "comfortable" | "large";

/** Per density: a grid column's least width, and a chart's default height (px). */
export const DENSITIES: Record<Density, { minWidth: number; height: number; label: string }> = {
  compact: { minWidth: 300, height: 180, label: "Compact" },
  comfortable: { minWidth: 420, height: 240, label: "Comfortable" },
  large: { minWidth: 640, height: 360, label: "Large" },
};
export const DEFAULT_DENSITY: Density = "comfortable";
/** The gap between grid cells (px), as in styles.css (.panel-grid). */
export const GAP = 12;
/** The most grid columns (a 4k screen at compact) and the widest panel (protocol.MAX_PANEL_COLUMNS). */
export const MAX_GRID_COLUMNS = 12;
export const MAX_PANEL_COLUMNS = 6;
/** A resized chart's height: its bounds (protocol.PanelSize) and the step it snaps to. */
export const MIN_HEIGHT = 120;
export const MAX_HEIGHT = 1200;
export const HEIGHT_STEP = 40;

/** A panel's size: grid columns, and height in pixels (null: the panel's default height). */
export interface Size { columns: number; height: number | null }
/** The size of a panel never resized (unless its kind has another default: wide media panels). */
export const DEFAULT_SIZE: Size = { columns: 1, height: null };

/** The layout sections of media panels are named this prefix + their key prefix ("_media:samples"): a
 *  chart section is its keys' prefix, and keys starting with "_" are internal and get no panel, so no
 *  chart section starts with "_" and a media panel's order and size never meet a metric's of the same
 *  key. The server refuses other section names starting with "_" (docs/ui.md, Workspace layout). */
export const MEDIA_SECTION_PREFIX = "_media:";

/** The layout section holding the order and sizes of the media panels of a key prefix. */
export function mediaSection(prefix: string): string {
  return MEDIA_SECTION_PREFIX + prefix;
}

export interface Layout {
  density: Density;
  sidebarCollapsed: boolean;
  /** Per section name ("" for keys without a prefix): the panels' order and their sizes. */
  sections: Record<string, { order: string[]; sizes: Record<string, Size> }>;
}

export function emptyLayout(): Layout {
  return { density: DEFAULT_DENSITY, sidebarCollapsed: false, sections: {} };
}

function isDensity(value: unknown): value is Density {
  return typeof value === "string" && value in DENSITIES;
}

/** The server's document as a Layout (anything missing takes its default). */
export function fromDocument(doc: WorkspaceLayout): Layout {
  const sections: Layout["sections"] = {};
  for (const [name, section] of Object.entries(doc.sections ?? {})) {
    const sizes: Layout["sections"][string]["sizes"] = {};
    for (const [key, size] of Object.entries(section.sizes ?? {})) {
      sizes[key] = { columns: size.columns ?? 1, height: size.height ?? null };
    }
    sections[name] = { order: [...(section.order ?? [])], sizes };
  }
  return { density: isDensity(doc.density) ? doc.density : DEFAULT_DENSITY,
           sidebarCollapsed: doc.sidebar_collapsed ?? false, sections };
}

/** The document to PUT (sections with no order or sizes left out). Sizes are kept as set: withSize
 *  leaves out those equal to their panel's default, so a wide media panel narrowed to one column stays so. */
export function toDocument(layout: Layout): WorkspaceLayout {
  const sections: Record<string, SectionLayout> = {};
  for (const [name, section] of Object.entries(layout.sections)) {
    const sizes: Record<string, PanelSize> = {};
    for (const [key, size] of Object.entries(section.sizes)) {
      sizes[key] = size.height === null ? { columns: size.columns } : { columns: size.columns, height: size.height };
    }
    const out: SectionLayout = {};
    if (section.order.length) out.order = [...new Set(section.order)];
    if (Object.keys(sizes).length) out.sizes = sizes;
    if (out.order || out.sizes) sections[name] = out;
  }
  return { density: layout.density, sidebar_collapsed: layout.sidebarCollapsed, sections };
}

/** How many grid columns of at least the density's width fit `width` pixels (at least 1). */
export function fitColumns(width: number, density: Density): number {
  const min = DENSITIES[density].minWidth;
  return Math.max(1, Math.min(MAX_GRID_COLUMNS, Math.floor((width + GAP) / (min + GAP))));
}

/** The pixel width of a panel spanning `span` of `columns` grid columns in a grid `width` wide. */
export function spanWidth(width: number, columns: number, span: number): number {
  const cols = Math.max(1, columns);
  const s = Math.max(1, Math.min(span, cols));
  const column = (width - GAP * (cols - 1)) / cols;
  return Math.max(0, Math.floor(column * s + GAP * (s - 1)));
}

/** The span (columns) whose width is nearest `pixels` (resizing by dragging). */
export function spanFor(pixels: number, width: number, columns: number): number {
  const column = (width - GAP * (Math.max(1, columns) - 1)) / Math.max(1, columns);
  const span = Math.round((pixels + GAP) / (column + GAP));
  return Math.max(1, Math.min(span, columns, MAX_PANEL_COLUMNS));
}

/** A height snapped to HEIGHT_STEP within the bounds. */
export function snapHeight(pixels: number): number {
  return Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, Math.round(pixels / HEIGHT_STEP) * HEIGHT_STEP));
}

/** `keys` in the saved `order` (saved keys not present are skipped), then the others as given. */
export function orderKeys(keys: readonly string[], order: readonly string[]): string[] {
  const present = new Set(keys);
  const placed = new Set<string>();
  const out: string[] = [];
  for (const key of order) {
    if (present.has(key) && !placed.has(key)) {
      out.push(key);
      placed.add(key);
    }
  }
  for (const key of keys) if (!placed.has(key)) out.push(key);
  return out;
}

/** `key` moved `delta` places along `shown` (clamped at the ends). */
export function moveBy(shown: readonly string[], key: string, delta: number): string[] {
  const from = shown.indexOf(key);
  if (from < 0) return [...shown];
  const to = Math.max(0, Math.min(shown.length - 1, from + delta));
  return moveTo(shown, key, shown[to]!);
}

/** `key` dropped on `target`: it takes the target's place, the panels between shift by one. */
export function moveTo(shown: readonly string[], key: string, target: string): string[] {
  const from = shown.indexOf(key);
  const to = shown.indexOf(target);
  if (from < 0 || to < 0 || from === to) return [...shown];
  const out = shown.filter((k) => k !== key);
  out.splice(to, 0, key);
  return out;
}

/** The saved order after the section's shown panels were reordered: the shown ones as now, then
 *  saved keys not shown at the moment (a metric no run shown has logged yet keeps its place next time). */
export function withOrder(saved: readonly string[], shown: readonly string[]): string[] {
  const now = new Set(shown);
  return [...shown, ...saved.filter((k) => !now.has(k))];
}

/** A panel's size in a section (`fallback`, its default, when it was never resized). */
export function sizeOf(layout: Layout, section: string, key: string, fallback: Size = DEFAULT_SIZE): Size {
  return layout.sections[section]?.sizes[key] ?? fallback;
}

/** The layout with a panel's size set; a size equal to the panel's default (`fallback`) is not kept. */
export function withSize(layout: Layout, section: string, key: string, size: Size,
                         fallback: Size = DEFAULT_SIZE): Layout {
  return withSection(layout, section, (s) => {
    if (size.columns === fallback.columns && size.height === fallback.height) delete s.sizes[key];
    else s.sizes[key] = { columns: size.columns, height: size.height };
  });
}

/** The layout with a section changed (a copy of that section: the rest is shared). */
export function withSection(layout: Layout, section: string,
                            change: (s: Layout["sections"][string]) => void): Layout {
  const current = layout.sections[section] ?? { order: [], sizes: {} };
  const copy = { order: [...current.order], sizes: { ...current.sizes } };
  change(copy);
  return { ...layout, sections: { ...layout.sections, [section]: copy } };
}

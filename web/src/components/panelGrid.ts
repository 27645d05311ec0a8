// The grid that workspace panels sit in, shared by the chart panels (./panels.ts) and the media panels
// (./mediaPanels.ts): per section a grid of as many columns as fit the width at the layout's density,
// each panel spanning its saved columns and height; with an editor, panels are reordered and resized
// (./panelLayout.ts) within their section, and each change is handed on as a new layout (saved by the page).

import {
  DENSITIES, DEFAULT_SIZE, fitColumns, HEIGHT_STEP, type Layout, MAX_PANEL_COLUMNS, moveBy, moveTo, orderKeys,
  type Size, sizeOf, snapHeight, spanFor, spanWidth, withOrder, withSection, withSize,
} from "../lib/layout";
import { h } from "./dom";
import { onPageLeft } from "./pageLeft";
import { attachPanelControls, type DragState } from "./panelLayout";

/** Where a panel is drawn: its span in grid columns, its content's width and height (px; null height:
 *  the content's own, for panels whose kind has no default height). */
export interface Geometry { span: number; width: number; height: number | null }

export interface PanelGridOptions {
  /** Watched for its width (the grids' width). */
  body: HTMLElement;
  layout: Layout;
  /** Called with the layout after each change made here: without it, panels have no layout controls. */
  onLayout?(layout: Layout): void;
  /** The layout section holding the order and sizes of the panels of a key prefix. */
  layoutSection(prefix: string): string;
  /** A grid's data-testid. */
  gridTestId: string;
  /** A panel's padding and border: its content is this much narrower than its grid cell. */
  chrome: number;
  /** A panel's size when never resized (default: one column, the default height). */
  defaultSize?(key: string): Size;
  /** A panel's height when its size has none: a number (charts: the density's), or null (its content's). */
  defaultHeight(density: keyof typeof DENSITIES): number | null;
  /** The height its content has now (px), where resizing a panel of null height starts from. */
  contentHeight(key: string): number;
  /** Draw a panel's content at its geometry (called when the grid, the layout or the width changed). */
  sized(key: string, geometry: Geometry): void;
}

export interface PanelGrid {
  /** The layout as changed here and given by setLayout. */
  layout(): Layout;
  /** The whole layout changed elsewhere (the other kind of panels, the density): apply it. */
  setLayout(layout: Layout): void;
  /** Put a panel in the grid's care (its layout controls too); `prefix` is its section's key prefix. */
  add(key: string, prefix: string, element: HTMLElement): void;
  remove(key: string): void;
  /** The grid of a section with its panels (of those added) in the saved order, then the others as given. */
  grid(prefix: string, keys: readonly string[]): HTMLElement;
  /** Forget every section's grid (before building them again). */
  clear(): void;
  geometry(key: string): Geometry;
  /** Put every panel at its size in its grid. */
  apply(): void;
}

interface Item { key: string; prefix: string; element: HTMLElement }

export function panelGrid(options: PanelGridOptions): PanelGrid {
  const { body } = options;
  let layout = options.layout;
  const items = new Map<string, Item>();
  const byElement = new Map<Element, Item>();
  const grids = new Map<string, HTMLElement>();
  const drag: DragState = { key: null };
  let measured = 0; // the grid's width in pixels, once in the document

  // The grid follows the width it is given (window, sidebar): columns, panel widths and buckets.
  const resizes = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => apply());
  resizes?.observe(body);
  onPageLeft(body, () => resizes?.disconnect());

  /** The grid's width: measured when in the document, else the last measure or a guess. */
  function gridWidth(): number {
    measured = body.clientWidth || measured;
    return measured || Math.max(600, (document.body.clientWidth || 1200) - 48);
  }

  function columns(): number {
    return fitColumns(gridWidth(), layout.density);
  }

  const fallback = (key: string) => options.defaultSize?.(key) ?? DEFAULT_SIZE;
  const sizeOfItem = (item: Item) => sizeOf(layout, options.layoutSection(item.prefix), item.key, fallback(item.key));

  function geometryOf(item: Item): Geometry {
    const size = sizeOfItem(item);
    const cols = columns();
    const span = Math.min(size.columns, cols);
    return { span, width: Math.max(120, spanWidth(gridWidth(), cols, span) - options.chrome),
             height: size.height ?? options.defaultHeight(layout.density) };
  }

  function apply(): void {
    if (body.clientWidth === 0 && measured !== 0) return; // collapsed or hidden: keep what is drawn
    const cols = columns();
    for (const grid of grids.values()) {
      grid.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
      grid.dataset["columns"] = String(cols);
    }
    for (const item of items.values()) applyItem(item);
  }

  function applyItem(item: Item): void {
    const geometry = geometryOf(item);
    item.element.style.gridColumn = `span ${geometry.span}`;
    item.element.dataset["columns"] = String(geometry.span);
    item.element.dataset["height"] = geometry.height === null ? "" : String(geometry.height);
    options.sized(item.key, geometry);
  }

  /** The layout changed here: apply it and hand it on. */
  function changed(): void {
    apply();
    options.onLayout?.(layout);
  }

  /** The keys of a section's panels, in their order now. */
  function sectionOrder(prefix: string): string[] {
    const grid = grids.get(prefix);
    return grid ? [...grid.children].map((el) => byElement.get(el)?.key).filter((k): k is string => !!k) : [];
  }

  function reorder(prefix: string, keys: string[]): void {
    layout = withSection(layout, options.layoutSection(prefix), (s) => { s.order = withOrder(s.order, keys); });
    const focused = document.activeElement;
    grids.get(prefix)?.append(...keys.map((k) => items.get(k)!.element));
    // Moving an element takes the focus from it: the keyboard stays on the button it pressed.
    if (focused instanceof HTMLElement && focused !== document.activeElement) focused.focus();
    changed();
  }

  function setSize(item: Item, size: Size): void {
    layout = withSize(layout, options.layoutSection(item.prefix), item.key, size, fallback(item.key));
  }

  const heightOf = (item: Item) => geometryOf(item).height ?? options.contentHeight(item.key);

  const actions = {
    move(key: string, delta: number): void {
      const item = items.get(key);
      if (item) reorder(item.prefix, moveBy(sectionOrder(item.prefix), key, delta));
    },
    drop(key: string, target: string): void {
      const item = items.get(key);
      if (item) reorder(item.prefix, moveTo(sectionOrder(item.prefix), key, target));
    },
    resize(key: string, dColumns: number, dHeight: number): void {
      const item = items.get(key);
      if (!item) return;
      const { span } = geometryOf(item);
      const cols = Math.min(columns(), MAX_PANEL_COLUMNS);
      const nextSpan = Math.max(1, Math.min(cols, span + dColumns));
      const nextHeight = dHeight === 0 ? sizeOfItem(item).height : snapHeight(heightOf(item) + dHeight * HEIGHT_STEP);
      setSize(item, { columns: nextSpan, height: nextHeight });
      changed();
    },
    dragResize(key: string, width: number, height: number, done: boolean): void {
      const item = items.get(key);
      if (!item) return;
      setSize(item, { columns: spanFor(width, gridWidth(), columns()), height: snapHeight(height) });
      if (done) changed();
      else applyItem(item);
    },
    heightOf: (key: string) => { const item = items.get(key); return item ? heightOf(item) : 0; },
    sameSection: (key: string, target: string) => items.get(key)?.prefix === items.get(target)?.prefix,
  };

  return {
    layout: () => layout,
    setLayout(next: Layout): void {
      layout = next;
      apply();
    },
    add(key: string, prefix: string, element: HTMLElement): void {
      const item = { key, prefix, element };
      items.set(key, item);
      byElement.set(element, item);
      if (options.onLayout) attachPanelControls(key, element, drag, actions);
    },
    remove(key: string): void {
      const item = items.get(key);
      if (!item) return;
      items.delete(key);
      byElement.delete(item.element);
    },
    grid(prefix: string, keys: readonly string[]): HTMLElement {
      const saved = layout.sections[options.layoutSection(prefix)]?.order ?? [];
      const grid = h("div", { class: "panel-grid", "data-testid": options.gridTestId, "data-section": prefix },
        orderKeys(keys, saved).map((k) => items.get(k)!.element));
      grids.set(prefix, grid);
      return grid;
    },
    clear(): void {
      grids.clear();
    },
    geometry(key: string): Geometry {
      const item = items.get(key);
      return item ? geometryOf(item) : { span: 1, width: 120, height: options.defaultHeight(layout.density) };
    },
    apply,
  };
}

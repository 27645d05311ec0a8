// A workspace panel's layout controls: a drag handle and buttons to move it (earlier, later), to make it
// narrower or wider (grid columns) and shorter or taller, and a corner grip to resize it by dragging.
// Every control is a button, so the keyboard reaches them all; the panel's grid (./panelGrid.ts, chart and
// media panels alike) decides what they do.

import { h } from "./dom";

export interface PanelLayoutActions {
  /** Move the panel `delta` places in its section. */
  move(key: string, delta: number): void;
  /** The panel `key` was dropped on the panel `target` (of the same section). */
  drop(key: string, target: string): void;
  /** Change the panel's width by `columns` grid columns and its height by `height` steps. */
  resize(key: string, columns: number, height: number): void;
  /** Dragging the grip: the panel's wished width and content height (a chart's, a media view's) in pixels;
   *  `done` once released. */
  dragResize(key: string, width: number, height: number, done: boolean): void;
  /** The panel's content height now (px), where a grip drag starts from. */
  heightOf(key: string): number;
  /** Whether `key` may be dropped on `target` (the same section). */
  sameSection(key: string, target: string): boolean;
}

const PANEL_TYPE = "application/x-tracklet-panel";

/** Drag-and-drop between the panels of one view: which panel is being dragged. */
export interface DragState { key: string | null }

/** The controls of the panel `key` (appended to `element`, the panel), wired to `actions`. */
export function attachPanelControls(key: string, element: HTMLElement, drag: DragState,
                                    actions: PanelLayoutActions): void {
  const button = (label: string, text: string, testid: string, action: () => void) =>
    h("button", { type: "button", class: "panel-control", title: label, "aria-label": `${label}: ${key}`,
                  "data-testid": testid, onclick: (e: Event) => { e.stopPropagation(); action(); } }, text);
  const handle = h("span", { class: "panel-drag", draggable: "true", title: "Drag to reorder",
                             "data-testid": "panel-drag", "aria-hidden": "true" }, "⠿");
  const controls = h("div", { class: "panel-controls", role: "toolbar", "aria-label": `Layout of ${key}` },
    handle,
    button("Move earlier", "←", "panel-move-earlier", () => actions.move(key, -1)),
    button("Move later", "→", "panel-move-later", () => actions.move(key, 1)),
    button("Narrower", "⇤", "panel-narrower", () => actions.resize(key, -1, 0)),
    button("Wider", "⇥", "panel-wider", () => actions.resize(key, 1, 0)),
    button("Shorter", "↥", "panel-shorter", () => actions.resize(key, 0, -1)),
    button("Taller", "↧", "panel-taller", () => actions.resize(key, 0, 1)));
  const grip = h("div", { class: "panel-grip", title: "Drag to resize", "data-testid": "panel-resize",
                          "aria-hidden": "true" });
  element.append(controls, grip);

  handle.addEventListener("dragstart", (e) => {
    drag.key = key;
    e.dataTransfer?.setData(PANEL_TYPE, key);
    if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
    e.dataTransfer?.setDragImage(element, 24, 16);
    element.classList.add("dragging");
  });
  handle.addEventListener("dragend", () => {
    drag.key = null;
    element.classList.remove("dragging");
  });
  const accepts = () => drag.key !== null && drag.key !== key && actions.sameSection(drag.key, key);
  element.addEventListener("dragover", (e) => {
    if (!accepts()) return;
    e.preventDefault(); // a drop target
    if (e.dataTransfer) e.dataTransfer.dropEffect = "move";
    element.classList.add("drop-target");
  });
  element.addEventListener("dragleave", (e) => {
    if (!element.contains(e.relatedTarget as Node | null)) element.classList.remove("drop-target");
  });
  element.addEventListener("drop", (e) => {
    element.classList.remove("drop-target");
    if (!accepts()) return;
    e.preventDefault();
    const dragged = drag.key!;
    drag.key = null;
    actions.drop(dragged, key);
  });

  // The grip: the panel follows the pointer, snapping to whole columns and height steps.
  grip.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    e.stopPropagation();
    grip.setPointerCapture(e.pointerId);
    const start = { x: e.clientX, y: e.clientY, width: element.getBoundingClientRect().width,
                    height: actions.heightOf(key) };
    element.classList.add("resizing");
    const wish = (ev: PointerEvent) => [start.width + ev.clientX - start.x, start.height + ev.clientY - start.y] as const;
    const move = (ev: PointerEvent) => {
      const [width, height] = wish(ev);
      actions.dragResize(key, width, height, false);
    };
    const up = (ev: PointerEvent) => {
      grip.removeEventListener("pointermove", move);
      grip.removeEventListener("pointerup", up);
      grip.removeEventListener("pointercancel", up);
      element.classList.remove("resizing");
      const [width, height] = wish(ev);
      actions.dragResize(key, width, height, true);
    };
    grip.addEventListener("pointermove", move);
    grip.addEventListener("pointerup", up);
    grip.addEventListener("pointercancel", up);
  });
}

// The workspace's runs table: columns (built-in, config.*, summary.*) with a chooser, sorting by
// any header, a filter, grouping with collapsible counted groups, and a checkbox per run that
// shows or hides it in the charts, and one that selects it for comparing. Rows are virtual: the
// table scrolls in a fixed-height box and only the rows in view (and a few either side) are in the
// document (../lib/virtual.ts), so 10,000 runs scroll smoothly. The model (sorting, grouping,
// columns) is ../lib/runColumns.ts.

import type { RunInfo } from "../api/schema";
import {
  columnLabel, columnValue, defaultColumns, discoverColumns, filterRuns, formatSort, formatValue, groupableColumns,
  groupRuns, nextSort, parseSort, sortRuns, type ColumnKeys,
} from "../lib/runColumns";
import { rowWindow } from "../lib/virtual";
import { h } from "./dom";

/** Rows beyond the viewport rendered on either side. */
const OVERSCAN = 10;
/** The viewport's height when the table is not in the document yet (it is measured once it is). */
const FALLBACK_VIEWPORT = 600;

type Item = { kind: "group"; key: string; label: string; count: number; closed: boolean } | { kind: "run"; run: RunInfo };

export interface TableState {
  q: string;
  sort: string | null;
  group: string | null;
}

export interface RunsTableOptions {
  state: TableState;
  colorOf(run: RunInfo): string;
  /** The name cell of a run (the page decides what it is: text or a link). */
  nameCell(run: RunInfo): Node;
  /** The filter, sort or grouping changed (to keep the URL in step). */
  onStateChange(state: TableState): void;
  /** Which runs the charts draw changed (filter or checkboxes). */
  onVisibleChange(): void;
  /** Compare the selected runs (two or more); without it there is no selection column. */
  onCompare?(runIds: string[]): void;
}

export interface RunsTable {
  element: HTMLElement;
  setRuns(runs: RunInfo[]): void;
  /** Picks runs for comparing (as ticking their boxes does). */
  select(runIds: string[]): void;
  /** Runs that pass the filter and are not hidden, in table order. */
  visibleRuns(): RunInfo[];
}

export function runsTable(options: RunsTableOptions): RunsTable {
  const state: TableState = { ...options.state };
  let runs: RunInfo[] = [];
  let keys: ColumnKeys = { config: [], summary: [] };
  let chosen: string[] | null = null; // null: the default columns for the current keys
  const hidden = new Set<string>();
  const collapsed = new Set<string>();
  const selected = new Set<string>(); // run ids picked for comparing, in the order picked
  let items: Item[] = [];
  let cols: string[] = [];
  let rowHeight = 33; // measured from a rendered row once there is one
  let frame = 0;

  const filter = h("input", { type: "search", placeholder: "Filter runs by name or tag", value: state.q,
                              "data-testid": "run-filter", class: "filter" });
  filter.addEventListener("input", () => {
    state.q = filter.value;
    changed(true);
  });
  const groupSelect = h("select", { "data-testid": "group-by" });
  groupSelect.addEventListener("change", () => {
    state.group = groupSelect.value || null;
    changed(false);
  });
  const chooser = h("details", { class: "column-chooser", "data-testid": "column-chooser" });
  const count = h("span", { class: "run-count", "data-testid": "runs-shown" });
  const tableEl = h("table", { "data-testid": "runs", class: "runs-table" });
  const body = h("tbody", {});
  const scroller = h("div", { class: "table-scroll runs-scroll", "data-testid": "runs-scroll" }, tableEl);
  scroller.addEventListener("scroll", () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; renderWindow(); });
  }, { passive: true });
  const compareButton = h("button", { type: "button", "data-testid": "compare-runs", disabled: true,
                                      title: "Select two or more runs to compare" }, "Compare");
  compareButton.addEventListener("click", () => {
    const ids = [...selected].filter((id) => runs.some((r) => r.run_id === id));
    if (ids.length >= 2) options.onCompare?.(ids);
  });
  const element = h("section", { class: "runs-section" },
    h("div", { class: "toolbar" }, filter, h("label", {}, "Group by ", groupSelect), chooser,
      options.onCompare ? compareButton : null, count),
    scroller);

  function updateCompare(): void {
    const n = [...selected].filter((id) => runs.some((r) => r.run_id === id)).length;
    compareButton.disabled = n < 2;
    compareButton.textContent = n ? `Compare (${n})` : "Compare";
  }

  function changed(visibility: boolean): void {
    options.onStateChange({ ...state });
    render();
    if (visibility) options.onVisibleChange();
  }

  function columns(): string[] {
    const all = new Set([...keys.config.map((k) => `config.${k}`), ...keys.summary.map((k) => `summary.${k}`)]);
    if (chosen) return chosen.filter((c) => !c.includes(".") || all.has(c));
    return defaultColumns(keys);
  }

  function renderControls(): void {
    const options_ = ["", ...groupableColumns(keys)];
    if (state.group && !options_.includes(state.group)) options_.push(state.group);
    groupSelect.replaceChildren(...options_.map((c) =>
      h("option", { value: c, selected: c === (state.group ?? "") }, c ? columnLabel(c) : "(none)")));
    const shown = new Set(columns());
    const box = (id: string) => {
      const input = h("input", { type: "checkbox", checked: shown.has(id), "data-column": id });
      input.addEventListener("change", () => {
        const current = columns();
        chosen = input.checked ? [...current, id] : current.filter((c) => c !== id);
        render();
      });
      return h("label", {}, input, ` ${id}`);
    };
    chooser.replaceChildren(h("summary", {}, "Columns"),
      h("div", { class: "chooser-list" },
        [...keys.config.map((k) => box(`config.${k}`)), ...keys.summary.map((k) => box(`summary.${k}`))]));
  }

  function row(run: RunInfo): HTMLTableRowElement {
    const checkbox = h("input", { type: "checkbox", checked: !hidden.has(run.run_id), "data-testid": "run-visible",
                                  title: "Show in charts" });
    checkbox.addEventListener("change", () => {
      if (checkbox.checked) hidden.delete(run.run_id);
      else hidden.add(run.run_id);
      tr.classList.toggle("hidden-run", !checkbox.checked);
      options.onVisibleChange();
    });
    const cells = cols.map((c) => {
      if (c === "name") {
        return h("td", {}, h("span", { class: "swatch", style: `background:${options.colorOf(run)}` }), " ",
                 options.nameCell(run));
      }
      if (c === "state") return h("td", {}, h("span", { class: `state ${run.state}` }, run.state));
      if (c === "tags") return h("td", {}, h("span", { class: "tags" }, run.tags.map((t) => h("span", { class: "tag" }, t))));
      return h("td", { "data-column": c }, formatValue(c, columnValue(run, c)));
    });
    const lead = h("td", { class: "row-boxes" }, checkbox);
    if (options.onCompare) {
      const pick = h("input", { type: "checkbox", checked: selected.has(run.run_id), "data-testid": "run-select",
                                title: "Select to compare" });
      pick.addEventListener("change", () => {
        if (pick.checked) selected.add(run.run_id);
        else selected.delete(run.run_id);
        updateCompare();
      });
      lead.append(" ", pick);
    }
    const tr = h("tr", { "data-testid": "run-row", "data-run-id": run.run_id,
                         class: hidden.has(run.run_id) ? "hidden-run" : null }, lead, cells);
    return tr;
  }

  /** Rebuilds the header and the list of rows (after the runs, columns, sort, filter or grouping changed). */
  function render(): void {
    cols = columns();
    const sort = parseSort(state.sort);
    const head = h("tr", {}, h("th", {}, ""), cols.map((c) => {
      const active = sort?.column === c;
      const button = h("button", { type: "button", class: "sort", title: "Sort" },
        columnLabel(c), active ? (sort!.desc ? " ▼" : " ▲") : "");
      button.addEventListener("click", () => {
        state.sort = formatSort(nextSort(parseSort(state.sort), c));
        changed(false);
      });
      return h("th", { "data-testid": `col-${c}`, "aria-sort": active ? (sort!.desc ? "descending" : "ascending") : null },
               button);
    }));
    const shown = sortRuns(filterRuns(runs, state.q), sort);
    items = [];
    if (state.group) {
      for (const group of groupRuns(shown, state.group)) {
        const closed = collapsed.has(group.key);
        items.push({ kind: "group", key: group.key, label: group.label, count: group.runs.length, closed });
        if (!closed) for (const run of group.runs) items.push({ kind: "run", run });
      }
    } else {
      for (const run of shown) items.push({ kind: "run", run });
    }
    tableEl.replaceChildren(h("thead", {}, head), body);
    count.textContent = `${shown.length} of ${runs.length} runs`;
    updateCompare();
    renderWindow();
  }

  function groupRow(item: Extract<Item, { kind: "group" }>): HTMLTableRowElement {
    const toggle = h("button", { type: "button", class: "link group-toggle", "aria-expanded": String(!item.closed) },
      item.closed ? "▸ " : "▾ ", h("span", { "data-testid": "group-label" }, item.label), " ",
      h("span", { class: "group-count", "data-testid": "group-count" }, `(${item.count})`));
    toggle.addEventListener("click", () => {
      if (collapsed.has(item.key)) collapsed.delete(item.key);
      else collapsed.add(item.key);
      render();
    });
    return h("tr", { class: "group-row", "data-testid": "group-header" }, h("td", { colspan: cols.length + 1 }, toggle));
  }

  function spacer(height: number): HTMLTableRowElement {
    return h("tr", { class: "spacer", "aria-hidden": "true", style: `height:${height}px` },
      h("td", { colspan: cols.length + 1 }));
  }

  /** Puts the rows in view (plus the overscan) in the document, with spacers for the rest. */
  function renderWindow(): void {
    const viewport = scroller.isConnected && scroller.clientHeight > 0 ? scroller.clientHeight : FALLBACK_VIEWPORT;
    const w = rowWindow(scroller.scrollTop, viewport, rowHeight, items.length, OVERSCAN);
    const rows: HTMLTableRowElement[] = [];
    if (w.padTop > 0) rows.push(spacer(w.padTop));
    for (let i = w.start; i < w.end; i++) {
      const item = items[i]!;
      rows.push(item.kind === "group" ? groupRow(item) : row(item.run));
    }
    if (w.padBottom > 0) rows.push(spacer(w.padBottom));
    body.replaceChildren(...rows);
    body.dataset["start"] = String(w.start);
    body.dataset["end"] = String(w.end);
    tableEl.dataset["rows"] = String(items.length);
    // Spacers assume every row is rowHeight high: measure a real one (once it is laid out).
    const sample = rows.find((r) => r.dataset["testid"] === "run-row");
    if (sample && sample.isConnected) {
      const measured = sample.getBoundingClientRect().height;
      if (measured > 0 && Math.abs(measured - rowHeight) > 0.5) {
        rowHeight = measured;
        renderWindow();
      }
    }
  }

  return {
    element,
    setRuns(next: RunInfo[]): void {
      runs = next;
      const before = JSON.stringify(keys);
      keys = discoverColumns(runs);
      if (JSON.stringify(keys) !== before) renderControls();
      render();
    },
    /** Picks runs for comparing (as ticking their boxes does). */
    select(runIds: string[]): void {
      for (const id of runIds) selected.add(id);
      updateCompare();
      renderWindow();
    },
    visibleRuns(): RunInfo[] {
      return sortRuns(filterRuns(runs, state.q), parseSort(state.sort)).filter((r) => !hidden.has(r.run_id));
    },
  };
}

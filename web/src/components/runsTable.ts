// The workspace's runs table: columns (built-in, config.*, summary.*) with a chooser, sorting by
// any header, a filter, grouping with collapsible counted groups, and a checkbox per run that
// shows or hides it in the charts. The model (sorting, grouping, columns) is ../lib/runColumns.ts.

import type { RunInfo } from "../api/schema";
import {
  columnLabel, columnValue, defaultColumns, discoverColumns, filterRuns, formatSort, formatValue, groupableColumns,
  groupRuns, nextSort, parseSort, sortRuns, type ColumnKeys,
} from "../lib/runColumns";
import { h } from "./dom";

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
}

export interface RunsTable {
  element: HTMLElement;
  setRuns(runs: RunInfo[]): void;
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
  const element = h("section", { class: "runs-section" },
    h("div", { class: "toolbar" }, filter, h("label", {}, "Group by ", groupSelect), chooser, count),
    h("div", { class: "table-scroll" }, tableEl));

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

  function row(run: RunInfo, cols: string[]): HTMLTableRowElement {
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
    const tr = h("tr", { "data-testid": "run-row", "data-run-id": run.run_id,
                         class: hidden.has(run.run_id) ? "hidden-run" : null }, h("td", {}, checkbox), cells);
    return tr;
  }

  function render(): void {
    const cols = columns();
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
    const body = h("tbody", {});
    if (state.group) {
      for (const group of groupRuns(shown, state.group)) {
        const closed = collapsed.has(group.key);
        const toggle = h("button", { type: "button", class: "link group-toggle", "aria-expanded": String(!closed) },
          closed ? "▸ " : "▾ ", h("span", { "data-testid": "group-label" }, group.label), " ",
          h("span", { class: "group-count", "data-testid": "group-count" }, `(${group.runs.length})`));
        toggle.addEventListener("click", () => {
          if (collapsed.has(group.key)) collapsed.delete(group.key);
          else collapsed.add(group.key);
          render();
        });
        body.append(h("tr", { class: "group-row", "data-testid": "group-header" },
          h("td", { colspan: cols.length + 1 }, toggle)));
        if (!closed) for (const run of group.runs) body.append(row(run, cols));
      }
    } else {
      for (const run of shown) body.append(row(run, cols));
    }
    tableEl.replaceChildren(h("thead", {}, head), body);
    count.textContent = `${shown.length} of ${runs.length} runs`;
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
    visibleRuns(): RunInfo[] {
      return sortRuns(filterRuns(runs, state.q), parseSort(state.sort)).filter((r) => !hidden.has(r.run_id));
    },
  };
}

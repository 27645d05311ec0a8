// The workspace's runs table: columns (built-in, config.*, summary.*) with a chooser, sorting by
// any header, a free-text filter and column conditions ("+ Filter"), grouping with collapsible
// counted groups (by tags: a group per tag), and a checkbox per run that shows or hides it in the
// charts, and one that selects it for comparing. Rows are virtual: the table scrolls in a
// fixed-height box and only the rows in view (and a few either side) are in the document
// (../lib/virtual.ts), so 10,000 runs scroll smoothly. The model (sorting, grouping, columns) is
// ../lib/runColumns.ts; conditions are ../lib/runFilters.ts. All of it is in TableState (the URL).

import type { RunInfo } from "../api/schema";
import {
  BUILTIN_COLUMNS, columnLabel, columnValue, defaultColumns, discoverColumns, filterRuns, formatSort, formatValue,
  groupableColumns, groupRuns, mergeColumnKeys, nextSort, parseSort, sortRuns, type ColumnKeys,
} from "../lib/runColumns";
import {
  applyConditions, type ColumnKind, columnKind, type Condition, conditionError, filterDocument, mergeKinds, OP_LABELS,
  opsFor, RUN_STATES,
} from "../lib/runFilters";
import type { WorkspaceState } from "../lib/route";
import { rowWindow } from "../lib/virtual";
import { h } from "./dom";

/** Rows beyond the viewport rendered on either side. */
const OVERSCAN = 10;
/** The viewport's height when the table is not in the document yet (it is measured once it is). */
const FALLBACK_VIEWPORT = 600;

type Item = { kind: "group"; key: string; label: string; count: number; closed: boolean } | { kind: "run"; run: RunInfo };

/** The table's part of the workspace's shareable state. */
export type TableState = Pick<WorkspaceState, "q" | "sort" | "group" | "filters" | "cols" | "hide" | "sel">;

export interface RunsTableOptions {
  state: TableState;
  colorOf(run: RunInfo): string;
  /** The colour of a group (by its key), as the charts draw it. */
  groupColor(key: string): string;
  /** The name cell of a run (the page decides what it is: text or a link). */
  nameCell(run: RunInfo): Node;
  /** The filter, conditions, sort, grouping, columns, hidden or selected runs changed (to keep the URL in step). */
  onStateChange(state: TableState): void;
  /** Which runs the charts draw changed (filter or checkboxes). */
  onVisibleChange(): void;
  /** Compare the selected runs (two or more); without it there is no selection column. */
  onCompare?(runIds: string[]): void;
}

export interface RunsTable {
  element: HTMLElement;
  /** The runs to show (all the page has) and how many the project has. */
  setRuns(runs: RunInfo[], total?: number): void;
  /** Picks runs for comparing (as ticking their boxes does). */
  select(runIds: string[]): void;
  /** Runs that pass the filter and are not hidden, in table order. */
  visibleRuns(): RunInfo[];
  /** The server filter document of the free-text filter and the conditions (JSON), "" when none:
   *  the page lists the project's runs through it. */
  serverFilter(): string;
}

export function runsTable(options: RunsTableOptions): RunsTable {
  const state: TableState = { ...options.state, filters: options.state.filters.map((c) => ({ ...c })) };
  let runs: RunInfo[] = [];
  let total = 0; // the project's runs (the page may hold only some: the newest, or those a filter lets through)
  let keys: ColumnKeys = { config: [], summary: [] };
  let chosen: string[] | null = state.cols; // null: the default columns for the current keys
  const hidden = new Set<string>(state.hide);
  const collapsed = new Set<string>();
  const selected = new Set<string>(state.sel); // run ids picked for comparing, in the order picked
  // Per column, over every run this table was given: a listing narrowed by a condition must not
  // change a column's kind (and so which conditions apply) or drop its column.
  const kinds = new Map<string, ColumnKind>();
  let hints: { condition: Condition; row: HTMLElement; hint: HTMLElement }[] = [];
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
  const addFilter = h("button", { type: "button", "data-testid": "add-filter", title: "Filter by a column" }, "+ Filter");
  addFilter.addEventListener("click", () => {
    state.filters.push({ column: "name", op: "contains", value: "" });
    renderConditions();
    changed(true);
    conditionsBox.querySelector<HTMLElement>("[data-testid=filter-condition]:last-child [data-testid=filter-value]")?.focus();
  });
  const conditionsBox = h("div", { class: "filter-conditions", "data-testid": "filter-conditions" });
  const tagList = h("datalist", { id: "run-tags-list" });
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
    h("div", { class: "toolbar" }, filter, addFilter, h("label", {}, "Group by ", groupSelect), chooser,
      options.onCompare ? compareButton : null, count),
    conditionsBox, tagList, scroller);

  function updateCompare(): void {
    const n = [...selected].filter((id) => runs.some((r) => r.run_id === id)).length;
    compareButton.disabled = n < 2;
    compareButton.textContent = n ? `Compare (${n})` : "Compare";
  }

  /** Tells the page the state (for the URL). */
  function save(): void {
    state.cols = chosen ? [...chosen] : null;
    state.hide = [...hidden];
    state.sel = [...selected];
    options.onStateChange({ ...state, filters: state.filters.map((c) => ({ ...c })) });
  }

  function changed(visibility: boolean): void {
    save();
    render();
    if (visibility) options.onVisibleChange();
  }

  function columns(): string[] {
    if (!chosen) return defaultColumns(keys);
    const all = new Set([...keys.config.map((k) => `config.${k}`), ...keys.summary.map((k) => `summary.${k}`)]);
    const builtin = new Set<string>(BUILTIN_COLUMNS);
    const list = chosen.filter((c) => builtin.has(c) || all.has(c));
    // The name column is always there (it links to the run and carries its colour).
    return list.includes("name") ? list : ["name", ...list];
  }

  /** The columns the chooser offers (all but the name), built-in ones first. */
  function choosable(): string[] {
    return [...BUILTIN_COLUMNS.filter((c) => c !== "name"), ...keys.config.map((k) => `config.${k}`),
            ...keys.summary.map((k) => `summary.${k}`)];
  }

  function kindOf(column: string): ColumnKind {
    let kind = kinds.get(column);
    if (!kind) {
      kind = columnKind(runs, column);
      kinds.set(column, kind);
    }
    return kind;
  }

  /** The runs the filter and the conditions let through, sorted (hidden ones included). */
  function shownRuns(): RunInfo[] {
    return sortRuns(applyConditions(filterRuns(runs, state.q), state.filters, kindOf), parseSort(state.sort));
  }

  function conditionColumns(): string[] {
    return [...BUILTIN_COLUMNS, ...keys.config.map((k) => `config.${k}`), ...keys.summary.map((k) => `summary.${k}`)];
  }

  /** The condition rows (rebuilt on add, remove and a change of column or operator; typing a value
   *  only updates that row's hint, so the input keeps its focus). */
  function renderConditions(): void {
    const focus = focusedControl();
    const columnsList = conditionColumns();
    hints = [];
    conditionsBox.replaceChildren(...state.filters.map((condition, i) => {
      const kind = kindOf(condition.column);
      const names = columnsList.includes(condition.column) ? columnsList : [...columnsList, condition.column];
      const columnSelect = h("select", { "data-testid": "filter-column", "aria-label": "Column" },
        names.map((c) => h("option", { value: c, selected: c === condition.column }, columnLabel(c))));
      columnSelect.addEventListener("change", () => {
        const before = kind;
        condition.column = columnSelect.value;
        const next = kindOf(condition.column);
        if (!opsFor(next).includes(condition.op as never)) condition.op = opsFor(next)[0]!;
        if (next === "state" && !(RUN_STATES as readonly string[]).includes(condition.value)) condition.value = "running";
        else if (before === "state" && next !== "state") condition.value = "";
        renderConditions();
        changed(true);
      });
      const ops = opsFor(kind).map(String);
      if (!ops.includes(condition.op)) ops.push(condition.op); // an invalid one from the URL stays visible
      const opSelect = h("select", { "data-testid": "filter-op", "aria-label": "Operator" },
        ops.map((op) => h("option", { value: op, selected: op === condition.op }, OP_LABELS[op as keyof typeof OP_LABELS] ?? (op || "?"))));
      opSelect.addEventListener("change", () => {
        condition.op = opSelect.value;
        renderConditions();
        changed(true);
      });
      let value: HTMLInputElement | HTMLSelectElement;
      if (kind === "state") {
        const states = (RUN_STATES as readonly string[]).includes(condition.value) ? [...RUN_STATES] : [...RUN_STATES, condition.value];
        value = h("select", { "data-testid": "filter-value", "aria-label": "Value" },
          states.map((s) => h("option", { value: s, selected: s === condition.value }, s)));
      } else {
        value = h("input", { type: "text", "data-testid": "filter-value", "aria-label": "Value", value: condition.value,
                             class: "filter-value", list: kind === "tags" ? "run-tags-list" : null,
                             placeholder: kind === "tags" ? "tag" : condition.column === "created" ? "date"
                               : kind === "number" ? "number" : "value" });
      }
      value.addEventListener(value instanceof HTMLSelectElement ? "change" : "input", () => {
        condition.value = value.value;
        changed(true);
      });
      const remove = h("button", { type: "button", class: "link", "data-testid": "filter-remove",
                                   title: "Remove this condition", "aria-label": "Remove condition" }, "×");
      remove.addEventListener("click", () => {
        state.filters.splice(i, 1);
        renderConditions();
        changed(true);
      });
      const hint = h("span", { class: "filter-hint", "data-testid": "filter-hint", role: "status" });
      const row = h("div", { class: "filter-condition", "data-testid": "filter-condition" },
        columnSelect, opSelect, value, remove, hint);
      hints.push({ condition, row, hint });
      return row;
    }));
    updateHints();
    focus?.();
  }

  /** Where the focus is among the condition rows, as a function that puts it back there after they
   *  are rebuilt (a live update may bring new columns while someone types a value). */
  function focusedControl(): (() => void) | null {
    const active = document.activeElement;
    if (!(active instanceof HTMLElement) || !conditionsBox.contains(active)) return null;
    const index = [...conditionsBox.children].findIndex((r) => r.contains(active));
    const testid = active.dataset["testid"];
    const caret = active instanceof HTMLInputElement ? active.selectionStart : null;
    return () => {
      const again = conditionsBox.children[index]?.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
      again?.focus();
      if (again instanceof HTMLInputElement && caret !== null) again.setSelectionRange(caret, caret);
    };
  }

  /** Marks the conditions that are ignored, saying why. */
  function updateHints(): void {
    for (const { condition, row, hint } of hints) {
      const error = conditionError(condition, kindOf(condition.column));
      hint.textContent = error ? `${error} (ignored)` : "";
      row.classList.toggle("invalid", error !== null);
    }
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
        const shownNow = new Set(columns());
        if (input.checked) shownNow.add(id);
        else shownNow.delete(id);
        // In the chooser's order, so ticking a column again puts it back where it was.
        chosen = ["name", ...choosable()].filter((c) => shownNow.has(c));
        // Back to the defaults: the URL leaves the columns out again.
        if (chosen.join("\n") === defaultColumns(keys).join("\n")) chosen = null;
        save();
        render();
      });
      return h("label", {}, input, ` ${columnLabel(id)}`);
    };
    chooser.replaceChildren(h("summary", {}, "Columns"), h("div", { class: "chooser-list" }, choosable().map(box)));
    tagList.replaceChildren(...[...new Set(runs.flatMap((r) => r.tags))].sort().map((t) => h("option", { value: t })));
    renderConditions();
  }

  function row(run: RunInfo): HTMLTableRowElement {
    const checkbox = h("input", { type: "checkbox", checked: !hidden.has(run.run_id), "data-testid": "run-visible",
                                  title: "Show in charts" });
    checkbox.addEventListener("change", () => {
      if (checkbox.checked) hidden.delete(run.run_id);
      else hidden.add(run.run_id);
      // (Grouped by tags, the run may have a row in several groups: keep them all in step.)
      for (const other of sameRun()) {
        other.classList.toggle("hidden-run", !checkbox.checked);
        other.querySelector<HTMLInputElement>("[data-testid=run-visible]")!.checked = checkbox.checked;
      }
      save();
      options.onVisibleChange();
    });
    const sameRun = () => [...body.querySelectorAll<HTMLTableRowElement>("tr[data-testid=run-row]")]
      .filter((r) => r.dataset["runId"] === run.run_id);
    const cells = cols.map((c) => {
      if (c === "name") {
        return h("td", {}, h("span", { class: "swatch", style: `background:${options.colorOf(run)}` }), " ",
                 options.nameCell(run));
      }
      if (c === "state") return h("td", {}, h("span", { class: `state ${run.state}` }, run.state));
      if (c === "tags") return h("td", {}, h("span", { class: "tags" }, run.tags.map((t) => h("span", { class: "tag" }, t))));
      if (c === "notes") {
        // One line in the cell (CSS ellipsis for long ones); the whole text on hover.
        const notes = run.notes ?? "";
        const lines = notes.trim().split("\n");
        return h("td", { "data-column": c, class: "notes-cell", title: notes || null },
          notes.trim() ? lines[0]! + (lines.length > 1 ? " …" : "") : "–");
      }
      return h("td", { "data-column": c }, formatValue(c, columnValue(run, c)));
    });
    const lead = h("td", { class: "row-boxes" }, checkbox);
    if (options.onCompare) {
      const pick = h("input", { type: "checkbox", checked: selected.has(run.run_id), "data-testid": "run-select",
                                title: "Select to compare" });
      pick.addEventListener("change", () => {
        if (pick.checked) selected.add(run.run_id);
        else selected.delete(run.run_id);
        for (const other of sameRun()) other.querySelector<HTMLInputElement>("[data-testid=run-select]")!.checked = pick.checked;
        save();
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
    const shown = shownRuns();
    updateHints();
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
    count.textContent = `${shown.length} of ${total} runs`;
    updateCompare();
    renderWindow();
  }

  function groupRow(item: Extract<Item, { kind: "group" }>): HTMLTableRowElement {
    const toggle = h("button", { type: "button", class: "link group-toggle", "aria-expanded": String(!item.closed) },
      item.closed ? "▸ " : "▾ ", h("span", { class: "swatch", style: `background:${options.groupColor(item.key)}` }),
      h("span", { "data-testid": "group-label" }, item.label), " ",
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
    setRuns(next: RunInfo[], projectRuns = next.length): void {
      runs = next;
      total = projectRuns;
      for (const [column, kind] of kinds) kinds.set(column, mergeKinds(kind, columnKind(runs, column)));
      const before = JSON.stringify(keys);
      const tagsBefore = tagList.childElementCount;
      keys = mergeColumnKeys(keys, discoverColumns(runs));
      if (JSON.stringify(keys) !== before || new Set(runs.flatMap((r) => r.tags)).size !== tagsBefore) renderControls();
      render();
    },
    /** Picks runs for comparing (as ticking their boxes does). */
    select(runIds: string[]): void {
      for (const id of runIds) selected.add(id);
      save();
      updateCompare();
      renderWindow();
    },
    visibleRuns(): RunInfo[] {
      return shownRuns().filter((r) => !hidden.has(r.run_id));
    },
    serverFilter(): string {
      const document = filterDocument(state.q, state.filters, kindOf);
      return document ? JSON.stringify(document) : "";
    },
  };
}

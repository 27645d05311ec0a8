// A logged table in a cell: its file fetched and drawn with a sort per column (click a header), a text
// filter and pages of PAGE_SIZE rows; image cells as thumbnails (only the page's are fetched).

import { notUploaded, type MediaFiles } from "../api/media";
import { h, message } from "../components/dom";
import { imageElement } from "./cells";
import type { ObjectUrls } from "./objectUrls";
import type { CellRenderer } from "./steppedView";
import { cellText, nextSort, PAGE_SIZE, parseTable, tablePage, type TableQuery } from "./tableRows";
import { isImageRef, type TableData } from "./types";

const THUMBNAIL_WIDTH = 64;

/** A table's controls and rows; `query` is kept by the caller, so a run's sort and filter stay as
 *  the step changes. */
function tableWidget(files: MediaFiles, runId: string, table: TableData, query: TableQuery, urls: ObjectUrls): HTMLElement {
  const filter = h("input", { type: "search", class: "filter", placeholder: "Filter rows", value: query.filter,
                              "data-testid": "media-table-filter" });
  const count = h("span", { class: "media-table-count", "data-testid": "media-table-count" });
  const prev = h("button", { type: "button", "data-testid": "media-table-prev" }, "‹ Prev");
  const next = h("button", { type: "button", "data-testid": "media-table-next" }, "Next ›");
  const pageLabel = h("span", { "data-testid": "media-table-page" });
  const head = h("thead");
  const body = h("tbody");
  // Each draw's thumbnails hold their own URLs, released on the next draw.
  let pageUrls: ObjectUrls | null = null;

  function draw(): void {
    const page = tablePage(table, query);
    query.page = page.page;
    count.textContent = `${page.matching} of ${table.data.length} rows`;
    pageLabel.textContent = `page ${page.page + 1} of ${page.pages}`;
    prev.disabled = page.page === 0;
    next.disabled = page.page >= page.pages - 1;
    head.replaceChildren(h("tr", {}, table.columns.map((name, column) => {
      const sorted = query.sort?.column === column ? (query.sort.descending ? "descending" : "ascending") : null;
      const button = h("button", { type: "button", class: "sort" }, name, sorted === "ascending" ? " ▲" : sorted ? " ▼" : "");
      button.addEventListener("click", () => {
        query.sort = nextSort(query.sort, column);
        draw();
      });
      return h("th", { "data-testid": "media-table-header", "aria-sort": sorted ?? "none" }, button);
    })));
    pageUrls?.revokeAll();
    const drawUrls = (pageUrls = urls.child());
    body.replaceChildren(...page.rows.map(({ index, cells }) =>
      h("tr", { "data-testid": "media-table-row", "data-index": index }, cells.map((value) => {
        if (!isImageRef(value)) return h("td", {}, cellText(value));
        const td = h("td", { class: "thumbnail" });
        imageElement(files, runId, value, drawUrls, THUMBNAIL_WIDTH)
          .then((img) => td.replaceChildren(img), (e) => td.replaceChildren(notUploaded(e)
            ? message("loading", "not uploaded yet") : message("error", String(e))));
        return td;
      }))));
  }

  filter.addEventListener("input", () => {
    query.filter = filter.value;
    query.page = 0;
    draw();
  });
  prev.addEventListener("click", () => { query.page -= 1; draw(); });
  next.addEventListener("click", () => { query.page += 1; draw(); });
  draw();
  return h("div", { class: "media-table", "data-testid": "media-table" },
    h("div", { class: "toolbar" }, filter, count, h("span", { class: "pager" }, prev, " ", pageLabel, " ", next)),
    h("div", { class: "table-scroll" }, h("table", {}, head, body)));
}

/** The renderer of a table panel: a table per run, its sort, filter and page kept per run. */
export function tableRenderer(files: MediaFiles): CellRenderer {
  const queries = new Map<string, TableQuery>();
  return async (value, runId, urls) => {
    if (value._type !== "table-file") throw new Error(`cannot show a ${value._type} as a table`);
    let table: TableData;
    try {
      table = parseTable(JSON.parse(await files.text(runId, value.path)));
    } catch (e) {
      if (e instanceof SyntaxError) return message("error", `The table file is not JSON: ${e.message}`);
      throw e;
    }
    let query = queries.get(runId);
    if (!query) {
      query = { sort: null, filter: "", page: 0, pageSize: PAGE_SIZE };
      queries.set(runId, query);
    }
    return tableWidget(files, runId, table, query, urls);
  };
}

// A run's saved files, each with a download link (fetched with the session's key: ./download.ts).

import type { RunApi } from "../api/run";
import type { RunFile } from "../api/schema";
import { formatBytes } from "../lib/format";
import { downloadLink } from "./download";
import { h, message, table } from "./dom";

export function filesList(run: RunApi, files: RunFile[]): HTMLElement {
  if (files.length === 0) return message("empty", "No files saved with this run.");
  return table("files", ["Path", "Size", ""], files.map((file) => {
    const name = file.path.split("/").pop() ?? file.path;
    return [h("span", { "data-testid": "file-path" }, file.path), formatBytes(file.size),
      downloadLink(run.fileUrl(file.path), name, () => run.fileBlob(file.path))];
  }));
}

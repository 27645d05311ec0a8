// A run's saved files, each with a download link. The link fetches with the session's key
// (a plain link cannot send it) and saves the bytes; without a key it is an ordinary link.

import type { RunApi } from "../api/run";
import type { RunFile } from "../api/schema";
import { h, message, table } from "./dom";

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

export function filesList(run: RunApi, files: RunFile[]): HTMLElement {
  if (files.length === 0) return message("empty", "No files saved with this run.");
  return table("files", ["Path", "Size", ""], files.map((file) => {
    const name = file.path.split("/").pop() ?? file.path;
    const link = h("a", { href: run.fileUrl(file.path), download: name, "data-testid": "file-download" }, "Download");
    link.addEventListener("click", (event) => {
      event.preventDefault();
      void (async () => {
        try {
          const url = URL.createObjectURL(await run.fileBlob(file.path));
          const save = h("a", { href: url, download: name });
          save.click();
          setTimeout(() => URL.revokeObjectURL(url), 10_000);
        } catch (e) {
          link.replaceWith(h("span", { class: "message error" }, `Download failed: ${String(e)}`));
        }
      })();
    });
    return [h("span", { "data-testid": "file-path" }, file.path), formatBytes(file.size), link];
  }));
}

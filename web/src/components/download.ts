// A download link for a file of the API. A plain link cannot send the session's key, so a click fetches
// the bytes with it and saves them through a temporary blob: URL; without a key the href works as is.

import { h } from "./dom";

export function downloadLink(
  href: string,
  filename: string,
  fetchBlob: () => Promise<Blob>,
  testid = "file-download",
): HTMLAnchorElement {
  const link = h("a", { href, download: filename, "data-testid": testid }, "Download");
  link.addEventListener("click", (event) => {
    event.preventDefault();
    void (async () => {
      try {
        const url = URL.createObjectURL(await fetchBlob());
        h("a", { href: url, download: filename }).click();
        // The browser reads the blob after the click returns: revoke it a little later.
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      } catch (e) {
        link.replaceWith(h("span", { class: "message error" }, `Download failed: ${String(e)}`));
      }
    })();
  });
  return link;
}

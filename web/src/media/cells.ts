// What a cell of a stepped media panel draws for each type: images with their captions, native audio
// and video players, and logged HTML in a sandboxed frame. Each fetches its file with the session's key
// and shows it through an object URL.

import type { MediaFiles } from "../api/media";
import { h } from "../components/dom";
import type { ObjectUrls } from "./objectUrls";
import type { CellRenderer } from "./steppedView";
import type { AudioRef, HtmlRef, ImageRef, MediaRef, VideoRef } from "./types";

/** Small images are drawn at least this wide (pixel-exact), so an 8×8 sample can be seen. */
const MIN_IMAGE_WIDTH = 128;

function caption(text: string | null | undefined): HTMLElement | null {
  return text ? h("figcaption", { class: "media-caption", "data-testid": "media-caption" }, text) : null;
}

/** An image and its caption; `maxWidth` for thumbnails (a table's cells). */
export async function imageElement(files: MediaFiles, runId: string, ref: ImageRef, urls: ObjectUrls,
                                   maxWidth?: number): Promise<HTMLElement> {
  const src = urls.create(await files.blob(runId, ref.path));
  const natural = ref.width ?? MIN_IMAGE_WIDTH;
  const width = maxWidth ? Math.min(maxWidth, natural) : Math.max(MIN_IMAGE_WIDTH, natural);
  const img = h("img", { src, alt: ref.caption ?? ref.path.split("/").pop() ?? "", width,
                         "data-testid": "media-image", "data-path": ref.path });
  if (ref.width && ref.height) img.height = Math.round((width * ref.height) / ref.width);
  return h("div", { class: "media-image" }, img, maxWidth ? null : caption(ref.caption));
}

function player(kind: "audio" | "video", src: string, ref: AudioRef | VideoRef): HTMLElement {
  const attrs: Record<string, string | number | boolean> = { src, controls: true, preload: "metadata",
                                                              "data-testid": `media-${kind}` };
  if (kind === "video" && "width" in ref && ref.width) attrs["width"] = Math.max(MIN_IMAGE_WIDTH * 2, ref.width);
  return h("div", { class: `media-${kind}` }, h(kind, attrs), caption(ref.caption));
}

/** Logged HTML in a frame with every sandbox restriction (no scripts, an opaque origin): it cannot
 *  act as the UI, whatever it holds. The page's CSP blocks scripts too. */
function htmlFrame(html: string): HTMLElement {
  const frame = h("iframe", { sandbox: "", class: "media-html", "data-testid": "media-html", title: "logged HTML",
                              referrerpolicy: "no-referrer" });
  frame.srcdoc = html;
  return frame;
}

/** The cell renderer for a stepped panel's type (images, audio, video, HTML). */
export function cellRenderer(files: MediaFiles): CellRenderer {
  return async (value: MediaRef, runId: string, urls: ObjectUrls): Promise<Node> => {
    switch (value._type) {
      case "image-file":
        return imageElement(files, runId, value, urls);
      case "images":
        return h("div", { class: "media-images" },
          await Promise.all(value.items.map((item) => imageElement(files, runId, item, urls))));
      case "audio-file":
        return player("audio", urls.create(await files.blob(runId, value.path)), value);
      case "video-file":
        return player("video", urls.create(await files.blob(runId, value.path)), value);
      case "html-file":
        return htmlFrame(await files.text(runId, (value as HtmlRef).path));
      default:
        throw new Error(`cannot show a ${value._type} here`);
    }
  };
}

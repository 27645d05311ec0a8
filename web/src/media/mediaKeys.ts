// Which media panels a workspace has: the media keys the server reports with their type, less the
// internal ones, in sections by key prefix like the chart panels (pure; tested).

import { sectionKeys, type Section } from "../lib/panelKeys";
import { MEDIA_TYPES, type MediaType } from "./types";

export interface MediaKey {
  key: string;
  type: MediaType;
}

/** The keys that get a media panel, sorted: of a known type, not internal ("_x", "a._b"). A key logged
 *  with another type in some run keeps the type the server reports. */
export function mediaKeys(media: Record<string, string> | undefined): MediaKey[] {
  return Object.entries(media ?? {})
    .filter((entry): entry is [string, MediaType] => (MEDIA_TYPES as readonly string[]).includes(entry[1]))
    .filter(([key]) => !key.startsWith("_") && !key.includes("._"))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, type]) => ({ key, type }));
}

/** Media keys in sections by prefix (as the chart panels). */
export function mediaSections(keys: readonly MediaKey[]): Section[] {
  return sectionKeys(keys.map((k) => k.key));
}

const LABELS: Record<MediaType, string> = {
  "image-file": "image", images: "images", histogram: "histogram", "table-file": "table", "audio-file": "audio",
  "video-file": "video", "html-file": "HTML",
};

export function mediaLabel(type: MediaType): string {
  return LABELS[type];
}

// The media contract (docs/media.md) as TypeScript: the references a history row holds for each media
// value. Hand-written: the server types these values as free JSON, so the generated schema
// (../api/schema.ts: ProjectMedia, MediaValue) has no shape for them.

export interface ImageRef {
  _type: "image-file";
  path: string;
  format?: string;
  width?: number;
  height?: number;
  caption?: string | null;
}

export interface ImagesRef {
  _type: "images";
  items: ImageRef[];
}

export interface HistogramRef {
  _type: "histogram";
  /** Counts, one per bin. */
  values: number[];
  /** Bin edges, one more than the counts. */
  bins: number[];
}

export interface TableRef {
  _type: "table-file";
  path: string;
  ncols?: number;
  nrows?: number;
  columns?: string[];
}

export interface AudioRef {
  _type: "audio-file";
  path: string;
  sample_rate?: number;
  duration?: number;
  caption?: string | null;
}

export interface VideoRef {
  _type: "video-file";
  path: string;
  format?: string;
  width?: number;
  height?: number;
  frames?: number;
  fps?: number;
  caption?: string | null;
}

export interface HtmlRef {
  _type: "html-file";
  path: string;
}

export type MediaRef = ImageRef | ImagesRef | HistogramRef | TableRef | AudioRef | VideoRef | HtmlRef;
export type MediaType = MediaRef["_type"];

export const MEDIA_TYPES: readonly MediaType[] = ["image-file", "images", "histogram", "table-file", "audio-file",
  "video-file", "html-file"];

/** One logged value: the step of its history row and the reference. */
export interface Logged<T = MediaRef> {
  step: number;
  value: T;
}

/** A table file's content: image cells are image references. */
export interface TableData {
  columns: string[];
  data: unknown[][];
}

export function isImageRef(value: unknown): value is ImageRef {
  return typeof value === "object" && value !== null && (value as { _type?: unknown })._type === "image-file"
    && typeof (value as { path?: unknown }).path === "string";
}

// One run's API: its record (and editing tags/notes), system metrics, console and files.
// Typed calls over Api (client.ts); the system and console answers have no schema type yet.

import { API_PREFIX, type Api } from "./client";
import type { RunFile, RunInfo, RunUpdate } from "./schema";

/** GET …/system: sample times (Unix seconds) and, per metric, one value per sample (null where missing). */
export interface SystemMetrics {
  timestamps: number[];
  metrics: Record<string, (number | null)[]>;
}

export interface ConsoleLine {
  line_no: number;
  timestamp: number;
  stream: "stdout" | "stderr";
  text: string;
}

const enc = encodeURIComponent;

export class RunApi {
  readonly base: string;

  constructor(
    readonly api: Api,
    readonly entity: string,
    readonly project: string,
    readonly runId: string,
  ) {
    this.base = `/runs/${enc(entity)}/${enc(project)}/${enc(runId)}`;
  }

  info(): Promise<RunInfo> {
    return this.api.get(this.base);
  }

  async update(change: RunUpdate): Promise<RunInfo> {
    return (await (await this.api.request("PATCH", this.base, {}, change)).json()) as RunInfo;
  }

  system(): Promise<SystemMetrics> {
    return this.api.get(`${this.base}/system`);
  }

  /** Console lines numbered after `after` (-1: from the start), oldest first. */
  async console(after: number, limit = 1000): Promise<ConsoleLine[]> {
    return (await this.api.get<{ lines: ConsoleLine[] }>(`${this.base}/console`, { after, limit })).lines;
  }

  files(): Promise<RunFile[]> {
    return this.api.get(`${this.base}/files`);
  }

  /** The API path of a saved file (each segment encoded; the slashes between them kept). */
  filePath(path: string): string {
    return `${this.base}/files/${path.split("/").map(enc).join("/")}`;
  }

  /** The URL a plain link can use (it works where no key is needed, e.g. `tracklet ui`). */
  fileUrl(path: string): string {
    return API_PREFIX + this.filePath(path);
  }

  /** A saved file's bytes, fetched with this session's key. */
  async fileBlob(path: string): Promise<Blob> {
    return (await this.api.request("GET", this.filePath(path))).blob();
  }
}

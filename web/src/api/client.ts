// The JSON API (/api/v1) as typed calls. Types come from ./schema.ts (generated).

import type { HistoryKeys, ProjectInfo, ProjectSeries, RunInfo, Series, Viewer, WorkspaceLayout } from "./schema";

export const API_PREFIX = "/api/v1";

/** The most runs the runs list answers in one request (its `limit`'s maximum). */
export const MAX_RUNS = 10_000;

/** One run's M4 columns in a ProjectSeries answer (a Series without key and buckets). */
export type SeriesColumns = Omit<Series, "key" | "buckets">;

/** The M4 columns a series request can ask for (`columns=`); an answer holds only those asked for. */
export type M4Column = "bucket_start" | "first_step" | "first" | "last_step" | "last" | "min_step" | "min"
  | "max_step" | "max" | "count";
export const M4_COLUMNS: readonly M4Column[] = ["bucket_start", "first_step", "first", "last_step", "last",
  "min_step", "min", "max_step", "max", "count"];
/** What a chart draws: a line through each bucket's last value (at its last step) and a min–max band. */
export const DRAWN_COLUMNS: readonly M4Column[] = ["last_step", "last", "min", "max"];
/** What an x series (step → x lookup, xaxis.ts) uses: every point with its step. */
export const X_COLUMNS: readonly M4Column[] = ["first_step", "first", "last_step", "last", "min_step", "min",
  "max_step", "max"];

/** The columns not asked for, as empty arrays, so that every answer has the full SeriesColumns shape. */
export function fillColumns<T extends object>(answer: T): T & SeriesColumns {
  const out = answer as T & SeriesColumns & Record<string, unknown>;
  for (const c of M4_COLUMNS) if (!Array.isArray(out[c])) (out as Record<string, unknown>)[c] = [];
  if (typeof out.downsampled !== "boolean") (out as Record<string, unknown>)["downsampled"] = false;
  return out;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

/** Some of a project's runs, newest first, and how many runs the project has. */
export interface RunList {
  runs: RunInfo[];
  total: number;
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export class Api {
  constructor(
    private readonly key: string | null,
    private readonly fetcher: Fetch = (input, init) => fetch(input, init),
  ) {}

  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    return (await (await this.request("GET", path, query)).json()) as T;
  }

  /** Any method, with an optional JSON body; the raw response once it is known to be OK (ApiError otherwise). */
  async request(
    method: string,
    path: string,
    query: Record<string, string | number | undefined> = {},
    body?: unknown,
  ): Promise<Response> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) params.set(name, String(value));
    }
    const qs = params.toString();
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.key) headers["Authorization"] = `Bearer ${this.key}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await this.fetcher(API_PREFIX + path + (qs ? `?${qs}` : ""), init);
    if (!response.ok) {
      let title = response.statusText || "Error";
      let detail = "";
      try {
        const problem = (await response.json()) as { title?: string; detail?: string };
        title = problem.title ?? title;
        detail = problem.detail ?? "";
      } catch {
        // not a JSON problem document
      }
      throw new ApiError(response.status, title, detail);
    }
    return response;
  }

  viewer(): Promise<Viewer> {
    return this.get("/viewer");
  }

  projects(entity: string): Promise<ProjectInfo[]> {
    return this.get(`/entities/${enc(entity)}/projects`);
  }

  /** The project's newest runs (at most MAX_RUNS) of those `filter` (a JSON filter document) lets
   *  through, and how many runs the project has (all of them). */
  runs(entity: string, project: string, filter = ""): Promise<RunList> {
    return this.runList(entity, project, { filters: filter || undefined });
  }

  /** As `runs`, but only the runs changed after a server time (and the running ones). */
  runsChangedSince(entity: string, project: string, since: number, filter = ""): Promise<RunList> {
    return this.runList(entity, project, { updated_after: since, filters: filter || undefined });
  }

  private async runList(entity: string, project: string,
                        query: Record<string, string | number | undefined>): Promise<RunList> {
    const response = await this.request("GET", `/runs/${enc(entity)}/${enc(project)}`,
      { order: "-created_at", limit: MAX_RUNS, ...query });
    return { runs: (await response.json()) as RunInfo[], total: Number(response.headers.get("X-Total-Count")) };
  }

  /** The project's workspace layout (the default one, updated_at null, until someone saved one). */
  workspaceLayout(entity: string, project: string): Promise<WorkspaceLayout> {
    return this.get(`/projects/${enc(entity)}/${enc(project)}/workspace`);
  }

  /** Replaces the project's workspace layout; answers it as saved. */
  async saveWorkspaceLayout(entity: string, project: string, layout: WorkspaceLayout): Promise<WorkspaceLayout> {
    const response = await this.request("PUT", `/projects/${enc(entity)}/${enc(project)}/workspace`, {}, layout);
    return (await response.json()) as WorkspaceLayout;
  }

  /** The numeric keys the project's runs (or only `runIds`) logged: the chart panels. */
  projectKeys(entity: string, project: string, runIds: string[] = []): Promise<HistoryKeys> {
    return this.get(`/projects/${enc(entity)}/${enc(project)}/keys`, { runs: runIds.length ? runIds.join(",") : undefined });
  }

  async projectSeries(
    entity: string,
    project: string,
    key: string,
    runIds: string[],
    buckets: number,
    range: { minStep?: number; maxStep?: number } = {},
    columns: readonly M4Column[] = M4_COLUMNS,
  ): Promise<{ key: string; runs: Record<string, SeriesColumns>; missing: string[] }> {
    const answer = await this.get<ProjectSeries>(`/projects/${enc(entity)}/${enc(project)}/series`, {
      key,
      runs: runIds.join(","),
      buckets,
      min_step: range.minStep,
      max_step: range.maxStep,
      columns: columns.length === M4_COLUMNS.length ? undefined : columns.join(","),
    });
    const runs = answer.runs as unknown as Record<string, SeriesColumns>;
    for (const run of Object.values(runs)) fillColumns(run);
    return { key: answer.key, runs, missing: answer.missing };
  }
}

const enc = encodeURIComponent;

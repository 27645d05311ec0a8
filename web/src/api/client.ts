// The JSON API (/api/v1) as typed calls. Types come from ./schema.ts (generated).

import type { HistoryKeys, ProjectInfo, ProjectSeries, RunInfo, Series, Viewer } from "./schema";

export const API_PREFIX = "/api/v1";

/** The most runs the runs list answers in one request (its `limit`'s maximum). */
export const MAX_RUNS = 10_000;

/** One run's M4 columns in a ProjectSeries answer (a Series without key and buckets). */
export type SeriesColumns = Omit<Series, "key" | "buckets">;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
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

  runs(entity: string, project: string): Promise<RunInfo[]> {
    return this.get(`/runs/${enc(entity)}/${enc(project)}`, { order: "-created_at", limit: MAX_RUNS });
  }

  historyKeys(entity: string, project: string, runId: string): Promise<HistoryKeys> {
    return this.get(`/runs/${enc(entity)}/${enc(project)}/${enc(runId)}/history/keys`);
  }

  async projectSeries(
    entity: string,
    project: string,
    key: string,
    runIds: string[],
    buckets: number,
    range: { minStep?: number; maxStep?: number } = {},
  ): Promise<{ key: string; runs: Record<string, SeriesColumns>; missing: string[] }> {
    const answer = await this.get<ProjectSeries>(`/projects/${enc(entity)}/${enc(project)}/series`, {
      key,
      runs: runIds.join(","),
      buckets,
      min_step: range.minStep,
      max_step: range.maxStep,
    });
    return { key: answer.key, runs: answer.runs as unknown as Record<string, SeriesColumns>, missing: answer.missing };
  }
}

const enc = encodeURIComponent;

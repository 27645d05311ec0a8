// The media API (docs/media.md): a media key's values for many runs in one request, and the files
// they refer to, fetched with the session's key (an <img> pointing at the API could not send it).

import { ApiError, type Api } from "./client";
import type { HistoryKeys, ProjectMedia } from "./schema";
import { RunApi } from "./run";
import type { Logged } from "../media/types";

const enc = encodeURIComponent;

/** The media keys and their type from a keys answer (`{"keys": [...], "media": {key: type}}`). */
export function mediaTypesOf(answer: HistoryKeys): Record<string, string> {
  return answer.media ?? {};
}

/** Every value logged under `key` by the runs, in step order (from `minStep` on); {} without asking
 *  when there are no runs. */
export async function mediaOf(
  api: Api, entity: string, project: string, key: string, runIds: string[], range: { minStep?: number } = {},
): Promise<Record<string, Logged[]>> {
  if (runIds.length === 0) return {};
  const answer = await api.get<ProjectMedia>(`/projects/${enc(entity)}/${enc(project)}/media`,
    { key, runs: runIds.join(","), min_step: range.minStep });
  // The schema types a value as any JSON; the references' shapes are docs/media.md's (../media/types.ts).
  return answer.runs as Record<string, Logged[]>;
}

/** Whether a file fetch failed because the file is not on the server yet (a row's file is written and
 *  uploaded after the row). */
export function notUploaded(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}

/** How many files' bytes a page keeps: paths are content hashes, so a kept file never goes stale, and
 *  moving a slider back shows what was seen without asking again. */
const KEPT_FILES = 256;

/** Media files of a project's runs, fetched with the session's key and kept (the last KEPT_FILES). */
export class MediaFiles {
  private readonly kept = new Map<string, Promise<Blob>>();

  constructor(
    private readonly api: Api,
    private readonly entity: string,
    private readonly project: string,
  ) {}

  blob(runId: string, path: string): Promise<Blob> {
    const id = `${runId}\u0000${path}`;
    let found = this.kept.get(id);
    if (found) {
      this.kept.delete(id); // most recently used last
      this.kept.set(id, found);
      return found;
    }
    found = new RunApi(this.api, this.entity, this.project, runId).fileBlob(path);
    this.kept.set(id, found);
    found.catch(() => this.kept.delete(id)); // a failure (not uploaded yet) is asked again next time
    while (this.kept.size > KEPT_FILES) this.kept.delete(this.kept.keys().next().value!);
    return found;
  }

  async text(runId: string, path: string): Promise<string> {
    return (await this.blob(runId, path)).text();
  }
}

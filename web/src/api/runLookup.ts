// Runs by id, one request per project (the runs list's `filters`), for pages that name runs they only
// know by id (an artifact's lineage).

import { byProject, type RunRef, runKey } from "../lib/runRefs";
import type { Api } from "./client";
import type { RunInfo } from "./schema";

/** The most ids one request asks for (they go in the URL), and the most projects looked in: runs beyond
 *  them are shown by id. */
const MAX_IDS = 200;
const MAX_PROJECTS = 10;

const enc = encodeURIComponent;

/** The runs found, by runKey (a run deleted since, or not the viewer's to see, is not in the map). A
 *  failed request finds none of its project's: the page still shows their ids. */
export async function runsByRef(api: Api, refs: readonly RunRef[]): Promise<Map<string, RunInfo>> {
  const found = new Map<string, RunInfo>();
  await Promise.all(byProject(refs).slice(0, MAX_PROJECTS).map(async ({ entity, project, runIds }) => {
    const ids = runIds.slice(0, MAX_IDS);
    try {
      const runs = await api.get<RunInfo[]>(`/runs/${enc(entity)}/${enc(project)}`,
        { filters: JSON.stringify({ run_id: { $in: ids } }), limit: ids.length });
      for (const run of runs) found.set(runKey({ entity, project, runId: run.run_id }), run);
    } catch {
      // shown by id
    }
  }));
  return found;
}

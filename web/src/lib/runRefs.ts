// The runs of an artifact's lineage: a version names a run of its own project by id, and one of
// another project as "entity/project/run_id" (docs/artifacts.md; pure; tested).

export interface RunRef {
  entity: string;
  project: string;
  runId: string;
  /** Of another project than the artifact's (the UI then says which). */
  elsewhere: boolean;
}

/** A `logged_by`/`used_by` value of a version of `entity`/`project`. */
export function parseRunRef(ref: string, entity: string, project: string): RunRef {
  const parts = ref.split("/");
  if (parts.length === 3 && parts.every((p) => p !== "")) {
    const [e, p, runId] = parts as [string, string, string];
    return { entity: e, project: p, runId, elsewhere: e !== entity || p !== project };
  }
  return { entity, project, runId: ref, elsewhere: false };
}

/** One key per run, whatever its project (for maps of looked-up runs). */
export function runKey(ref: { entity: string; project: string; runId: string }): string {
  return `${ref.entity}/${ref.project}/${ref.runId}`;
}

/** The refs by project, each project's run ids once, in first-seen order. */
export function byProject(refs: readonly RunRef[]): { entity: string; project: string; runIds: string[] }[] {
  const groups = new Map<string, { entity: string; project: string; runIds: string[] }>();
  for (const ref of refs) {
    const key = `${ref.entity}/${ref.project}`;
    let group = groups.get(key);
    if (!group) groups.set(key, group = { entity: ref.entity, project: ref.project, runIds: [] });
    if (!group.runIds.includes(ref.runId)) group.runIds.push(ref.runId);
  }
  return [...groups.values()];
}

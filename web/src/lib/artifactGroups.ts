// A project's artifacts grouped by type, for the Artifacts tab (pure; tested).

/** What grouping needs of an artifact (GET /artifacts/{entity}/{project}). */
export interface Named {
  name: string;
  type: string;
}

export interface TypeGroup<T extends Named> {
  type: string;
  /** By name. */
  artifacts: T[];
}

const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One group per type, types by name, each group's artifacts by name. */
export function groupByType<T extends Named>(artifacts: readonly T[]): TypeGroup<T>[] {
  const groups = new Map<string, T[]>();
  for (const artifact of artifacts) {
    const list = groups.get(artifact.type);
    if (list) list.push(artifact);
    else groups.set(artifact.type, [artifact]);
  }
  return [...groups.entries()].sort(([a], [b]) => order(a, b))
    .map(([type, list]) => ({ type, artifacts: list.sort((a, b) => order(a.name, b.name)) }));
}

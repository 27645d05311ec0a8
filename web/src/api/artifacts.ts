// The artifacts API (docs/artifacts.md): a project's artifacts, an artifact's versions, one version with
// its manifest, editing its aliases, its files' bytes (fetched with the session's key), and the versions
// a run logged or used.

import { API_PREFIX, type Api } from "./client";
import type { ArtifactSummary, ArtifactUpdate, ArtifactVersion } from "./schema";

/** One entry of a manifest: a stored file (its SHA-256) or a reference (its URI and checksum). */
export interface ManifestEntry {
  digest: string;
  size: number;
  ref?: string | null;
}

/** A version's manifest entries by path ({} for a listing's version, which has no manifest). The schema
 *  types the manifest as any JSON; its shape is docs/artifacts.md's (`tracklet.artifacts.manifest`). */
export function manifestEntries(version: ArtifactVersion): Record<string, ManifestEntry> {
  const entries = version.manifest?.["entries"];
  return typeof entries === "object" && entries !== null ? (entries as Record<string, ManifestEntry>) : {};
}

/** Which of a run's versions: those it logged, or those it used. */
export type RunArtifactDirection = "logged" | "used";

const enc = encodeURIComponent;

/** A path inside an artifact as URL segments (each encoded; the slashes between them kept). */
function pathSegments(path: string): string {
  return path.split("/").map(enc).join("/");
}

export class ArtifactsApi {
  readonly base: string;

  constructor(
    readonly api: Api,
    readonly entity: string,
    readonly project: string,
  ) {
    this.base = `/artifacts/${enc(entity)}/${enc(project)}`;
  }

  list(): Promise<ArtifactSummary[]> {
    return this.api.get(this.base);
  }

  /** An artifact's versions, newest first, without manifests. */
  versions(name: string): Promise<ArtifactVersion[]> {
    return this.api.get(`${this.base}/${enc(name)}/versions`);
  }

  /** One version with its manifest; `version` is "v3", an alias or "latest". */
  version(name: string, version: string): Promise<ArtifactVersion> {
    return this.api.get(`${this.base}/${enc(name)}/${enc(version)}`);
  }

  async update(name: string, version: string, change: ArtifactUpdate): Promise<ArtifactVersion> {
    const response = await this.api.request("PATCH", `${this.base}/${enc(name)}/${enc(version)}`, {}, change);
    return (await response.json()) as ArtifactVersion;
  }

  filePath(name: string, version: string, path: string): string {
    return `${this.base}/${enc(name)}/${enc(version)}/files/${pathSegments(path)}`;
  }

  /** The URL a plain link can use (it works where no key is needed, e.g. `tracklet ui`). */
  fileUrl(name: string, version: string, path: string): string {
    return API_PREFIX + this.filePath(name, version, path);
  }

  /** A file's bytes, fetched with this session's key. */
  async fileBlob(name: string, version: string, path: string): Promise<Blob> {
    return (await this.api.request("GET", this.filePath(name, version, path))).blob();
  }
}

/** The versions a run logged or used (those it used may be of other projects). */
export function runArtifacts(
  api: Api, entity: string, project: string, runId: string, direction: RunArtifactDirection,
): Promise<ArtifactVersion[]> {
  return api.get(`/runs/${enc(entity)}/${enc(project)}/${enc(runId)}/artifacts`, { direction });
}

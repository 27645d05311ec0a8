"""Artifacts on the server: versions created or found by digest, aliases, deletion, lineage.

An artifact is a project's collection of versions of one name, numbered from 0 (``v0``). Two
versions of one artifact never share a manifest digest: creating one with a known digest finds
that version. ``latest`` is always the version with the highest index: computed, never stored,
so it moves by itself when a version is created or deleted. Users' aliases are unique per
artifact and move when assigned to another version. Writes to an artifact hold its row
(``SELECT … FOR UPDATE``; SQLite's write lock), so concurrent creates of one digest make one version.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import NoResultFound

from tracklet.artifacts import manifest
from tracklet.protocol import ArtifactCreate, ArtifactSummary, ArtifactUpdate, ArtifactVersion, json_safe
from tracklet.server.errors import BadRequest, Conflict, NotFound
from tracklet.server.store import artifact_blobs
from tracklet.server.store.accounts import User, _new_id, entity_role
from tracklet.server.store.runs import RunRef, find_run, project_id
from tracklet.server.store.schema import (
    artifact_aliases,
    artifact_entries,
    artifact_usage,
    artifact_versions,
    artifacts,
    entities,
    projects,
    runs,
)

LATEST = "latest"
_INDEX = re.compile(r"v?([0-9]{1,9})")  # "v3" or "3"; longer numbers name no version


def _check_aliases(aliases: list[str]) -> list[str]:
    """The users' aliases among ``aliases`` (``latest`` left out), each once; 400 for a bad one."""
    for alias in aliases:
        problem = manifest.alias_problem(alias) if alias != LATEST else None
        if problem:
            raise BadRequest(problem)
    return list(dict.fromkeys(a for a in aliases if a != LATEST))


def _check_name(name: str) -> None:
    problem = manifest.name_problem(name, "name", 128)
    if problem:
        raise BadRequest(problem)


def _entries_of(request: ArtifactCreate) -> dict[str, dict[str, Any]]:
    """The manifest's entries, checked: valid, storable as rows, and with the request's digest."""
    body = request.manifest
    if body.get("version") != manifest.MANIFEST_VERSION:
        raise BadRequest(f"manifest version must be {manifest.MANIFEST_VERSION}, got {body.get('version')!r}")
    entries = body.get("entries")
    problem = manifest.entries_problem(entries)
    if problem:
        raise BadRequest(problem)
    assert isinstance(entries, dict)
    for path, entry in entries.items():
        if set(entry) - {"digest", "size", "ref"} or not isinstance(entry.get("ref", ""), str):
            raise BadRequest(f"manifest entry {path!r} may hold only digest, size and a string ref")
    if manifest.digest_of(entries) != request.digest:
        raise BadRequest(f"digest {request.digest!r} is not the manifest's ({manifest.digest_of(entries)})")
    return entries


def _check_blobs(conn: Connection, entries: dict[str, dict[str, Any]]) -> None:
    """Every stored (non-reference) entry's blob is here with its size: 400 naming the first that is not.
    The blobs' rows stay locked until the version is committed (gc waits)."""
    files = {path: e for path, e in entries.items() if "ref" not in e}
    found = artifact_blobs.sizes(conn, [e["digest"] for e in files.values()], lock=True)
    for path in sorted(files):
        digest, size = files[path]["digest"], files[path]["size"]
        if digest not in found:
            raise BadRequest(f"the blob of entry {path!r} ({digest}) is not uploaded")
        if found[digest] != size:
            raise BadRequest(f"entry {path!r} says {size} bytes, but its blob {digest} has {found[digest]}")


# -- finding and locking ----------------------------------------------------------------------


def _artifact(conn: Connection, ref: RunRef, name: str, lock: bool = False) -> Row[Any]:
    pid = project_id(conn, ref.entity_id, ref.project, create=False)
    query = select(artifacts).where(artifacts.c.project_id == pid, artifacts.c.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first() if pid is not None else None
    if row is None:
        raise NotFound(f"no artifact {name!r} in {ref.entity}/{ref.project}")
    return row


def _locked_artifact(conn: Connection, ref: RunRef, name: str, type: str, description: str | None) -> Row[Any]:
    """The artifact's row, created if new, locked until the transaction ends."""
    pid = project_id(conn, ref.entity_id, ref.project, create=True)
    query = select(artifacts).where(artifacts.c.project_id == pid, artifacts.c.name == name).with_for_update()
    row = conn.execute(query).first()
    if row is None:
        # Two first logs of one name: the insert that loses does nothing and waits for the winner's row.
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        now = time.time()
        conn.execute(dialect_insert(artifacts).values(project_id=pid, name=name, type=type, description=description,
                                                      next_index=0, created_at=now, updated_at=now)
                     .on_conflict_do_nothing())
        row = conn.execute(query).one()
    return row


def _resolve(conn: Connection, artifact: Row[Any], version: str) -> Row[Any]:
    """``v3``, ``3``, ``latest`` or an alias → the version's row; 404 if there is none."""
    query = select(artifact_versions).where(artifact_versions.c.artifact_id == artifact.id)
    number = _INDEX.fullmatch(version)
    if number:
        query = query.where(artifact_versions.c.index == int(number.group(1)))
    elif version == LATEST:
        query = query.order_by(artifact_versions.c.index.desc()).limit(1)
    else:
        query = query.join(artifact_aliases, artifact_aliases.c.version_id == artifact_versions.c.id).where(
            artifact_aliases.c.artifact_id == artifact.id, artifact_aliases.c.alias == version)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"artifact {artifact.name!r} has no version {version!r}")
    return row


def _latest_index(conn: Connection, artifact_id: int) -> int | None:
    return conn.execute(select(func.max(artifact_versions.c.index))
                        .where(artifact_versions.c.artifact_id == artifact_id)).scalar()


def _assign(conn: Connection, artifact_id: int, version_id: int, aliases: list[str]) -> None:
    """Give the version these aliases, each taken from the version of the artifact that had it."""
    for alias in aliases:
        conn.execute(delete(artifact_aliases).where(artifact_aliases.c.artifact_id == artifact_id,
                                                    artifact_aliases.c.alias == alias))
        conn.execute(insert(artifact_aliases).values(artifact_id=artifact_id, alias=alias, version_id=version_id))


def _touch(conn: Connection, artifact_id: int, **values: Any) -> None:
    conn.execute(update(artifacts).where(artifacts.c.id == artifact_id).values(updated_at=time.time(), **values))


# -- writing ------------------------------------------------------------------------------------


def create_version(conn: Connection, ref: RunRef, name: str, request: ArtifactCreate) -> tuple[ArtifactVersion, bool]:
    """The version of ``request.manifest`` (created if new: True); its aliases are added either way."""
    _check_name(name)
    problem = manifest.name_problem(request.type, "type", 64)
    if problem:
        raise BadRequest(problem)
    if len(ref.project) > projects.c.name.type.length:  # type: ignore[attr-defined]
        raise BadRequest(f"project name must be 1 to {projects.c.name.type.length} characters")  # type: ignore[attr-defined]
    aliases = _check_aliases(request.aliases)
    entries = _entries_of(request)
    run_pk = None
    if request.run_id is not None:
        run = find_run(conn, ref.entity_id, ref.project, request.run_id)
        if run is None:
            raise BadRequest(f"no run {request.run_id!r} in {ref.entity}/{ref.project} (the version's run_id)")
        run_pk = run.pk
    _check_blobs(conn, entries)
    artifact = _locked_artifact(conn, ref, name, request.type, request.description)
    if artifact.type != request.type:
        raise BadRequest(f"artifact {name!r} is of type {artifact.type!r}, not {request.type!r}")
    found = conn.execute(select(artifact_versions.c.id).where(
        artifact_versions.c.artifact_id == artifact.id, artifact_versions.c.digest == request.digest)).scalar()
    created = found is None
    if found is None:
        index = artifact.next_index  # the artifact's row is locked: no other create takes this number
        found = _new_id(conn.execute(insert(artifact_versions).values(
            artifact_id=artifact.id, index=index, digest=request.digest,
            description=request.description, metadata=json_safe(request.metadata),
            size=sum(e["size"] for e in entries.values()), file_count=len(entries), created_at=time.time(),
            logged_by_run_pk=run_pk)))
        if entries:
            conn.execute(insert(artifact_entries), [
                {"version_id": found, "path": path, "digest": e["digest"], "size": e["size"], "ref": e.get("ref")}
                for path, e in entries.items()])
        changes = {"description": request.description} if request.description is not None else {}
        _touch(conn, artifact.id, next_index=index + 1, **changes)
    if aliases:
        _assign(conn, artifact.id, found, aliases)
        _touch(conn, artifact.id)
    return describe(conn, [found], with_manifest=True)[0], created


def update_version(conn: Connection, ref: RunRef, name: str, version: str, change: ArtifactUpdate) -> ArtifactVersion:
    artifact = _artifact(conn, ref, name, lock=True)
    row = _resolve(conn, artifact, version)
    values: dict[str, Any] = {}
    if change.description is not None:
        values["description"] = change.description
    if change.metadata is not None:
        values["metadata"] = json_safe(change.metadata)
    if values:
        conn.execute(update(artifact_versions).where(artifact_versions.c.id == row.id).values(**values))
    if change.aliases is not None:
        if LATEST in change.aliases and row._mapping["index"] != _latest_index(conn, artifact.id):
            raise BadRequest(f"'latest' is the newest version's alias, set by the server; "
                             f"v{row._mapping['index']} is not the newest")
        aliases = _check_aliases(change.aliases)
        conn.execute(delete(artifact_aliases).where(artifact_aliases.c.version_id == row.id,
                                                    artifact_aliases.c.alias.not_in(aliases)))
        _assign(conn, artifact.id, row.id, aliases)
    _touch(conn, artifact.id)
    return describe(conn, [row.id], with_manifest=True)[0]


def delete_version(conn: Connection, ref: RunRef, name: str, version: str, delete_aliases: bool = False) -> None:
    """Delete a version (its entries, aliases and lineage go with it; blobs stay until gc).
    409 while users' aliases point at it, unless ``delete_aliases``."""
    artifact = _artifact(conn, ref, name, lock=True)
    row = _resolve(conn, artifact, version)
    aliases = sorted(conn.execute(select(artifact_aliases.c.alias)
                                  .where(artifact_aliases.c.version_id == row.id)).scalars())
    if aliases and not delete_aliases:
        raise Conflict(f"v{row._mapping['index']} of {name!r} has aliases {aliases}: move them first, "
                       "or delete with delete_aliases=true")
    conn.execute(delete(artifact_versions).where(artifact_versions.c.id == row.id))
    _touch(conn, artifact.id)


def record_uses(conn: Connection, ref: RunRef, run_pk: int, uses: list[dict[str, Any]], user: User | None) -> None:
    """Lineage from ``use`` records: the run used each version. A version that cannot be found, or that
    is in an entity the uploader (``user``; without one, the run's entity only) cannot read, is ignored:
    the records were accepted by the run log, so they must not fail a batch."""
    for use in uses:
        try:
            entity, project = str(use.get("entity") or ref.entity), str(use.get("project") or ref.project)
            if entity == ref.entity:
                entity_id: int | None = ref.entity_id
            else:
                found = entity_role(conn, user, entity) if user is not None else None
                entity_id = found[0] if found else None
            if entity_id is None:
                continue
            artifact = _artifact(conn, RunRef(entity_id, entity, project), str(use["name"]))
            if use.get("version") is not None:
                version_id = _resolve(conn, artifact, str(use["version"])).id
            else:  # the SDK knew the contents, not the number (offline, or a version it had not waited for)
                version_id = conn.execute(select(artifact_versions.c.id).where(
                    artifact_versions.c.artifact_id == artifact.id,
                    artifact_versions.c.digest == str(use["digest"]))).scalar_one()
        except (KeyError, NotFound, BadRequest, NoResultFound):
            continue
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(dialect_insert(artifact_usage).values(version_id=version_id, run_pk=run_pk)
                     .on_conflict_do_nothing())


# -- reading ------------------------------------------------------------------------------------


def list_artifacts(conn: Connection, ref: RunRef, type: str | None = None) -> list[ArtifactSummary]:
    pid = project_id(conn, ref.entity_id, ref.project, create=False)
    if pid is None:
        return []
    query = (
        select(artifacts.c.name, artifacts.c.type, artifacts.c.description, artifacts.c.updated_at,
               func.count(artifact_versions.c.id).label("versions"),
               func.max(artifact_versions.c.index).label("latest"))
        .select_from(artifacts.outerjoin(artifact_versions, artifact_versions.c.artifact_id == artifacts.c.id))
        .where(artifacts.c.project_id == pid)
        .group_by(artifacts.c.id, artifacts.c.name, artifacts.c.type, artifacts.c.description, artifacts.c.updated_at)
    )
    if type is not None:
        query = query.where(artifacts.c.type == type)
    return sorted((ArtifactSummary(name=r.name, type=r.type, description=r.description, versions=r.versions,
                                   latest=None if r.latest is None else f"v{r.latest}", updated_at=r.updated_at)
                   for r in conn.execute(query)), key=lambda a: a.name)  # by code point, not the collation


def list_versions(conn: Connection, ref: RunRef, name: str) -> list[ArtifactVersion]:
    """The artifact's versions, newest first, without manifests."""
    artifact = _artifact(conn, ref, name)
    ids = conn.execute(select(artifact_versions.c.id).where(artifact_versions.c.artifact_id == artifact.id)
                       .order_by(artifact_versions.c.index.desc())).scalars().all()
    return describe(conn, list(ids))


def get_version(conn: Connection, ref: RunRef, name: str, version: str) -> ArtifactVersion:
    return describe(conn, [_resolve(conn, _artifact(conn, ref, name), version).id], with_manifest=True)[0]


def entry(conn: Connection, ref: RunRef, name: str, version: str, path: str) -> Row[Any]:
    """One manifest entry (``digest``, ``size``, ``ref``) of a version; 404 if it has none at ``path``."""
    row = _resolve(conn, _artifact(conn, ref, name), version)
    found = conn.execute(select(artifact_entries).where(artifact_entries.c.version_id == row.id,
                                                        artifact_entries.c.path == path)).first()
    if found is None:
        raise NotFound(f"v{row._mapping['index']} of {name!r} has no file {path!r}")
    return found


def run_versions(conn: Connection, run_pk: int, direction: str) -> list[ArtifactVersion]:
    """The versions a run logged (``logged``) or used (``used``), oldest first."""
    if direction == "logged":
        query = select(artifact_versions.c.id).where(artifact_versions.c.logged_by_run_pk == run_pk)
    elif direction == "used":
        query = select(artifact_versions.c.id).join(
            artifact_usage, artifact_usage.c.version_id == artifact_versions.c.id).where(artifact_usage.c.run_pk == run_pk)
    else:
        raise BadRequest(f"direction must be 'logged' or 'used', got {direction!r}")
    return describe(conn, list(conn.execute(query.order_by(artifact_versions.c.created_at,
                                                           artifact_versions.c.id)).scalars()))


def _run_names(conn: Connection, pks: set[int]) -> dict[int, tuple[int, str]]:
    """run pk → (its project's id, its run id)."""
    found: dict[int, tuple[int, str]] = {}
    for part in artifact_blobs.chunks(sorted(pks)):
        found.update((r.pk, (r.project_id, r.run_id)) for r in conn.execute(
            select(runs.c.pk, runs.c.project_id, runs.c.run_id).where(runs.c.pk.in_(part))))
    return found


def _run_label(names: dict[int, tuple[int, str]], paths: dict[int, str], project: int, run_pk: int | None) -> str | None:
    """A run's id; ``entity/project/run_id`` when it is in another project than the artifact's."""
    if run_pk is None or run_pk not in names:
        return None
    run_project, run_id = names[run_pk]
    return run_id if run_project == project else f"{paths[run_project]}/{run_id}"


def describe(conn: Connection, version_ids: list[int], with_manifest: bool = False) -> list[ArtifactVersion]:
    """The versions, in the order given, as the API shows them."""
    if not version_ids:
        return []
    rows: list[Row[Any]] = []
    for part in artifact_blobs.chunks(version_ids):
        rows.extend(conn.execute(
            select(artifact_versions, artifacts.c.name, artifacts.c.type, artifacts.c.project_id,
                   projects.c.name.label("project"), entities.c.name.label("entity"))
            .join(artifacts, artifacts.c.id == artifact_versions.c.artifact_id)
            .join(projects, projects.c.id == artifacts.c.project_id)
            .join(entities, entities.c.id == projects.c.entity_id)
            .where(artifact_versions.c.id.in_(part))).all())
    by_id = {r.id: r for r in rows}
    latest = {artifact_id: index for artifact_id, index in conn.execute(
        select(artifact_versions.c.artifact_id, func.max(artifact_versions.c.index))
        .where(artifact_versions.c.artifact_id.in_({r.artifact_id for r in rows}))
        .group_by(artifact_versions.c.artifact_id))}
    aliases: dict[int, list[str]] = defaultdict(list)
    users: dict[int, list[int]] = defaultdict(list)
    for part in artifact_blobs.chunks(list(by_id)):
        for version_id, alias in conn.execute(select(artifact_aliases.c.version_id, artifact_aliases.c.alias)
                                              .where(artifact_aliases.c.version_id.in_(part))):
            aliases[version_id].append(alias)
        for version_id, run_pk in conn.execute(select(artifact_usage.c.version_id, artifact_usage.c.run_pk)
                                               .where(artifact_usage.c.version_id.in_(part))
                                               .order_by(artifact_usage.c.run_pk)):
            users[version_id].append(run_pk)
    run_pks = {r.logged_by_run_pk for r in rows if r.logged_by_run_pk is not None}
    names = _run_names(conn, run_pks | {pk for pks in users.values() for pk in pks})
    paths = _project_paths(conn, {project for project, _ in names.values()})
    described = []
    for version_id in version_ids:
        r = by_id[version_id]
        index = r._mapping["index"]
        described.append(ArtifactVersion(
            entity=r.entity, project=r.project, name=r.name, type=r.type, version=f"v{index}", index=index,
            digest=r.digest, description=r.description, metadata=r.metadata,
            aliases=([LATEST] if latest.get(r.artifact_id) == index else []) + sorted(aliases[version_id]),
            size=r.size, file_count=r.file_count, created_at=r.created_at,
            logged_by=_run_label(names, paths, r.project_id, r.logged_by_run_pk),
            used_by=[label for pk in users[version_id]
                     if (label := _run_label(names, paths, r.project_id, pk)) is not None],
            manifest=_manifest(conn, version_id) if with_manifest else None,
        ))
    return described


def _project_paths(conn: Connection, project_ids: set[int]) -> dict[int, str]:
    if not project_ids:
        return {}
    return {r.id: f"{r.entity}/{r.name}" for r in conn.execute(
        select(projects.c.id, projects.c.name, entities.c.name.label("entity"))
        .join(entities, entities.c.id == projects.c.entity_id).where(projects.c.id.in_(project_ids)))}


def _manifest(conn: Connection, version_id: int) -> dict[str, Any]:
    entries: dict[str, dict[str, Any]] = {}
    for r in conn.execute(select(artifact_entries).where(artifact_entries.c.version_id == version_id)):
        entries[r.path] = {"digest": r.digest, "size": r.size} | ({"ref": r.ref} if r.ref is not None else {})
    return manifest.manifest_of(dict(sorted(entries.items())))

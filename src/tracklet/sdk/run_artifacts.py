"""``run.log_artifact`` and ``run.use_artifact``: offline first (docs/artifacts.md).

Logging stages the artifact in the run directory on the run's artifact thread and appends an
``artifact`` record; the agent uploads it. Using asks the server for the version (online), or
finds it among the runs of the same ``tracklet/`` folder (offline), and records a ``use``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracklet.artifacts.artifact import Artifact
from tracklet.artifacts.manifest import alias_problem, name_problem
from tracklet.errors import AuthenticationError, CommError, Error, UsageError
from tracklet.runlog import RecordType

if TYPE_CHECKING:
    from tracklet.sdk.local import LocalRun
    from tracklet.sdk.run import Run

_VERSION = re.compile(r"v\d+")


def log_artifact(run: Run, artifact_or_path: Any, name: str | None, type: str | None,
                 aliases: Any) -> Artifact:
    artifact = _as_artifact(run, artifact_or_path, name, type)
    _log(run, artifact, _aliases(aliases, "log_artifact: aliases"), as_input=False)
    return artifact


def _log(run: Run, artifact: Artifact, aliases: list[str], as_input: bool) -> None:
    from tracklet.artifacts.artifact import checked_metadata

    # What the record says is fixed now: later changes to the artifact object change nothing.
    fields: dict[str, Any] = {"name": artifact.name, "type": artifact.type, "description": artifact.description,
                              "metadata": checked_metadata(artifact.metadata), "aliases": aliases}
    if as_input:
        fields["input"] = True
    artifact._start_logging(aliases, run._settings.root_dir, _server(run), run.entity or None, run.project)
    # What _stage needs is imported here: when the exit hook finishes the run, the artifact thread
    # runs after threading's shutdown, where importing concurrent.futures (by download) fails.
    import tracklet.artifacts.download
    import tracklet.artifacts.staging  # noqa: F401

    step = run._state.step  # a full disk while staging loses data from the step it was logged at
    run._artifacts.submit(lambda: _stage(run, artifact, fields, step))


def _stage(run: Run, artifact: Artifact, fields: dict[str, Any], step: int) -> None:
    """On the artifact thread: hash and copy into the staging folder, write the manifest, append the record."""
    from tracklet.artifacts import staging
    from tracklet.artifacts.download import LocalSource

    try:  # a disabled run, or a forked child, keeps no files: the artifact is only hashed
        blobs = staging.blobs_dir_of(run._run_dir) if run._writer is not None and run._run_dir else None
        entries = staging.stage(artifact._pending.values(), blobs, run._printer.warn, run._staged_files)
        if blobs is None or run._run_dir is None:
            artifact._logged(entries, None, None)
            return
        digest, manifest = staging.write_manifest(run._run_dir, entries)
        run._emit(RecordType.ARTIFACT, {"action": "log", **fields, "digest": digest, "manifest": manifest})
    except Exception as exc:  # a file deleted since it was added, a full disk: say what was not logged
        # a full disk stops the run's recording, with its one warning and a ``loss`` record
        if not (isinstance(exc, OSError) and run._disk_failed(exc, f"the artifact {artifact.name!r} (step {step})", step)):
            run._printer.warn(f"artifact {artifact.name!r} was not logged: {exc}")
        artifact._logged(None, None, exc)
        return
    artifact._logged(entries, LocalSource(blobs), None)


def use_artifact(run: Run, name_or_artifact: Any, type: str | None, aliases: Any) -> Artifact:
    wanted = _aliases(aliases, "use_artifact: aliases")
    if type is not None:
        _check(name_problem(type, "type", 64), "use_artifact: type")
    if isinstance(name_or_artifact, Artifact):
        artifact = name_or_artifact
        _check_type(artifact, type)
        if artifact._state == "new":  # as the original: stored as this run's input, not its output
            _log(run, artifact, wanted, as_input=True)
        elif wanted:
            raise UsageError("use_artifact: aliases= is for an artifact given by name or a new Artifact; a logged "
                             "Artifact's aliases are given to log_artifact")
        _record_use_of(run, artifact)
        return artifact
    from tracklet.artifacts.lookup import parse_name

    entity, project, name, version = parse_name(name_or_artifact, "use_artifact: name")
    server = _server(run)
    if server is None:
        if wanted:
            raise UsageError("use_artifact: aliases= needs the server; this run is offline")
        if (entity and entity != run.entity) or (project and project != run.project):
            raise UsageError(f"use_artifact: {name_or_artifact!r}: offline runs can only use artifacts of their "
                             f"own project ({run.project}) logged by runs of the same folder")
        artifact = _use_local(run, name, version)
    else:
        artifact = _use_server(run, server, entity, project or run.project, name, version, wanted)
    _check_type(artifact, type)
    _record_use_of(run, artifact)
    return artifact


def _use_server(run: Run, server: tuple[str, str | None], entity: str | None, project: str, name: str,
                version: str, aliases: list[str]) -> Artifact:
    from tracklet.artifacts import lookup

    try:
        entity = entity or run.entity or lookup.default_entity(server)
        info = lookup.fetch_version(server, entity, project, name, version)
        if aliases:
            info = {**lookup.add_aliases(server, info, aliases), "manifest": info["manifest"]}
    except CommError as exc:
        message = f"use_artifact({name}:{version}): {exc}"
        raise (AuthenticationError(message) if isinstance(exc, AuthenticationError) else CommError(message, exc)) from None
    return Artifact._from_version(info, server, run._settings.root_dir)


def _use_local(run: Run, name: str, version: str) -> Artifact:
    from tracklet.artifacts import staging

    body, found = find_local(run._settings.tracklet_dir, run.project, name, version)
    try:
        entries = staging.read_manifest(found.dir / body["manifest"])
    except (OSError, ValueError, KeyError) as exc:
        raise Error(f"use_artifact: the manifest of {name}:{version} in {found.dir} cannot be read: {exc}") from None
    return Artifact._from_local(body, entries, staging.blobs_dir_of(found.dir), run._settings.root_dir,
                                found.state.entity or None, found.state.project)


def find_local(tracklet_dir: Path, project: str, name: str, version: str) -> tuple[dict[str, Any], LocalRun]:
    """The ``artifact`` log record and run of the local version ``name:version``: ``latest`` is the
    last one logged by the runs of ``project`` in ``tracklet_dir``, an alias the last one logged with it."""
    from tracklet.sdk import local

    if _VERSION.fullmatch(version) or version.isdigit():
        raise UsageError(f"use_artifact: {name}:{version}: version numbers are given by the server; offline, use "
                         f"'{name}:latest' or an alias of a version logged by a run of {tracklet_dir}")
    found: tuple[dict[str, Any], LocalRun] | None = None
    for run in local.list_runs(tracklet_dir):  # oldest first: the last match is the latest
        if run.state.project != project:
            continue
        for record in local.read_records(run.log_path):
            body = record.body
            if record.type is RecordType.ARTIFACT and body.get("action") == "log" and body.get("name") == name \
                    and (version == "latest" or version in (body.get("aliases") or [])):
                found = (body, run)
    if found is None:
        raise Error(f"use_artifact: no run of project {project!r} in {tracklet_dir} logged artifact {name}:{version} "
                    "(offline runs can use the artifacts that runs of the same folder logged)")
    return found


def _record_use_of(run: Run, artifact: Artifact) -> None:
    def record() -> None:
        if artifact._error is not None:
            return  # it was never logged: nothing to use
        body: dict[str, Any] = {"action": "use", "entity": artifact.entity, "project": artifact.project,
                                "name": artifact.name, "digest": artifact.digest}
        if artifact.version is not None:
            body["version"] = int(artifact.version.removeprefix("v"))
        run._emit(RecordType.ARTIFACT, body)

    if artifact._state == "used":
        record()
    else:
        run._artifacts.submit(record)  # after the artifact itself is staged and logged


def _as_artifact(run: Run, value: Any, name: str | None, type: str | None) -> Artifact:
    if isinstance(value, Artifact):
        for argument, given, own in (("name", name, value.name), ("type", type, value.type)):
            if given is not None and given != own:
                raise UsageError(f"log_artifact: {argument}={given!r} differs from the Artifact's {own!r} "
                                 f"({argument}= is for logging a path)")
        return value
    if not isinstance(value, (str, os.PathLike)):
        raise UsageError("log_artifact: artifact_or_path must be a tracklet.Artifact, a path or a URI, "
                         f"got {value.__class__.__name__}")
    text = os.fspath(value)
    if "://" in text:
        from tracklet.artifacts.references import default_name

        artifact = Artifact(name or f"run-{run.id}-{default_name(text)}", type or "unspecified")
        artifact.add_reference(text)
    elif os.path.isdir(text):
        artifact = Artifact(name or f"run-{run.id}-{os.path.basename(os.path.abspath(text))}", type or "unspecified")
        artifact.add_dir(text)
    elif os.path.isfile(text):
        artifact = Artifact(name or f"run-{run.id}-{os.path.basename(text)}", type or "unspecified")
        artifact.add_file(text)
    else:
        raise UsageError(f"log_artifact: {text!r} is not a file, a folder or a URI")
    return artifact


def _aliases(value: Any, argument: str) -> list[str]:
    if value is None:
        return []
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, (list, tuple)):
        raise UsageError(f"{argument} must be a list of strings, got {type(value).__name__}")
    aliases: list[str] = []
    for alias in listed:
        if alias == "latest":
            continue  # the server's: always the newest version
        _check(alias_problem(alias), argument)
        if alias not in aliases:
            aliases.append(alias)
    return aliases


def _check_type(artifact: Artifact, type: str | None) -> None:
    if type is not None and artifact.type != type:
        raise UsageError(f"use_artifact: artifact {artifact.name!r} has type {artifact.type!r}, not {type!r}")


def _check(problem: str | None, argument: str) -> None:
    if problem is not None:
        raise UsageError(f"{argument}: {problem}")


def _server(run: Run) -> tuple[str, str | None] | None:
    s = run._settings
    return (s.base_url, s.api_key) if s.mode == "online" and s.base_url else None

"""``tracklet.Artifact``: a named, typed, versioned set of files (docs/artifacts.md).

An artifact is built with ``add_file``/``add_dir``/``add_reference``/``new_file``/``add`` (each checks
its arguments at once and reads nothing yet), then logged with ``run.log_artifact``: the run's
artifact thread hashes and stages it. An artifact from ``run.use_artifact`` is read-only and
knows where to fetch its files from.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, ContextManager

from tracklet.artifacts import references
from tracklet.artifacts.manifest import alias_problem, digest_of, entry_path_problem, manifest_of, name_problem
from tracklet.artifacts.staging import Pending, stage
from tracklet.errors import CommError, Error, UsageError

MAX_NAME = 128
MAX_TYPE = 64
WAIT_POLL_SECONDS = 0.25


class Artifact:
    """A versioned set of files: a dataset, a model, evaluation results.

    ```python
    data = tracklet.Artifact("mnist", type="dataset", metadata={"rows": 70_000})
    data.add_dir("data/")
    run.log_artifact(data, aliases=["best"])
    ```

    Args:
        name: 1 to 128 letters, digits, ``-``, ``_`` or ``.``; versions of one name form one artifact.
        type: the kind of artifact (``"dataset"``, ``"model"``...), 1 to 64 such characters.
        description: free text shown with the artifact.
        metadata: a dict of JSON values (numbers, strings, lists, dicts...).
    """

    def __init__(self, name: str, type: str, description: str | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        _check(name_problem(name, "name", MAX_NAME))
        _check(name_problem(type, "type", MAX_TYPE))
        self._name = name
        self._type = type
        self._description = _description(description)
        self._metadata = checked_metadata(metadata)
        self._pending: dict[str, Pending] = {}
        self._entries: dict[str, dict[str, Any]] | None = None  # the manifest entries, once known
        self._state = "new"  # new → staging → logged; or "used" (read from a server or a local run)
        self._staged = threading.Event()
        self._error: BaseException | None = None
        self._version: str | None = None
        self._aliases: list[str] = []
        self._entity: str | None = None
        self._project: str | None = None
        self._source: Any = None  # download.Source
        self._root_dir: str | None = None  # the run's init(dir=), for the default download folder
        self._server: tuple[str, str | None] | None = None  # (base_url, api_key) of an online run
        self._info: dict[str, Any] = {}  # the server's ArtifactVersion
        self._temporary: Path | None = None
        self._cleanup: Any = None

    # -- read-only copies from a server or a local run ------------------------------------------

    @classmethod
    def _from_version(cls, info: dict[str, Any], server: tuple[str, str | None], root_dir: str | None) -> Artifact:
        """A version the server described (an ``ArtifactVersion`` with its manifest)."""
        from tracklet.artifacts.download import ServerSource
        from urllib.parse import quote

        artifact = cls._used(info["name"], info["type"], info.get("description"), info.get("metadata"),
                             info["manifest"]["entries"], root_dir)
        artifact._version, artifact._aliases = info["version"], list(info.get("aliases", []))
        artifact._entity, artifact._project = info["entity"], info["project"]
        artifact._server, artifact._info = server, info
        path = "/".join(quote(p, safe="") for p in (info["entity"], info["project"], info["name"], info["version"]))
        artifact._source = ServerSource(server[0], server[1], f"/artifacts/{path}")
        return artifact

    @classmethod
    def _from_local(cls, body: dict[str, Any], entries: dict[str, dict[str, Any]], blobs_dir: Path,
                    root_dir: str | None, entity: str | None, project: str | None) -> Artifact:
        """A version logged by a run of this machine (its ``artifact`` record), read from its staging folder."""
        from tracklet.artifacts.download import LocalSource

        artifact = cls._used(body["name"], body["type"], body.get("description"), body.get("metadata"), entries,
                             root_dir)
        artifact._aliases = list(body.get("aliases") or [])
        artifact._entity, artifact._project = entity, project
        artifact._source = LocalSource(blobs_dir)
        return artifact

    @classmethod
    def _used(cls, name: str, type: str, description: str | None, metadata: dict[str, Any] | None,
              entries: dict[str, dict[str, Any]], root_dir: str | None) -> Artifact:
        artifact = cls(name, type)
        artifact._description, artifact._metadata = description, dict(metadata or {})
        artifact._entries, artifact._state, artifact._root_dir = dict(entries), "used", root_dir
        artifact._staged.set()
        return artifact

    # -- building -------------------------------------------------------------------------------

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None, policy: str = "mutable",
                 overwrite: bool = False) -> None:
        """Add one file.

        Args:
            local_path: the file to add; it is read when the artifact is logged.
            name: its path in the artifact (default: the file's name), e.g. ``"docs/README.md"``.
            policy: ``"mutable"`` or ``"immutable"``, as in the original; either way the file is
                copied into the run directory when logged, so later changes to it do not change the version.
            overwrite: replace an entry of the same name instead of raising.
        """
        self._editable("add_file")
        if policy not in ("mutable", "immutable"):
            raise UsageError(f"add_file: policy must be 'mutable' or 'immutable', got {policy!r}")
        path = _existing(local_path, "add_file: local_path", want_dir=False)
        entry = _entry_name(path.name if name is None else name, "add_file: name")
        self._add({entry: Pending(entry, source=path)}, "add_file", overwrite)

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None) -> None:
        """Add every file below a folder, under ``name/`` (default: at the artifact's root).

        Args:
            local_path: the folder; its files are read when the artifact is logged.
            name: the folder's path in the artifact.
        """
        self._editable("add_dir")
        folder = _existing(local_path, "add_dir: local_path", want_dir=True)
        prefix = "" if name is None else _entry_name(name, "add_dir: name") + "/"
        added: dict[str, Pending] = {}
        for top, dirs, files in os.walk(folder):
            dirs.sort()
            for file in sorted(files):
                source = Path(top) / file
                if not source.is_file():
                    continue  # a dangling link, a socket
                entry = _entry_name(prefix + source.relative_to(folder).as_posix(), "add_dir: a file's name")
                added[entry] = Pending(entry, source=source)
        self._add(added, "add_dir", False)

    def add_reference(self, uri: str, name: str | None = None) -> None:
        """Add a reference: data kept elsewhere, recorded as its URI and a checksum, never copied.

        ``file://`` references are checksummed with SHA-256 (a folder adds each file below it);
        ``s3://`` with the object's ETag when boto3 is installed; ``http(s)://`` with the ETag of a
        ``HEAD`` answer. Otherwise the digest is the SHA-256 of the URI (an unchecked reference).

        Args:
            uri: ``file://``, ``s3://``, ``http://`` or ``https://``.
            name: its path in the artifact (default: the URI's last part).
        """
        self._editable("add_reference")
        scheme = references.check_uri(uri)
        entry = _entry_name(references.default_name(uri) if name is None else name, "add_reference: name")
        added = {entry: Pending(entry, ref=uri)}
        if scheme == "file":
            target = references.local_path(uri)
            if target.is_dir():
                added = {}
                for source in sorted(p for p in target.rglob("*") if p.is_file()):
                    child = _entry_name(f"{entry}/{source.relative_to(target).as_posix()}", "add_reference: name")
                    added[child] = Pending(child, ref=source.as_uri())
            elif not target.is_file():
                raise UsageError(f"add_reference: {uri!r} names no file ({target} does not exist)")
        self._add(added, "add_reference", False)

    def new_file(self, name: str, mode: str = "w", encoding: str | None = None) -> ContextManager[IO[Any]]:
        """Write a file straight into the artifact: ``with artifact.new_file("labels.txt") as f: f.write(...)``.

        Args:
            name: its path in the artifact.
            mode: ``"w"`` (text, UTF-8 unless ``encoding``) or ``"wb"``.
            encoding: the text encoding.
        """
        self._editable("new_file")
        entry = _entry_name(name, "new_file: name")
        if mode not in ("w", "wb", "x", "xb"):
            raise UsageError(f"new_file: mode must be 'w' or 'wb', got {mode!r}")
        if entry in self._pending:
            raise UsageError(f"new_file: the artifact already has an entry {entry!r}")
        return self._new_file(entry, mode, encoding)  # the checks above run at the call, not at `with`

    @contextlib.contextmanager
    def _new_file(self, entry: str, mode: str, encoding: str | None) -> Iterator[IO[Any]]:
        target = self._temporary_dir().joinpath(*entry.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        text = "b" not in mode
        with open(target, mode.replace("x", "w"), encoding=(encoding or "utf-8") if text else None) as f:
            yield f
        self._add({entry: Pending(entry, source=target)}, "new_file", False)

    def add(self, obj: Any, name: str) -> None:
        """Add a media value (``Table``, ``Image``, ``Audio``, ``Video``, ``Html``, ``Histogram``).

        It is stored as ``<name>.<type>.json``: for a table, the table itself (``preds.table.json``);
        otherwise the value's reference, whose file is stored at its ``media/...`` path.

        Args:
            obj: the media value.
            name: its path in the artifact, without the ``.<type>.json`` ending.
        """
        from tracklet.media.base import Media

        self._editable("add")
        if not isinstance(obj, Media):
            raise UsageError(f"add: obj must be a tracklet media value (Table, Image, ...), got {type(obj).__name__}")
        base = _entry_name(name, "add: name")
        collected = _Collected()
        reference = obj.to_reference(collected)
        kind = str(reference["_type"]).removesuffix("-file")
        entry = _entry_name(f"{base}.{kind}.json", "add: name")
        files = dict(collected.files)
        if kind == "table":
            added = {entry: Pending(entry, produce=files.pop(reference["path"]))}
        else:
            import msgspec

            encoded = msgspec.json.encode(reference)
            added = {entry: Pending(entry, produce=lambda: encoded)}
        for path, produce in files.items():  # content-addressed: the same path is the same bytes
            if path not in self._pending:
                added[path] = Pending(_entry_name(path, "add: a media file"), produce=produce)
        self._add(added, "add", False)

    def _add(self, added: dict[str, Pending], call: str, overwrite: bool) -> None:
        clashes = [] if overwrite else [n for n in added if n in self._pending]
        if clashes:
            raise UsageError(f"{call}: the artifact already has an entry {clashes[0]!r}"
                             + (" (pass overwrite=True to replace it)" if call == "add_file" else ""))
        self._pending.update(added)

    def _editable(self, call: str) -> None:
        if self._state != "new":
            done = "was read from a run" if self._state == "used" else "has been logged"
            raise UsageError(f"{call}: artifact {self._name!r} {done} and cannot change; make a new tracklet.Artifact")

    def _details_editable(self, call: str) -> None:
        """Description, metadata and aliases change before logging, or on a server's version (then :meth:`save`)."""
        if self._state != "new" and (self._server is None or self._version is None):
            raise UsageError(f"{call}: artifact {self._name!r} can change only before it is logged, or as a "
                             "version read from a server (then call save())")

    def _temporary_dir(self) -> Path:
        if self._temporary is None:
            self._temporary = Path(tempfile.mkdtemp(prefix="tracklet-artifact-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._temporary), True)
        return self._temporary

    # -- logging (called by the run) --------------------------------------------------------------

    def _start_logging(self, aliases: list[str], root_dir: str | None, server: tuple[str, str | None] | None,
                       entity: str | None, project: str | None) -> None:
        self._editable("log_artifact")
        self._state, self._aliases, self._root_dir = "staging", list(aliases), root_dir
        self._server, self._entity, self._project = server, entity, project
        if self._cleanup is not None:
            # The run stages new_file's folder, at exit too, and then removes it (_logged). The finalizer's
            # own exit hook may run before the run's (atexit runs last-registered first) and would delete
            # the files before they are staged.
            self._cleanup.atexit = False

    def _logged(self, entries: dict[str, dict[str, Any]] | None, source: Any, error: BaseException | None) -> None:
        """The artifact thread has staged it (or failed to: ``error``)."""
        self._entries, self._source, self._error = entries, source, error
        self._state = "logged"
        self._staged.set()
        if self._cleanup is not None:
            self._cleanup()  # new_file's temporary folder: staged, so no longer needed

    # -- what it holds ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._details_editable("description")
        self._description = _description(value)

    @property
    def metadata(self) -> dict[str, Any]:
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._details_editable("metadata")
        self._metadata = checked_metadata(value)

    @property
    def version(self) -> str | None:
        """``"v3"``: known once the artifact was used, or after :meth:`wait` for a logged one."""
        return self._version

    @property
    def aliases(self) -> list[str]:
        """The version's aliases (``latest`` on the newest). Of a version read from a server, the
        list may be changed (``artifact.aliases.append("prod")``) and then saved with :meth:`save`."""
        return self._aliases

    @aliases.setter
    def aliases(self, value: list[str]) -> None:
        self._details_editable("aliases")
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise UsageError(f"aliases must be a list of strings, got {type(value).__name__}")
        self._aliases = list(value)

    @property
    def entity(self) -> str | None:
        return self._entity

    @property
    def project(self) -> str | None:
        return self._project

    @property
    def manifest(self) -> dict[str, Any]:
        """``{"version": 1, "entries": {path: {"digest", "size", "ref"?}}}``."""
        return manifest_of({path: dict(entry) for path, entry in self._manifest_entries().items()})

    @property
    def digest(self) -> str:
        """The manifest digest: the same contents always have the same digest."""
        return digest_of(self._manifest_entries())

    @property
    def size(self) -> int:
        """Bytes of every entry, references included."""
        return sum(entry["size"] for entry in self._manifest_entries().values())

    def _manifest_entries(self) -> dict[str, dict[str, Any]]:
        if self._state == "new":
            return stage(self._pending.values(), None, lambda _: None)  # hashed now: nothing is logged yet
        self._staged.wait()
        if self._error is not None:
            raise Error(f"artifact {self._name!r} could not be logged: {self._error}")
        assert self._entries is not None
        return self._entries

    def get_entry(self, name: str) -> ArtifactEntry:
        """The manifest entry ``name`` (its ``path``, ``digest``, ``size``, ``ref``)."""
        entries = self._manifest_entries()
        if name not in entries:
            raise UsageError(f"get_entry: artifact {self._label()} has no entry {name!r}")
        return ArtifactEntry(self, name, entries[name])

    # -- fetching -------------------------------------------------------------------------------------

    def _default_root(self) -> Path:
        label = self._version or self.digest[:12]  # offline versions have no number yet
        return Path(os.path.abspath(self._root_dir or os.getcwd())) / "artifacts" / f"{self._name}:{label}"

    def _root(self, root: str | os.PathLike[str] | None, call: str) -> Path:
        if root is None:
            return self._default_root()
        if not isinstance(root, (str, os.PathLike)):
            raise UsageError(f"{call}: root must be a folder path, got {type(root).__name__}")
        return Path(os.path.abspath(root))

    def _fetchable(self, call: str) -> Any:
        if self._state == "new":
            raise UsageError(f"{call}: artifact {self._name!r} is not logged; log it or use a logged version")
        self._manifest_entries()
        if self._source is None:
            raise Error(f"{call}: artifact {self._label()} has nowhere to fetch its files from")
        return self._source

    def download(self, root: str | os.PathLike[str] | None = None) -> str:
        """Fetch every file into ``root`` and check each against the manifest; the folder's path.

        Files already there with the right digest are kept; an interrupted download is continued.

        Args:
            root: the folder (default: ``<dir>/artifacts/<name>:<version>/``, ``<dir>`` being the
                run's ``init(dir=)`` or the working directory).
        """
        from tracklet.artifacts.download import download_all

        source = self._fetchable("download")
        return str(download_all(self._manifest_entries(), self._root(root, "download"), source, self._label()))

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """Download a single-file artifact; the file's path."""
        entries = self._manifest_entries()
        if len(entries) != 1:
            raise UsageError(f"file: artifact {self._label()} has {len(entries)} entries; file() is for "
                             "an artifact of one file (use download() or get_entry(name).download())")
        return self.get_entry(next(iter(entries))).download(root)

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """Raise :class:`tracklet.errors.Error` naming the first file in ``root`` that is missing, is not
        in the manifest, or whose size or digest differs from it (``root`` as in :meth:`download`)."""
        from tracklet.artifacts.download import verify

        verify(self._manifest_entries(), self._root(root, "verify"), self._label())

    def wait(self, timeout: float | None = None) -> Artifact:
        """After ``log_artifact`` in an online run: return once the server has the version (``version``
        is then set).

        Args:
            timeout: seconds to wait at most (default: no limit).

        Raises:
            Error: the run is offline (``tracklet sync`` creates the version), or the time ran out.
        """
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or timeout < 0):
            raise UsageError(f"wait: timeout must be a number of seconds, got {timeout!r}")
        if self._state == "new":
            raise UsageError(f"wait: artifact {self._name!r} is not logged; call run.log_artifact first")
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._staged.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
            raise Error(f"wait: artifact {self._name!r} was still being staged after {timeout} s")
        digest = self.digest
        if self._version is not None:
            return self
        if self._server is None or not self._project:
            raise Error(f"wait: artifact {self._name!r} was logged by an offline run; the server creates its "
                        "version when `tracklet sync` uploads the run")
        from tracklet.artifacts.lookup import default_entity, find_version

        self._entity = self._entity or default_entity(self._server)
        from tracklet.api.transport import retryable

        while True:
            try:
                info = find_version(self._server, self._entity, self._project, self._name, digest)
            except CommError as exc:
                if not retryable(exc):
                    raise
                info = None  # the server is away for a moment: keep waiting
            if info is not None:
                self._version, self._aliases, self._info = info["version"], list(info["aliases"]), info
                return self
            if deadline is not None and time.monotonic() > deadline:
                raise Error(f"wait: the server did not have artifact {self._name!r} ({digest[:12]}) after {timeout} s")
            time.sleep(WAIT_POLL_SECONDS)

    def save(self) -> None:
        """Save the changes made to ``aliases``, ``description`` and ``metadata`` of a version on a server.

        An alias moves from the version that had it; ``latest`` is the server's and is left out.
        """
        info = self._server_version("save")
        aliases = [alias for alias in self._aliases if alias != "latest"]
        for alias in aliases:
            problem = alias_problem(alias)
            if problem:
                raise UsageError(f"save: aliases: {problem}")
        from tracklet.api.artifacts import save

        assert self._server is not None
        saved = save(self._server, info, {"aliases": aliases, "description": self._description,
                                          "metadata": checked_metadata(self._metadata)})
        self._info = {**saved, "manifest": info.get("manifest")}
        self._aliases, self._description, self._metadata = list(saved["aliases"]), saved["description"], \
            dict(saved["metadata"])

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version from the server (its files stay until the server's garbage collection).

        Args:
            delete_aliases: also when aliases other than ``latest`` point at it (else the server refuses: 409).
        """
        info = self._server_version("delete")
        if not isinstance(delete_aliases, bool):
            raise UsageError(f"delete: delete_aliases must be True or False, got {delete_aliases!r}")
        from tracklet.api.artifacts import delete

        assert self._server is not None
        delete(self._server, info, delete_aliases)

    def _server_version(self, call: str) -> dict[str, Any]:
        if self._server is None or self._version is None:
            raise UsageError(f"{call}: artifact {self._label()} is not a version on a server (after log_artifact, "
                             "call wait() first)")
        if not self._info:
            from tracklet.artifacts.lookup import fetch_version

            self._info = fetch_version(self._server, str(self._entity), str(self._project), self._name, self._version)
        return self._info

    def logged_by(self) -> Any:
        """The run that logged this version (a ``tracklet.Api`` run), or None."""
        runs = self._runs("logged_by")
        return runs[0] if runs else None

    def used_by(self) -> list[Any]:
        """The runs that used this version (``tracklet.Api`` runs)."""
        return self._runs("used_by")

    def _runs(self, field: str) -> list[Any]:
        if self._server is None or self._version is None:
            raise UsageError(f"{field}: artifact {self._label()} is not known to a server (after log_artifact, "
                             "call wait() first)")
        from tracklet.api import Api
        from tracklet.artifacts.lookup import fetch_version

        info = fetch_version(self._server, str(self._entity), str(self._project), self._name, self._version)
        found = info[field] if field == "used_by" else [info[field]] if info[field] else []
        with Api(base_url=self._server[0], api_key=self._server[1]) as api:
            return [api.run(run if run.count("/") == 2 else f"{self._entity}/{self._project}/{run}") for run in found]

    def _label(self) -> str:
        return f"{self._name}:{self._version}" if self._version else self._name

    def __repr__(self) -> str:
        return f"<Artifact {self._label()} ({self._type})>"


class ArtifactEntry:
    """One file of an artifact's manifest: ``path``, ``digest``, ``size``, and ``ref`` for a reference."""

    def __init__(self, artifact: Artifact, path: str, entry: dict[str, Any]) -> None:
        self._artifact = artifact
        self.path: str = path
        self.digest: str = entry["digest"]
        self.size: int = entry["size"]
        self.ref: str | None = entry.get("ref")

    def download(self, root: str | os.PathLike[str] | None = None) -> str:
        """Fetch this file into ``root`` (as in :meth:`Artifact.download`); the file's path."""
        from tracklet.artifacts.download import done, download_one

        artifact = self._artifact
        source = artifact._fetchable("download")
        entry = artifact._manifest_entries()[self.path]
        target_root = artifact._root(root, "download")
        try:
            return str(download_one(self.path, entry, target_root, source, artifact._label()))
        finally:
            done(source)

    def __repr__(self) -> str:
        return f"<ArtifactEntry {self.path} ({self.size} bytes)>"


class _Collected:
    """A MediaFiles that keeps what a media value would write, for ``Artifact.add``."""

    def __init__(self) -> None:
        self.files: dict[str, Any] = {}

    def add(self, path: str, produce: Any, size_hint: int) -> None:
        self.files.setdefault(path, produce)


def _check(problem: str | None) -> None:
    if problem is not None:
        raise UsageError(problem)


def _entry_name(name: Any, argument: str) -> str:
    problem = entry_path_problem(name)
    if problem is not None:
        raise UsageError(f"{argument}: {problem}")
    return name


def _existing(path: Any, argument: str, want_dir: bool) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"{argument} must be a path, got {type(path).__name__}")
    found = Path(os.path.abspath(path))
    if want_dir and not found.is_dir():
        raise UsageError(f"{argument}: {os.fspath(path)!r} is not a folder")
    if not want_dir and not found.is_file():
        raise UsageError(f"{argument}: {os.fspath(path)!r} is not a file")
    return found


def _description(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UsageError(f"Artifact: description must be a string, got {type(value).__name__}")
    return value


def checked_metadata(value: Any) -> dict[str, Any]:
    import json

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"Artifact: metadata must be a dict, got {type(value).__name__}")
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"Artifact: metadata must hold JSON values (finite numbers, strings, lists, "
                         f"dicts with string keys): {exc}") from None

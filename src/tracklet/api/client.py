"""``tracklet.Api``: read and edit what a Tracklet server holds, as the original's public API does.

```python
api = tracklet.Api()
for run in api.runs("alice/mnist", filters={"config.lr": {"$lt": 0.01}}, order="+summary.loss"):
    print(run.name, run.summary["loss"])
rows = api.run("alice/mnist/3k2j9x1a").history(keys=["loss"])
```

A thin client of the HTTP API (``/api/v1``) that the web UI uses; the filter syntax is
documented in ``docs/api.md`` and evaluated by the server (``server/store/filters.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import quote

import msgspec

from tracklet import settings
from tracklet.api.transport import ServerError, Transport
from tracklet.errors import UsageError
from tracklet.protocol import from_json_safe
from tracklet.runlog.metrics import join_path

if TYPE_CHECKING:
    from tracklet.api.artifacts import ArtifactCollection
    from tracklet.artifacts.artifact import Artifact

__all__ = ["Api", "File", "Project", "Run", "Runs"]

MAX_PER_PAGE = 10_000


class Api:
    """A connection to a Tracklet server.

    Args:
        base_url: the server's URL; default: ``TRACKLET_BASE_URL``, else what ``tracklet login`` stored.
        api_key: default: ``TRACKLET_API_KEY``, else what ``tracklet login`` stored.
        timeout: seconds to wait for each answer.
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None, timeout: float = 30) -> None:
        stored_url, stored_key = settings.client_login()
        url, key = base_url or stored_url, api_key or stored_key
        if not url or not key:
            raise UsageError(
                "tracklet.Api: not logged in to a Tracklet server; run `tracklet login --host URL`, set "
                "TRACKLET_BASE_URL and TRACKLET_API_KEY, or pass Api(base_url=..., api_key=...)"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise UsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.base_url = url.rstrip("/")
        self._transport = Transport(self.base_url, key, timeout=float(timeout))
        self._default_entity: str | None = None

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def default_entity(self) -> str:
        """The caller's own entity (a user name), used when a path leaves the entity out."""
        if self._default_entity is None:
            self._default_entity = self._call("GET", "/viewer")["default_entity"]
        return self._default_entity

    def projects(self, entity: str | None = None) -> list[Project]:
        """The projects of ``entity`` (default: your own), by name."""
        name = self.default_entity if entity is None else _text(entity, "entity")
        return [Project(entity=p["entity"], name=p["name"], run_count=p["run_count"],
                        last_activity=_iso(p["last_activity"]))
                for p in self._call("GET", f"/entities/{quote(name, safe='')}/projects")]

    def runs(self, path: str, filters: dict[str, Any] | None = None, order: str = "-created_at",
             per_page: int = 50) -> Runs:
        """The runs of ``"entity/project"`` (or ``"project"``) that match ``filters``, in ``order``.

        ``filters`` is a MongoDB-style document, e.g. ``{"summary.loss": {"$lt": 0.1}, "tags": "best"}``;
        ``order`` a field with ``-`` (descending) or ``+``, e.g. ``"-summary.acc"``. Pages of
        ``per_page`` runs are fetched as they are needed (the first one at once).
        """
        entity, project = self._path(path, "path", 2)
        if filters is not None and not isinstance(filters, dict):
            raise UsageError(f"filters must be a dict (a MongoDB-style filter document), got {type(filters).__name__}")
        if not isinstance(order, str):
            raise UsageError(f"order must be a string such as '-created_at', got {type(order).__name__}")
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
            raise UsageError(f"per_page must be an integer from 1 to {MAX_PER_PAGE}, got {per_page!r}")
        params = {"order": order}
        if filters:
            params["filters"] = msgspec.json.encode(_json_safe(filters)).decode()
        return Runs(self, f"/runs/{_quote(entity)}/{_quote(project)}", params, per_page)

    def run(self, path: str) -> Run:
        """One run: ``"entity/project/run_id"``, ``"project/run_id"`` or ``"entity/project/runs/run_id"``."""
        entity, project, run_id = self._path(path, "path", 3)
        return Run(self, self._call("GET", f"/runs/{_quote(entity)}/{_quote(project)}/{_quote(run_id)}"))

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """One artifact version: ``"entity/project/name:version"`` or ``"project/name:version"``,
        ``version`` being ``v3``, an alias such as ``best``, or ``latest`` (the default)."""
        from tracklet.api import artifacts

        return artifacts.artifact(self, name, type)

    def artifacts(self, type_name: str, name: str) -> list[Artifact]:
        """Every version of the artifact ``"entity/project/name"`` (of type ``type_name``), newest first."""
        from tracklet.api import artifacts

        return artifacts.versions(self, type_name, name)

    def artifact_versions(self, type_name: str, name: str) -> list[Artifact]:
        """The same as :meth:`artifacts` (the original's older name)."""
        return self.artifacts(type_name, name)

    def artifact_collections(self, project: str, type_name: str | None = None) -> list[ArtifactCollection]:
        """The artifacts of ``"entity/project"`` (of one type, when given), by name."""
        from tracklet.api import artifacts

        return artifacts.collections(self, project, type_name)

    def artifact_exists(self, name: str) -> bool:
        """Whether ``artifact(name)`` finds a version."""
        try:
            self.artifact(name)
        except ServerError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _path(self, path: str, argument: str, size: int) -> list[str]:
        parts = _text(path, argument).strip("/").split("/")
        if size == 3 and len(parts) == 4 and parts[2] == "runs":
            del parts[2]
        if len(parts) == size - 1:
            parts.insert(0, self.default_entity)
        if len(parts) != size or not all(parts):
            shape = "'entity/project' or 'project'" if size == 2 else "'entity/project/run_id' or 'project/run_id'"
            raise UsageError(f"{argument} must be {shape}, got {path!r}")
        return parts

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self._transport.call(method, path, body, params=params)


@dataclass(frozen=True)
class Project:
    """A project: its runs' count and when one of them last changed (ISO 8601, UTC)."""

    entity: str
    name: str
    run_count: int
    last_activity: str | None


class Runs(Sequence["Run"]):
    """The runs of a query: a read-only sequence that fetches its pages as they are needed."""

    def __init__(self, api: Api, path: str, params: dict[str, Any], per_page: int) -> None:
        self._api, self._url, self._params, self._per_page = api, path, params, per_page
        self._loaded: list[Run] = []
        self._done = False
        self._more()  # the first page now, so that a bad filter is an error here

    def _more(self) -> bool:
        if self._done:
            return False
        page = self._api._call("GET", self._url, params={
            **self._params, "limit": self._per_page, "offset": len(self._loaded)})
        self._loaded.extend(Run(self._api, info) for info in page)
        self._done = len(page) < self._per_page
        return bool(page)

    def __iter__(self) -> Iterator[Run]:
        index = 0
        while index < len(self._loaded) or self._more():
            while index < len(self._loaded):
                yield self._loaded[index]
                index += 1

    def __len__(self) -> int:
        while self._more():
            pass
        return len(self._loaded)

    @overload
    def __getitem__(self, index: int) -> Run: ...

    @overload
    def __getitem__(self, index: slice) -> list[Run]: ...

    def __getitem__(self, index: int | slice) -> Run | list[Run]:
        if isinstance(index, slice) or index < 0:
            len(self)
        while isinstance(index, int) and index >= len(self._loaded) and self._more():
            pass
        return self._loaded[index]

    def __repr__(self) -> str:
        return f"<Runs {self._url.removeprefix('/runs/')} ({len(self._loaded)} fetched)>"


class Run:
    """A run on the server. ``name``, ``notes`` and ``tags`` may be set, then saved with :meth:`update`.

    ``created_at`` and ``updated_at`` are ISO 8601 times (UTC), as in the original; ``summary``
    and history rows hold NaN and ±Infinity as floats.
    """

    def __init__(self, api: Api, info: dict[str, Any]) -> None:
        self._api = api
        self._load(info)

    def _load(self, info: dict[str, Any]) -> None:
        self._info = info
        self.entity: str = info["entity"]
        self.project: str = info["project"]
        self.id: str = info["run_id"]
        self.name: str | None = info["name"]
        self.notes: str | None = info["notes"]
        self.tags: list[str] = list(info["tags"])
        self.group: str | None = info["group"] or None
        self.job_type: str | None = info["job_type"] or None
        self.state: str = info["state"]
        self.config: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(info["config"]))
        self.summary: dict[str, Any] = from_json_safe(info["summary"])
        self.metadata: dict[str, Any] = info["metadata"]
        self.host: str | None = info["host"]
        self.exit_code: int | None = info["exit_code"]
        self.branch: dict[str, Any] | None = info["branch"]
        self.created_at = _iso(info["created_at"])
        self.updated_at = _iso(info["updated_at"])

    @property
    def path(self) -> list[str]:
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> str:
        return f"{self._api.base_url}/{self.entity}/{self.project}/runs/{self.id}"

    @property
    def _url(self) -> str:
        return "/runs/" + "/".join(_quote(part) for part in self.path)

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"

    def update(self) -> None:
        """Save the changes made to ``name``, ``notes`` and ``tags``."""
        changed = [part for part in ("config", "summary") if _json_safe(getattr(self, part)) != self._info[part]]
        if changed:
            raise UsageError(f"run.update() saves name, notes and tags; changing {' and '.join(changed)} "
                             "through the API is not supported")
        change: dict[str, Any] = {}
        for field in ("name", "notes", "tags"):
            value = getattr(self, field)
            if field == "tags" and isinstance(value, (list, tuple)) and all(isinstance(t, str) for t in value):
                value = list(value)
            elif field != "tags" and (isinstance(value, str) or value == self._info[field]):
                pass
            else:
                kind = "a list of strings" if field == "tags" else "a string"
                raise UsageError(f"run.{field} must be {kind}, got {value!r}")
            if value != self._info[field]:
                change[field] = value
        if change:
            self._load(self._api._call("PATCH", self._url, change))

    def delete(self) -> None:
        """Delete the run and its history from the server."""
        self._api._call("DELETE", self._url)

    def logged_artifacts(self) -> list[Artifact]:
        """The artifact versions this run logged."""
        from tracklet.api import artifacts

        return artifacts.of_run(self._api, self.entity, self.project, self.id, "logged")

    def used_artifacts(self) -> list[Artifact]:
        """The artifact versions this run used."""
        from tracklet.api import artifacts

        return artifacts.of_run(self._api, self.entity, self.project, self.id, "used")

    def files(self) -> list[File]:
        """The files saved with the run: its code, config and summary files, media, TensorBoard logs."""
        return [File(self, entry["path"], entry["size"]) for entry in self._api._call("GET", self._url + "/files")]

    def file(self, name: str) -> File:
        """One file of the run, by its path (a media reference's ``path``, e.g. ``media/images/….png``)."""
        name = _text(name, "file: name")
        for found in self.files():
            if found.name == name:
                return found
        raise UsageError(f"file: run {'/'.join(self.path)} has no file {name!r}")

    def history(self, keys: Iterable[str] | None = None, samples: int = 500, min_step: int | None = None,
                max_step: int | None = None, pandas: bool = True) -> Any:
        """At most ``samples`` rows with a step in [min_step, max_step], one column per metric.

        Rows are picked evenly spaced by step, first and last included (``samples=1``: the last).
        With ``keys``, a row has ``_step`` and those keys, and only rows with all of them are
        kept. Returns a pandas DataFrame when pandas is installed and ``pandas`` is true, else a
        list of dicts. :meth:`scan_history` gives every row; charts use the server's
        downsampled series endpoint (``…/history/series``), which keeps each bucket's min and max.
        """
        wanted = _keys(keys)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise UsageError(f"samples must be a positive integer, got {samples!r}")
        params = {name: value for name, value in (
            ("keys", ",".join(wanted) if wanted else None), ("min_step", _step(min_step, "min_step")),
            ("max_step", _step(max_step, "max_step"))) if value is not None}
        try:
            found = self._api._call("GET", self._url + "/history", params=params)["rows"]
        except ServerError as exc:
            if exc.status != 400:  # 400: more rows than one answer holds; sample them as they stream
                raise
            last = max_step if max_step is not None else self._info["summary"].get("_step", 0)
            rows = evenly_spaced(self._rows(wanted, min_step, max_step), samples, last)
        else:
            rows = [row for row in (_row(raw, wanted) for raw in found) if row is not None]
            if len(rows) > samples:
                rows = evenly_spaced(rows, samples, rows[-1]["_step"])
        if pandas:
            try:
                import pandas as pd
            except ImportError:
                return rows
            return pd.DataFrame(rows)
        return rows

    def scan_history(self, keys: Iterable[str] | None = None, page_size: int = 1000, min_step: int | None = None,
                     max_step: int | None = None) -> Iterator[dict[str, Any]]:
        """Every row with a step in [min_step, max_step], in step order, streamed as it is read.

        With ``keys``, only rows that have all of them, with ``_step`` and those keys. The
        server sends one stream; ``page_size`` is accepted for compatibility with the original.
        """
        return self._rows(_keys(keys), _step(min_step, "min_step"), _step(max_step, "max_step"))

    def _rows(self, wanted: list[str] | None, min_step: int | None, max_step: int | None) -> Iterator[dict[str, Any]]:
        lines = self._api._transport.stream_lines(self._url + "/history/export")
        try:
            for line in lines:
                if not line:
                    continue
                raw = msgspec.json.decode(line)
                if min_step is not None and raw["_step"] < min_step:
                    continue
                if max_step is not None and raw["_step"] > max_step:
                    break
                row = _row(raw, wanted)
                if row is not None:
                    yield row
        finally:
            lines.close()


class File:
    """A file of a run on the server; :meth:`download` fetches it."""

    def __init__(self, run: Run, name: str, size: int) -> None:
        self.run = run
        self.name = name
        self.size = size

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False) -> str:
        """Save the file as ``root/<name>`` and return that path.

        Args:
            root: the folder to save into (made if missing).
            replace: overwrite a file already there.
            exist_ok: keep a file already there instead of raising.
        """
        import os

        target = os.path.join(root, *self.name.split("/"))
        if os.path.exists(target) and not replace:
            if exist_ok:
                return target
            raise UsageError(f"download: {target} exists; pass replace=True to overwrite or exist_ok=True to keep it")
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        self.run._api._transport.download(self.run._url + "/files/" + "/".join(_quote(p) for p in self.name.split("/")),
                                          target)
        return target

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"


def evenly_spaced(rows: Iterable[dict[str, Any]], samples: int, last_step: int) -> list[dict[str, Any]]:
    """For each of ``samples`` steps evenly spaced from the first row's step to ``last_step``, the
    first row at or after it; the last row always ends the list. One pass, so rows may stream."""
    picked: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    first_step = span = index = 0
    for row in rows:
        step = row["_step"]
        if last is None:
            first_step, span = step, max(last_step - step, 0)
        last = row
        if index < samples - 1 and step >= first_step + span * index / (samples - 1):
            picked.append(row)
            while index < samples - 1 and first_step + span * index / (samples - 1) <= step:
                index += 1
    if last is not None and (not picked or picked[-1] is not last):
        picked.append(last)
    return picked


# -- values --------------------------------------------------------------------------------


def _row(raw: dict[str, Any], wanted: list[str] | None) -> dict[str, Any] | None:
    """A history row as the server sends it (nested, non-finite floats as text) → flat, with floats."""
    flat: dict[str, Any] = {}
    _flatten(raw, (), flat)
    if wanted is None:
        return flat
    if any(key not in flat for key in wanted if key != "_step"):
        return None
    return {"_step": flat["_step"], **{key: flat[key] for key in wanted}}


def _flatten(tree: dict[str, Any], prefix: tuple[str, ...], out: dict[str, Any]) -> None:
    for key, value in tree.items():
        if type(value) is dict and "_type" not in value:
            _flatten(value, prefix + (key,), out)
        else:
            out[join_path(prefix + (key,))] = from_json_safe(value)


def _json_safe(value: Any) -> Any:
    """What JSON can carry: non-finite floats as text, datetimes as epoch seconds."""
    if type(value) is float and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _quote(part: str) -> str:
    return quote(part, safe="")


def _text(value: Any, argument: str) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{argument} must be a non-empty string, got {value!r}")
    return value


def _keys(keys: Iterable[str] | None) -> list[str] | None:
    if keys is None:
        return None
    listed = [keys] if isinstance(keys, str) else list(keys)
    if not listed or not all(isinstance(key, str) and key and "," not in key for key in listed):
        raise UsageError(f"keys must be a non-empty list of metric names (without commas), got {keys!r}")
    return listed


def _step(value: int | None, argument: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise UsageError(f"{argument} must be an integer step, got {value!r}")
    return value

"""The artifact part of ``tracklet.Api``: one version by name, the versions of a name, a project's
artifacts, and the versions a run logged or used. Versions come back as :class:`tracklet.Artifact`,
the same class ``run.use_artifact`` returns, so ``download()``, ``verify()`` and lineage work alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tracklet.errors import UsageError

if TYPE_CHECKING:
    from tracklet.api.client import Api
    from tracklet.artifacts.artifact import Artifact


@dataclass(frozen=True)
class ArtifactCollection:
    """An artifact of a project: every version of one name."""

    entity: str
    project: str
    name: str
    type: str
    description: str | None
    version_count: int
    latest: str | None  # "v3"


def artifact(api: Api, name: str, type: str | None = None) -> Artifact:
    entity, project, artifact_name, version = _parse(api, name, "name")
    found = _version(api, entity, project, artifact_name, version)
    if type is not None and found.type != type:
        raise UsageError(f"artifact {name!r} is of type {found.type!r}, not {type!r}")
    return found


def versions(api: Api, type_name: str, name: str) -> list[Artifact]:
    entity, project, artifact_name, _ = _parse(api, name, "name")
    listed = api._call("GET", _path(entity, project, artifact_name) + "/versions")
    found = [_version(api, entity, project, artifact_name, v["version"]) for v in listed]
    if found and found[0].type != type_name:
        raise UsageError(f"artifact {name!r} is of type {found[0].type!r}, not {type_name!r}")
    return found


def collections(api: Api, project_path: str, type_name: str | None = None) -> list[ArtifactCollection]:
    entity, project = api._path(project_path, "project", 2)
    params = {"type": type_name} if type_name else None
    return [ArtifactCollection(entity=entity, project=project, name=c["name"], type=c["type"],
                               description=c["description"], version_count=c["versions"], latest=c["latest"])
            for c in api._call("GET", _path(entity, project), params=params)]


def of_run(api: Api, entity: str, project: str, run_id: str, direction: str) -> list[Artifact]:
    listed = api._call("GET", f"/runs/{_quote(entity)}/{_quote(project)}/{_quote(run_id)}/artifacts",
                       params={"direction": direction})
    return [_version(api, v["entity"], v["project"], v["name"], v["version"]) for v in listed]


def save(api_server: tuple[str, str | None], info: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """PATCH a version; the server's new ``ArtifactVersion``."""
    from tracklet.api.transport import Transport

    with Transport(*api_server) as transport:
        return transport.call("PATCH", _path(info["entity"], info["project"], info["name"], info["version"]), change)


def delete(api_server: tuple[str, str | None], info: dict[str, Any], delete_aliases: bool) -> None:
    from tracklet.api.transport import Transport

    with Transport(*api_server) as transport:
        transport.call("DELETE", _path(info["entity"], info["project"], info["name"], info["version"]),
                       params={"delete_aliases": "true"} if delete_aliases else None)


def _version(api: Api, entity: str, project: str, name: str, version: str) -> Artifact:
    from tracklet.artifacts.artifact import Artifact

    info = api._call("GET", _path(entity, project, name, version))
    return Artifact._from_version(info, (api.base_url, api._transport.api_key), None)


def _parse(api: Api, text: str, argument: str) -> tuple[str, str, str, str]:
    from tracklet.artifacts.lookup import parse_name

    entity, project, name, version = parse_name(text, argument)
    if project is None:
        raise UsageError(f"{argument}: {text!r} needs its project: 'project/name:version' or "
                         "'entity/project/name:version'")
    return entity or api.default_entity, project, name, version


def _path(*parts: str) -> str:
    return "/artifacts/" + "/".join(_quote(p) for p in parts)


def _quote(part: str) -> str:
    return quote(part, safe="")

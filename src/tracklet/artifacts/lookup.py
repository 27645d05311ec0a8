"""Finding a version on a server: ``"[[entity/]project/]name[:version]"``, ``version`` being ``v3``, ``3``,
an alias or ``latest`` (docs/artifacts.md). Offline lookups are the SDK's (``sdk/run_artifacts.py``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tracklet.artifacts.manifest import name_problem
from tracklet.errors import CommError, UsageError


def parse_name(text: Any, argument: str) -> tuple[str | None, str | None, str, str]:
    """``(entity, project, name, version)`` of ``"[[entity/]project/]name[:version]"`` (version: ``latest``)."""
    if not isinstance(text, str) or not text:
        raise UsageError(f"{argument} must be an artifact name such as 'mnist:latest', 'mnist:v3' or "
                         f"'entity/project/mnist:best', got {text!r}")
    path, _, version = text.rpartition(":") if ":" in text else (text, "", "latest")
    parts = path.split("/")
    if len(parts) > 3 or not all(parts):
        raise UsageError(f"{argument}: {text!r} must be 'name:version', 'project/name:version' or "
                         "'entity/project/name:version'")
    name = parts[-1]
    problem = name_problem(name, "name", 128) or name_problem(version, "version or alias", 128)
    if problem:
        raise UsageError(f"{argument}: {problem}")
    entity = parts[0] if len(parts) == 3 else None
    project = parts[-2] if len(parts) >= 2 else None
    return entity, project, name, version


def version_path(entity: str, project: str, name: str, version: str | None = None) -> str:
    parts = [entity, project, name] + ([version] if version is not None else [])
    return "/artifacts/" + "/".join(quote(p, safe="") for p in parts)


def default_entity(server: tuple[str, str | None]) -> str:
    """The entity a path without one means: the API key's own (as for runs)."""
    from tracklet.api.transport import Transport

    with Transport(server[0], server[1]) as transport:
        return transport.call("GET", "/viewer")["default_entity"]


def fetch_version(server: tuple[str, str | None], entity: str, project: str, name: str, version: str) -> dict[str, Any]:
    """The server's ``ArtifactVersion`` (with its manifest); CommError if unreachable or unknown."""
    from tracklet.api.transport import ServerError, Transport

    with Transport(server[0], server[1]) as transport:
        try:
            return transport.call("GET", version_path(entity, project, name, version))
        except ServerError as exc:
            if exc.status == 404:
                raise CommError(f"artifact {name}:{version} was not found in {entity}/{project} ({exc.detail})") from None
            raise


def find_version(server: tuple[str, str | None], entity: str, project: str, name: str,
                 digest: str) -> dict[str, Any] | None:
    """The version of ``name`` with this manifest digest, or None while the server has none."""
    from tracklet.api.transport import ServerError, Transport

    with Transport(server[0], server[1]) as transport:
        try:
            versions = transport.call("GET", version_path(entity, project, name) + "/versions")
        except ServerError as exc:
            if exc.status == 404:  # the artifact itself does not exist yet
                return None
            raise
    return next((v for v in versions if v["digest"] == digest), None)


def add_aliases(server: tuple[str, str | None], info: dict[str, Any], aliases: list[str]) -> dict[str, Any]:
    """Give a version more aliases (each moves from the version that had it); the updated version."""
    from tracklet.api.transport import Transport

    keep = [a for a in info["aliases"] if a != "latest"]
    wanted = keep + [a for a in aliases if a not in keep and a != "latest"]
    with Transport(server[0], server[1]) as transport:
        return transport.call("PATCH", version_path(info["entity"], info["project"], info["name"], info["version"]),
                              {"aliases": wanted})

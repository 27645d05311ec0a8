"""The OpenAPI document of ``/api/v1``, generated from the protocol structs.

Each endpoint's request and response types are declared here, once, with its query
parameters, its success statuses and the problems it can answer; a test checks that every
route of the app is described and that nothing described is missing from the app, and a
fuzz test (``tests/integration/test_api_fuzz.py``) that the server answers as described.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.routing import Mount, Route

from tracklet import protocol as p
from tracklet.__about__ import __version__

# (method, path) → (summary, request body type or None, response type or None)
ENDPOINTS: dict[tuple[str, str], tuple[str, Any, Any]] = {
    ("GET", "/health"): ("Readiness: 200 once the store is open and migrated", None, p.Health),
    ("GET", "/openapi.json"): ("This document", None, None),
    ("GET", "/viewer"): ("Who the API key belongs to, and their entities", None, p.Viewer),
    ("GET", "/entities/{entity}/projects"): ("Projects of an entity, with run counts", None, list[p.ProjectInfo]),
    ("POST", "/users"): ("Create a user (administrators); returns their first API key", p.UserCreate, p.ApiKeyCreated),
    ("POST", "/anonymous"): ("Create an anonymous account (servers started with --allow-anonymous)", None,
                             p.ApiKeyCreated),
    ("POST", "/teams"): ("Create a team administered by the caller", p.TeamCreate, p.Entity),
    ("POST", "/teams/{team}/members"): ("Add a user to a team", p.MemberAdd, p.Entity),
    ("POST", "/keys"): ("Create an API key (shown once)", p.ApiKeyCreate, p.ApiKeyCreated),
    ("GET", "/keys"): ("The caller's API keys (prefixes only)", None, list[p.ApiKeyInfo]),
    ("DELETE", "/keys/{prefix}"): ("Revoke an API key", None, None),
    ("POST", "/runs"): ("The init handshake: create, resume, rewind or fork a run", p.RunHandshake,
                        p.RunHandshakeReply),
    ("GET", "/runs/{entity}/{project}"): ("Runs of a project (filters, order, limit, offset, updated_after)", None, list[p.RunInfo]),
    ("GET", "/runs/{entity}/{project}/{run_id}"): ("One run", None, p.RunInfo),
    ("PATCH", "/runs/{entity}/{project}/{run_id}"): ("Edit name, notes or tags", p.RunUpdate, p.RunInfo),
    ("DELETE", "/runs/{entity}/{project}/{run_id}"): ("Delete a run and its history", None, None),
    ("POST", "/runs/{entity}/{project}/{run_id}/records"): (
        f"Upload run log records ({p.RECORDS_CONTENT_TYPE}, optionally gzip); idempotent by sequence number",
        p.RecordBatch, p.RecordAck),
    ("GET", "/runs/{entity}/{project}/{run_id}/history/keys"): ("Logged keys", None, p.HistoryKeys),
    ("GET", "/runs/{entity}/{project}/{run_id}/history"): ("Rows in a step range (min_step, max_step, keys)", None,
                                                          p.HistoryRows),
    ("GET", "/runs/{entity}/{project}/{run_id}/history/series"): (
        "One metric downsampled into buckets keeping each bucket's first, last, min and max (key, buckets, "
        "min_step, max_step)", None, p.Series),
    ("GET", "/projects/{entity}/{project}/series"): (
        "One metric of many runs (runs=id1,id2,…), downsampled like …/history/series, in one answer", None,
        p.ProjectSeries),
    ("GET", "/projects/{entity}/{project}/keys"): (
        "The numeric keys the project's runs logged (of runs=id1,id2,… only, when given): its chart panels; and "
        "its media keys with their type", None, p.HistoryKeys),
    ("GET", "/projects/{entity}/{project}/media"): (
        "Every value of one media key (key) logged by several runs (runs=id1,id2,…; min_step, max_step)", None,
        p.ProjectMedia),
    ("GET", "/projects/{entity}/{project}/workspace"): (
        "The project's workspace layout (the default one, updated_at null, until saved)", None, p.WorkspaceLayout),
    ("PUT", "/projects/{entity}/{project}/workspace"): (
        "Replace the project's workspace layout (400 naming a bad field; 413 over 256 KiB)", p.WorkspaceLayout,
        p.WorkspaceLayout),
    ("GET", "/runs/{entity}/{project}/{run_id}/history/export"): ("Every row, streamed as NDJSON", None, None),
    ("GET", "/runs/{entity}/{project}/{run_id}/files"): ("Files saved with the run", None, list[p.RunFile]),
    ("PUT", "/runs/{entity}/{project}/{run_id}/files/{path}"): ("Upload a file (the body is its bytes)", None,
                                                                 p.RunFile),
    ("GET", "/runs/{entity}/{project}/{run_id}/files/{path}"): (
        "Download a file (supports Range; 307 to a presigned URL of the bucket where the server was started with "
        "--files-download presigned and the client sends Tracklet-Accept-Redirect: docs/files.md)", None, None),
    ("GET", "/runs/{entity}/{project}/{run_id}/system"): (
        "System metrics: sample timestamps and, per metric, its values", None, None),
    ("GET", "/runs/{entity}/{project}/{run_id}/console"): (
        "Console output lines after line number `after` (-1: from the start), at most `limit`", None, None),
    ("GET", "/events"): ("Server-sent events: which runs changed (entity, project)", None, None),
    # artifacts (docs/artifacts.md)
    ("POST", "/artifacts/{entity}/{project}/blobs/missing"): ("The blobs of a list the store lacks",
                                                              p.BlobsMissing, p.BlobsMissingReply),
    ("PUT", "/blobs/{sha256}"): ("Upload a blob (the body, streamed; 201 stored, 200 already there; 400 if its "
                                 "SHA-256 differs)", None, p.BlobInfo),
    ("PUT", "/blobs/{sha256}/parts/{n}"): ("Upload part n (from 0, at most 64 MiB) of a large blob", None, p.BlobPart),
    ("GET", "/blobs/{sha256}/parts"): ("The parts of a blob stored so far (to resume an upload)", None, p.BlobParts),
    ("POST", "/blobs/{sha256}/complete"): ("Join a blob's parts (400 if the joined SHA-256 differs)", None,
                                           p.BlobComplete),
    ("GET", "/artifacts/{entity}/{project}"): ("The project's artifacts (type=)", None, list[p.ArtifactSummary]),
    ("POST", "/artifacts/{entity}/{project}/{name}/versions"): (
        "Create a version (201), or find the one with the same digest (200)", p.ArtifactCreate, p.ArtifactVersion),
    ("GET", "/artifacts/{entity}/{project}/{name}/versions"): ("An artifact's versions, newest first, without "
                                                               "manifests", None, list[p.ArtifactVersion]),
    ("GET", "/artifacts/{entity}/{project}/{name}/{version}"): (
        "One version with its manifest (version: v3, 3, an alias or latest)", None, p.ArtifactVersion),
    ("PATCH", "/artifacts/{entity}/{project}/{name}/{version}"): ("Set a version's aliases, description or metadata",
                                                                  p.ArtifactUpdate, p.ArtifactVersion),
    ("DELETE", "/artifacts/{entity}/{project}/{name}/{version}"): (
        "Delete a version (409 while it has aliases but latest, unless delete_aliases=true)", None, None),
    ("GET", "/artifacts/{entity}/{project}/{name}/{version}/files/{path}"): (
        "One file of a version (supports Range; 307 to a presigned URL as for run files)", None, None),
    ("GET", "/runs/{entity}/{project}/{run_id}/artifacts"): (
        "The versions a run logged or used (direction=logged|used)", None, list[p.ArtifactVersion]),
    ("POST", "/admin/artifacts/gc"): (
        "Administrators: blobs no version references, older than older_than seconds (default 3600); deleted "
        "unless dry_run=true", None, p.GcReport),
}


# -- what ENDPOINTS does not say: query parameters, statuses, bodies that are not JSON ---------

INT64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
NAME = {"type": "string", "minLength": 1}
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
BOOLEAN = {"type": "boolean"}


def _q(name: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "required": required, "schema": schema, "description": description}
    if not required and schema is not BOOLEAN and "enum" not in schema:
        parameter["allowEmptyValue"] = True  # "name=" is the same as leaving it out
    return parameter


STEP_RANGE = [_q("min_step", INT64, "first step (inclusive)"), _q("max_step", INT64, "last step (inclusive)")]
CHART = [
    _q("buckets", {"type": "integer", "minimum": 1, "maximum": 20_000}, "how many buckets (default 1000)"),
    *STEP_RANGE,
    _q("columns", {"type": "string"}, "comma-separated M4 columns to send (default all)"),
]
RUN_IDS = _q("runs", {"type": "string", "minLength": 1}, "comma-separated run ids (at most 1000)", required=True)
KEY = _q("key", {"type": "string", "minLength": 1}, "the metric's key", required=True)

QUERY: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("GET", "/runs/{entity}/{project}"): [
        _q("filters", {"type": "string"}, "a JSON filter document (docs/http-api.md)"),
        _q("order", {"type": "string"}, "a field to sort by, '-' first for descending"),
        _q("limit", {"type": "integer", "minimum": 1, "maximum": 10_000}, "at most this many runs (default 1000)"),
        _q("offset", {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}, "skip this many runs"),
        _q("updated_after", {"type": "number"}, "a server time: only runs changed since, and running ones"),
    ],
    ("GET", "/runs/{entity}/{project}/{run_id}/history"): [
        *STEP_RANGE, _q("keys", {"type": "string"}, "comma-separated keys (default all)")],
    ("GET", "/runs/{entity}/{project}/{run_id}/history/series"): [KEY, *CHART],
    ("GET", "/projects/{entity}/{project}/series"): [KEY, RUN_IDS, *CHART],
    ("GET", "/projects/{entity}/{project}/keys"): [
        _q("runs", {"type": "string"}, "comma-separated run ids (default every run)")],
    ("GET", "/projects/{entity}/{project}/media"): [KEY, RUN_IDS, *STEP_RANGE],
    ("GET", "/runs/{entity}/{project}/{run_id}/console"): [
        _q("after", {"type": "integer", "minimum": -1, "maximum": 2**63 - 1}, "lines after this number (-1: all)"),
        _q("limit", {"type": "integer", "minimum": 1, "maximum": 10_000}, "at most this many lines (default 1000)"),
    ],
    ("GET", "/events"): [
        _q("entity", NAME, "the entity to follow", required=True),
        _q("project", {"type": "string"}, "only this project"),
        _q("since", {"type": "number"}, "a server time (default now)"),
    ],
    ("GET", "/artifacts/{entity}/{project}"): [_q("type", {"type": "string"}, "only artifacts of this type")],
    ("DELETE", "/artifacts/{entity}/{project}/{name}/{version}"): [
        _q("delete_aliases", BOOLEAN, "delete a version that has aliases too")],
    ("GET", "/runs/{entity}/{project}/{run_id}/artifacts"): [
        _q("direction", {"enum": ["logged", "used"]}, "logged (default) or used")],
    ("POST", "/admin/artifacts/gc"): [
        _q("dry_run", BOOLEAN, "only count"),
        _q("older_than", {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}, "seconds (default 3600)"),
    ],
}

PATH_SCHEMAS = {"sha256": SHA256, "n": {"type": "integer", "minimum": 0, "maximum": 9999}}

STATUS_NAMES = {"201": "Created", "206": "Partial Content (a Range asked for)",
                "307": "Temporary Redirect (Location: the file's presigned URL)"}
# Success statuses other than a plain 200.
SUCCESS: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/users"): ("201",),
    ("POST", "/anonymous"): ("201",),
    ("POST", "/teams"): ("201",),
    ("POST", "/teams/{team}/members"): ("201",),
    ("POST", "/keys"): ("201",),
    ("PUT", "/runs/{entity}/{project}/{run_id}/files/{path}"): ("201",),
    ("PUT", "/blobs/{sha256}"): ("200", "201"),
    ("PUT", "/blobs/{sha256}/parts/{n}"): ("201",),
    ("POST", "/blobs/{sha256}/complete"): ("200", "201"),
    ("POST", "/artifacts/{entity}/{project}/{name}/versions"): ("200", "201"),
    ("GET", "/runs/{entity}/{project}/{run_id}/files/{path}"): ("200", "206", "307"),
    ("GET", "/artifacts/{entity}/{project}/{name}/{version}/files/{path}"): ("200", "206", "307"),
}

# Answers that are not a protocol struct: JSON built in the route, or not JSON at all.
_DELETED = {"type": "object", "properties": {"deleted": {"type": "string"}}, "required": ["deleted"]}
CONTENT: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/openapi.json"): {"application/json": {"schema": {"type": "object"}}},
    ("DELETE", "/keys/{prefix}"): {"application/json": {"schema": {
        "type": "object", "properties": {"revoked": {"type": "string"}}, "required": ["revoked"]}}},
    ("DELETE", "/runs/{entity}/{project}/{run_id}"): {"application/json": {"schema": _DELETED}},
    ("DELETE", "/artifacts/{entity}/{project}/{name}/{version}"): {"application/json": {"schema": _DELETED}},
    ("GET", "/runs/{entity}/{project}/{run_id}/system"): {"application/json": {"schema": {
        "type": "object", "required": ["timestamps", "metrics"], "properties": {
            "timestamps": {"type": "array", "items": {"type": "number"}},
            "metrics": {"type": "object", "additionalProperties": {
                "type": "array", "items": {"type": ["number", "null"]}}}}}}},
    ("GET", "/runs/{entity}/{project}/{run_id}/console"): {"application/json": {"schema": {
        "type": "object", "required": ["lines"], "properties": {"lines": {"type": "array", "items": {
            "type": "object", "required": ["line_no", "timestamp", "stream", "text"], "properties": {
                "line_no": {"type": "integer"}, "timestamp": {"type": "number"}, "stream": {"type": "string"},
                "text": {"type": "string"}}}}}}}},
    ("GET", "/runs/{entity}/{project}/{run_id}/history/export"): {"application/x-ndjson": {}},
    ("GET", "/events"): {"text/event-stream": {}},
    # the content type follows the file's name (docs/http-api.md: downloads)
    ("GET", "/runs/{entity}/{project}/{run_id}/files/{path}"): {"*/*": {}},
    ("GET", "/artifacts/{entity}/{project}/{name}/{version}/files/{path}"): {"*/*": {}},
}

# Endpoints whose body is raw bytes (a file, a blob, a part).
RAW_BODY = {("PUT", "/runs/{entity}/{project}/{run_id}/files/{path}"), ("PUT", "/blobs/{sha256}"),
            ("PUT", "/blobs/{sha256}/parts/{n}")}

# Endpoints anyone may call, without an API key.
PUBLIC = {("GET", "/health"), ("GET", "/openapi.json"), ("POST", "/anonymous")}

# Problems an endpoint answers beyond those its shape implies (see ``problems``).
FORBIDDEN = {("POST", "/users"), ("POST", "/anonymous"), ("POST", "/teams/{team}/members"), ("POST", "/keys"),
             ("POST", "/admin/artifacts/gc")}
CONFLICT = {("POST", "/users"), ("POST", "/teams"), ("POST", "/runs"), ("POST", "/runs/{entity}/{project}/{run_id}/records"),
            ("DELETE", "/artifacts/{entity}/{project}/{name}/{version}")}
# Bodies that name an entity or a user, which may not exist (or not be the caller's to see).
NAMES_IN_BODY = {("POST", "/runs"), ("POST", "/keys"), ("POST", "/teams/{team}/members")}

PROBLEM_TITLES = {"400": "Bad input: the detail names the argument and the rule",
                  "401": "No API key, or one that is wrong or revoked",
                  "403": "The caller may not do this",
                  "404": "Not found, or not the caller's to see (the two answer the same)",
                  "409": "Conflicts with what is stored",
                  "413": "The body is too large",
                  "429": "Too many failed authentications from this address: retry after Retry-After seconds"}


def problems(method: str, path: str, request: Any) -> list[str]:
    """The problem statuses an endpoint may answer, from its shape and the sets above."""
    endpoint = (method, path)
    found = set()
    if endpoint not in PUBLIC:
        found |= {"401", "429"}
    if "{" in path or endpoint in QUERY:
        found |= {"400", "404"}
    if request is not None or endpoint in RAW_BODY:
        found |= {"400", "413"}
    if endpoint in FORBIDDEN:
        found.add("403")
    if endpoint in CONFLICT:
        found.add("409")
    if endpoint in NAMES_IN_BODY:
        found.add("404")
    return sorted(found)


def api_routes(routes: list[Any]) -> set[tuple[str, str]]:
    found = set()
    for route in routes:
        if isinstance(route, Mount):
            found |= {(m, route.path + path) for m, path in api_routes(route.routes)}
        elif isinstance(route, Route):
            path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)  # "{path:path}" → "{path}"
            found |= {(m, path) for m in (route.methods or ()) if m != "HEAD"}
    return found


def document() -> dict[str, Any]:
    types = [t for _, request, response in ENDPOINTS.values() for t in (request, response) if t is not None]
    types.append(p.Problem)
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    schema_of = dict(zip(map(id, types), schemas))
    problem = {"application/json": {"schema": schema_of[id(p.Problem)]}}
    retry_after = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), (summary, request, response) in sorted(ENDPOINTS.items()):
        endpoint = (method, path)
        content = CONTENT.get(endpoint)
        if response is not None:
            content = {"application/json": {"schema": schema_of[id(response)]}}
        responses: dict[str, Any] = {}
        for status in SUCCESS.get(endpoint, ("200",)):
            responses[status] = {"description": STATUS_NAMES.get(status, "OK")}
            if content is not None and status != "307":
                responses[status]["content"] = content
        for status in problems(method, path, request):
            responses[status] = {"description": PROBLEM_TITLES[status], "content": problem}
            if status == "429":
                responses[status]["headers"] = retry_after
        if endpoint == ("GET", "/runs/{entity}/{project}"):
            responses["200"]["headers"] = {"X-Total-Count": {
                "description": "how many runs the project has", "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
        operation: dict[str, Any] = {"summary": summary, "responses": responses}
        parameters = [{"name": n, "in": "path", "required": True, "schema": PATH_SCHEMAS.get(n, NAME)}
                      for n in re.findall(r"{(\w+)}", path)]
        parameters += QUERY.get(endpoint, [])
        if parameters:
            operation["parameters"] = parameters
        if request is not None:
            media = p.RECORDS_CONTENT_TYPE if request is p.RecordBatch else "application/json"
            operation["requestBody"] = {"required": True, "content": {media: {"schema": schema_of[id(request)]}}}
        elif endpoint in RAW_BODY:
            operation["requestBody"] = {"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
        operation["security"] = [] if endpoint in PUBLIC else [{"apiKey": []}]
        paths.setdefault(p.API_PREFIX + path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tracklet API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }


def encoded() -> bytes:
    return msgspec.json.encode(document())

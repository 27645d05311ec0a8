"""The OpenAPI document of ``/api/v1``, generated from the protocol structs.

Each endpoint's request and response types are declared here, once; a test checks that
every route of the app is described and that nothing described is missing from the app.
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
    ("GET", "/runs/{entity}/{project}/{run_id}/history/export"): ("Every row, streamed as NDJSON", None, None),
    ("GET", "/runs/{entity}/{project}/{run_id}/files"): ("Files saved with the run", None, list[p.RunFile]),
    ("PUT", "/runs/{entity}/{project}/{run_id}/files/{path}"): ("Upload a file (the body is its bytes)", None,
                                                                 p.RunFile),
    ("GET", "/runs/{entity}/{project}/{run_id}/files/{path}"): ("Download a file", None, None),
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
        "One file of a version (supports Range)", None, None),
    ("GET", "/runs/{entity}/{project}/{run_id}/artifacts"): (
        "The versions a run logged or used (direction=logged|used)", None, list[p.ArtifactVersion]),
    ("POST", "/admin/artifacts/gc"): (
        "Administrators: blobs no version references, older than older_than seconds (default 3600); deleted "
        "unless dry_run=true", None, p.GcReport),
}


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
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    schema_of = dict(zip(map(id, types), schemas))
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), (summary, request, response) in sorted(ENDPOINTS.items()):
        operation: dict[str, Any] = {"summary": summary, "responses": {"200": {"description": "OK"}}}
        parameters = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                      for n in re.findall(r"{(\w+)}", path)]
        if parameters:
            operation["parameters"] = parameters
        if request is not None:
            media = p.RECORDS_CONTENT_TYPE if request is p.RecordBatch else "application/json"
            operation["requestBody"] = {"required": True, "content": {media: {"schema": schema_of[id(request)]}}}
        if response is not None:
            operation["responses"]["200"]["content"] = {"application/json": {"schema": schema_of[id(response)]}}
        if path != "/health":
            operation["security"] = [{"apiKey": []}]
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

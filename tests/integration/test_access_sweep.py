"""Every route of the API, called by everyone who should not get in.

The routes come from the server's OpenAPI document, cross-checked against the app's own
route list so that none escapes the sweep. Each is called with a real, meaningful request
(alice's run, file, artifact, blob, key and team) by: no key, a wrong key, a revoked key,
bob (another user) and carol (a member, not an admin, of alice's team). A stranger gets
401, another user the same answer as for an entity that does not exist, and nobody sees a
byte of alice's data. Then: failed keys are rate limited per address, the UI's headers,
and uploaded files that cannot run as pages of the UI's origin.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest

from tests.conftest import ServerProcess, api
from tracklet import protocol as p
from tracklet.artifacts import manifest
from tracklet.runlog.records import RecordType, encode, encode_history
from tracklet.server.auth_limit import FAILURES_PER_WINDOW

BLOB = b"alice's weights"
SECRETS = ("alice001", "secret-project", "classified", "alice's notes", "hidden-model")
_addresses = itertools.count(2)


def address() -> str:
    """A loopback address no other request of this module used: the rate limit counts per address."""
    n = next(_addresses)
    return f"127.{n // 65536 % 256}.{n // 256 % 256}.{n % 256 or 1}"


def client(server: ServerProcess, key: str | None, source: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.HTTPTransport(local_address=source or address())
    return httpx.Client(base_url=server.url + "/api/v1", headers=headers, transport=transport, timeout=30)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class World:
    alice: str
    bob: str
    carol: str
    revoked: str
    alice_prefix: str
    values: dict[str, str]  # path parameters naming alice's things


@pytest.fixture
def world(server: ServerProcess) -> World:
    with api(server) as admin:
        keys = {name: admin.post("/users", json={"name": name}).json()["api_key"] for name in ("alice", "bob", "carol",
                                                                                                  "dave")}
    with api(server, keys["dave"]) as dave:
        prefix = dave.get("/keys").json()[0]["prefix"]
        assert dave.delete(f"/keys/{prefix}").status_code == 200
    with api(server, keys["alice"]) as alice:
        assert alice.post("/teams", json={"name": "lab"}).status_code == 201
        assert alice.post("/teams/lab/members", json={"user": "carol"}).status_code == 201
        for entity in ("alice", "lab"):
            assert alice.post("/runs", json={"entity": entity, "project": "secret-project",
                                             "run_id": "alice001"}).status_code == 200
            records = [encode(RecordType.START, {"run_id": "alice001", "project": "secret-project", "start_time": 1.0,
                                                 "name": "classified"}),
                       encode_history(0, 1.0, True, {"loss": 0.5}),
                       encode(RecordType.OUTPUT, {"timestamp": 1.0, "stream": "stdout", "text": "classified"})]
            uploaded = alice.post(f"/runs/{entity}/secret-project/alice001/records",
                                  content=msgspec.msgpack.encode({"first_seq": 1, "records": records}),
                                  headers={"Content-Type": p.RECORDS_CONTENT_TYPE})
            assert uploaded.status_code == 200, uploaded.text
            assert alice.put(f"/runs/{entity}/secret-project/alice001/files/notes.txt",
                             content=b"alice's notes").status_code == 201
        assert alice.put(f"/blobs/{sha(BLOB)}", content=BLOB).status_code == 201
        entries = {"weights.bin": {"digest": sha(BLOB), "size": len(BLOB)}}
        version = alice.post("/artifacts/alice/secret-project/hidden-model/versions", json={
            "type": "model", "manifest": manifest.manifest_of(entries), "digest": manifest.digest_of(entries),
            "run_id": "alice001"})
        assert version.status_code == 201, version.text
        alice_prefix = alice.get("/keys").json()[0]["prefix"]
    values = {"entity": "alice", "project": "secret-project", "run_id": "alice001", "path": "notes.txt",
              "name": "hidden-model", "version": "v0", "sha256": sha(BLOB), "n": "0", "team": "lab",
              "prefix": alice_prefix}
    return World(keys["alice"], keys["bob"], keys["carol"], keys["dave"], alice_prefix, values)


def operations(server: ServerProcess) -> list[tuple[str, str]]:
    """(method, path) of every operation the document describes; the app has exactly these routes."""
    from tracklet.server.app import create_app
    from tracklet.server.openapi import api_routes

    document = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    described = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert api_routes(create_app(store=None).routes) == described  # type: ignore[arg-type]
    return sorted(described)


def request_for(method: str, path: str, values: dict[str, str]) -> dict[str, Any]:
    """A request alice could make to this route: her names in the path, a body that is valid."""
    url = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path.removeprefix("/api/v1"))
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/users"): {"name": "mallory"},
        ("POST", "/teams"): {"name": "heist"},
        ("POST", "/teams/{team}/members"): {"user": "bob", "role": "admin"},
        ("POST", "/keys"): {"user": "alice"},
        ("POST", "/runs"): {"entity": values["entity"], "project": values["project"], "run_id": "intruder"},
        ("PATCH", "/runs/{entity}/{project}/{run_id}"): {"name": "pwned"},
        ("POST", "/artifacts/{entity}/{project}/blobs/missing"): {"digests": [values["sha256"]]},
        ("POST", "/artifacts/{entity}/{project}/{name}/versions"): {
            "type": "model", "manifest": manifest.manifest_of({}), "digest": manifest.digest_of({})},
        ("PATCH", "/artifacts/{entity}/{project}/{name}/{version}"): {"description": "pwned"},
        ("PUT", "/projects/{entity}/{project}/workspace"): {"density": "compact", "sidebar_collapsed": True},
    }
    raw: dict[tuple[str, str], bytes] = {
        ("POST", "/runs/{entity}/{project}/{run_id}/records"): msgspec.msgpack.encode({"first_seq": 4, "records": []}),
        ("PUT", "/runs/{entity}/{project}/{run_id}/files/{path}"): b"pwned",
        ("PUT", "/blobs/{sha256}"): BLOB,
        ("PUT", "/blobs/{sha256}/parts/{n}"): BLOB,
    }
    query: dict[tuple[str, str], dict[str, str]] = {
        ("GET", "/runs/{entity}/{project}/{run_id}/history/series"): {"key": "loss"},
        ("GET", "/projects/{entity}/{project}/series"): {"key": "loss", "runs": values["run_id"]},
        ("GET", "/projects/{entity}/{project}/media"): {"key": "loss", "runs": values["run_id"]},
        ("GET", "/events"): {"entity": values["entity"]},
        ("POST", "/admin/artifacts/gc"): {"dry_run": "true"},
    }
    endpoint = (method, path.removeprefix("/api/v1"))
    request: dict[str, Any] = {"method": method, "url": url, "params": query.get(endpoint)}
    if endpoint in bodies:
        request["json"] = bodies[endpoint]
    if endpoint in raw:
        request["content"] = raw[endpoint]
        if endpoint[1].endswith("/records"):
            request["headers"] = {"Content-Type": p.RECORDS_CONTENT_TYPE}
    return request


def call(http: httpx.Client, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body; an event stream that opens is read no further than its first line."""
    with http.stream(**request) as response:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return response.status_code, dict(response.headers), next(response.iter_lines()).encode()
        return response.status_code, dict(response.headers), response.read()


PUBLIC = {("GET", "/api/v1/health"), ("GET", "/api/v1/openapi.json"), ("POST", "/api/v1/anonymous")}
# Administrators only (POST /keys: here, a key for alice).
ADMIN_ONLY = {("POST", "/api/v1/users"), ("POST", "/api/v1/admin/artifacts/gc"), ("POST", "/api/v1/keys")}
# Blobs are content-addressed and shared by every entity: a caller who sends the bytes may store them.
GLOBAL = {("PUT", "/api/v1/blobs/{sha256}"), ("PUT", "/api/v1/blobs/{sha256}/parts/{n}"),
          ("GET", "/api/v1/blobs/{sha256}/parts"), ("POST", "/api/v1/blobs/{sha256}/complete")}
# The caller's own things: another user gets his own answer, with nothing of alice's in it.
OWN = {("GET", "/api/v1/viewer"), ("GET", "/api/v1/keys"), ("POST", "/api/v1/teams")}


def assert_problem(status: int, body: bytes, expected: int, what: Any) -> p.Problem:
    assert status == expected, (what, status, body[:300])
    problem = msgspec.json.decode(body, type=p.Problem)
    assert problem.status == expected, what
    return problem


def assert_nothing_of_alice(body: bytes, what: Any) -> None:
    for secret in (*SECRETS, sha(BLOB)):
        assert secret.encode() not in body, (what, secret, body[:300])


def test_every_route_refuses_strangers_and_other_entities(server: ServerProcess, world: World) -> None:
    ghost = {**world.values, "entity": "ghost", "team": "ghost-team", "prefix": "tk_ghost0"}
    routes = operations(server)
    assert len(routes) >= 40
    for method, path in routes:
        endpoint = (method, path)
        request = request_for(method, path, world.values)
        for who, key in (("no key", None), ("wrong key", "tk_" + "w" * 43), ("revoked key", world.revoked)):
            with client(server, key) as stranger:
                status, headers, body = call(stranger, request)
            if endpoint in PUBLIC:
                assert status < 500, (who, endpoint, status)
                continue
            assert_problem(status, body, 401, (who, endpoint))
            assert headers["www-authenticate"].startswith("Bearer")
            assert_nothing_of_alice(body, (who, endpoint))
        if endpoint in PUBLIC:
            continue

        with client(server, world.bob) as bob:
            status, _, body = call(bob, request)
            if endpoint in ADMIN_ONLY:
                assert_problem(status, body, 403, ("bob", endpoint))
            elif endpoint in GLOBAL or endpoint in OWN:
                assert status < 500, ("bob", endpoint, status, body[:300])
            else:
                # alice's entity answers bob exactly as one that does not exist
                problem = assert_problem(status, body, 404, ("bob", endpoint))
                status_ghost, _, body_ghost = call(bob, request_for(method, path, ghost))
                missing = assert_problem(status_ghost, body_ghost, 404, ("bob", "ghost", endpoint))
                assert problem.title == missing.title, endpoint
                named = {world.values[k]: ghost[k] for k in ("entity", "team", "prefix")}
                assert re.sub("|".join(map(re.escape, named)), lambda m: named[m.group(0)], problem.detail) == \
                    missing.detail, endpoint
            if endpoint not in GLOBAL:
                assert_nothing_of_alice(body, ("bob", endpoint))

    # nothing the sweep sent changed what alice has
    with client(server, world.alice) as alice:
        run = alice.get("/runs/alice/secret-project/alice001").json()
        assert run["name"] == "classified" and run["last_seq"] == 3
        assert [r["run_id"] for r in alice.get("/runs/alice/secret-project").json()] == ["alice001"]
        assert alice.get("/runs/alice/secret-project/alice001/files/notes.txt").content == b"alice's notes"
        assert alice.get("/artifacts/alice/secret-project/hidden-model/v0").json()["description"] is None
        assert alice.get("/projects/alice/secret-project/workspace").json()["updated_at"] is None
        assert world.alice_prefix in [k["prefix"] for k in alice.get("/keys").json() if k["revoked_at"] is None]
        assert [m["name"] for m in alice.get("/viewer").json()["entities"]] == ["alice", "lab"]
    with api(server) as admin:
        assert admin.post("/users", json={"name": "mallory"}).status_code == 201  # bob's attempt made nothing
        assert admin.post("/teams", json={"name": "heist2"}).status_code == 201


def test_a_team_member_who_is_not_its_admin(server: ServerProcess, world: World) -> None:
    lab = {**world.values, "entity": "lab"}
    with client(server, world.carol) as carol:
        assert carol.get("/runs/lab/secret-project/alice001").json()["name"] == "classified"
        assert carol.get("/runs/lab/secret-project/alice001/files/notes.txt").content == b"alice's notes"
        for method, path in [("POST", "/api/v1/teams/{team}/members"), ("POST", "/api/v1/users"),
                             ("POST", "/api/v1/admin/artifacts/gc"), ("POST", "/api/v1/keys")]:
            status, _, body = call(carol, request_for(method, path, lab))
            assert_problem(status, body, 403, (method, path))
        # alice's personal entity is not the team's
        status, _, body = call(carol, request_for("GET", "/api/v1/runs/{entity}/{project}/{run_id}", world.values))
        assert_problem(status, body, 404, "personal run")
        assert [e["name"] for e in carol.get("/viewer").json()["entities"]] == ["carol", "lab"]


def test_failed_keys_are_rate_limited_per_address(server: ServerProcess, world: World) -> None:
    source = address()
    with client(server, "tk_" + "x" * 43, source) as guesser:
        for _ in range(FAILURES_PER_WINDOW):
            assert guesser.get("/viewer").status_code == 401
        blocked = guesser.get("/viewer")
    assert_problem(blocked.status_code, blocked.content, 429, "blocked")
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert "retry in" in blocked.json()["detail"]
    # while blocked, no key from that address is looked at (a good one learns nothing either) ...
    with client(server, world.alice, source) as same_address:
        assert same_address.get("/viewer").status_code == 429
    with client(server, None, source) as no_key:
        assert no_key.get("/viewer").status_code == 401
    # ... and other addresses are not affected
    with client(server, world.alice) as elsewhere:
        assert elsewhere.get("/viewer").json()["user"] == "alice"


def test_the_ui_cannot_be_framed_or_sniffed(server: ServerProcess) -> None:
    for path in ("/", "/alice/secret-project/runs/alice001"):
        response = httpx.get(server.url + path)
        assert response.status_code in (200, 503)  # 503: the UI is not built in this checkout
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.fixture
def uploads(server: ServerProcess, world: World) -> Iterator[httpx.Client]:
    with client(server, world.alice) as alice:
        yield alice


@pytest.mark.parametrize("name, content, inline", [
    ("page.html", b"<script>alert(document.cookie)</script>", False),
    ("vector.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", False),
    ("page.xhtml", b"<html xmlns='http://www.w3.org/1999/xhtml'><script>alert(1)</script></html>", False),
    ("script.js", b"alert(1)", False),
    ("notes.txt", b"<script>alert(1)</script>", True),
    ("plot.png", b"\x89PNG\r\n\x1a\n", True),
])
def test_run_files_never_run_as_pages_of_the_ui(uploads: httpx.Client, name: str, content: bytes, inline: bool) -> None:
    path = f"/runs/alice/secret-project/alice001/files/uploads/{name}"
    assert uploads.put(path, content=content).status_code == 201
    response = uploads.get(path)
    assert response.content == content
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    disposition = response.headers.get("Content-Disposition", "")
    if inline:
        assert not disposition.startswith("attachment")
    else:
        assert disposition.startswith("attachment"), (name, response.headers.get("content-type"))

"""Schemathesis fuzzes every operation of the server's own OpenAPI document, with a real API key.

It generates valid and invalid paths, queries and bodies from the document and checks what
a client relies on: no 500, a status the document lists, the declared content type and a
body matching the declared schema. One pass leaves the path free (mostly "not found"); one
pins it to a run that exists, so queries and bodies reach the code behind the lookups.
Afterwards everything the API lists must still read back as the protocol describes it.

Both stores are fuzzed: SQLite with the full count of cases, PostgreSQL (which refuses what SQLite
takes, e.g. NUL characters in text and JSON) with fewer per operation, to keep CI's time bounded.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hypothesis
import hypothesis.errors
import httpx
import msgspec
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ServerProcess, api, free_port
from tests.postgres import PostgresServer
from tracklet import protocol as p
from tracklet.runlog.records import RecordType, encode, encode_history

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
# A bounded run (about a minute of CPU in all on SQLite): each operation gets this many generated cases.
MAX_EXAMPLES = {"sqlite": 12, "postgresql": 6}


def fuzz_settings(store: str) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=MAX_EXAMPLES[store], deadline=None, database=None, derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )

SEEDED = {"entity": "root", "project": "fuzz", "run_id": "fuzz0001"}


@schemathesis.serializer(p.RECORDS_CONTENT_TYPE)
def records_msgpack(ctx: Any, value: Any) -> bytes:
    """A generated record batch as the agent sends it: MessagePack, each record's bytes as bytes."""
    if isinstance(value, dict) and isinstance(value.get("records"), list):
        value = {**value, "records": [r.encode() if isinstance(r, str) else r for r in value["records"]]}
    try:
        return msgspec.msgpack.encode(value)
    except OverflowError:  # an invalid integer MessagePack cannot hold: an invalid body then
        return b"\xc1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server (on each store) with one run (history, console, a file) for the pinned pass to reach."""
    root = tmp_path_factory.mktemp("fuzz")
    data_dir, config_dir = root / "server-data", root / "config"
    data_dir.mkdir()
    port = free_port()
    if request.param == "sqlite":
        store_url = f"sqlite:///{data_dir / 'store.db'}"
    else:
        store_url = request.getfixturevalue("postgres_server").create_database()
    server = ServerProcess(f"http://127.0.0.1:{port}", port, data_dir, config_dir, "", store_url)
    server.start()
    parser = configparser.ConfigParser()
    parser.read(config_dir / "settings")
    server.admin_key = parser["default"]["api_key"]
    with api(server) as client:
        assert client.post("/runs", json={"project": "fuzz", "run_id": "fuzz0001"}).status_code == 200
        records = [
            encode(RecordType.START, {"run_id": "fuzz0001", "project": "fuzz", "start_time": 1.0, "name": "seed"}),
            *(encode_history(step, 1.0 + step, True, {"loss": 1.0 / (step + 1)}) for step in range(20)),
        ]
        upload = client.post("/runs/root/fuzz/fuzz0001/records", content=msgspec.msgpack.encode(
            {"first_seq": 1, "records": records}), headers={"Content-Type": p.RECORDS_CONTENT_TYPE})
        assert upload.status_code == 200, upload.text
        assert client.put("/runs/root/fuzz/fuzz0001/files/notes.txt", content=b"seed").status_code == 201
    yield server
    server.stop()


def fuzz(server: ServerProcess, path_parameters: dict[str, str] | None = None) -> list[str]:
    """Every operation but the event stream (it never ends: tested on its own below), with valid and
    with invalid input: what failed, one line per operation and mode."""
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
    schema.config.update(base_url=server.url)
    # The key is ours, not generated; unknown query parameters are ignored (docs/http-api.md), not invalid.
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    settings = fuzz_settings("sqlite" if server.store_url.startswith("sqlite") else "postgresql")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/events":
            continue
        pinned = None
        if path_parameters is not None:
            names = {parameter.name for parameter in operation.path_parameters}
            if not names & path_parameters.keys() or (operation.method == "delete" and "run_id" in names):
                continue  # nothing to pin; deleting the seeded run would leave the rest nothing to reach
            pinned = {name: value for name, value in path_parameters.items() if name in names}
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode, path_parameters=pinned)

            @settings
            @hypothesis.given(case=strategy)
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                check()
            except hypothesis.errors.Unsatisfiable:
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label  # nothing to make invalid
            except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures are reported
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}")
    return failures


def test_every_operation_answers_as_documented(fuzzed_server: ServerProcess) -> None:
    failures = fuzz(fuzzed_server)
    assert not failures, "\n\n".join(failures)


def test_every_operation_on_a_real_run_answers_as_documented(fuzzed_server: ServerProcess) -> None:
    failures = fuzz(fuzzed_server, SEEDED)
    assert not failures, "\n\n".join(failures)


def test_the_event_stream_answers_as_documented(fuzzed_server: ServerProcess) -> None:
    """``/events`` never ends, so each generated request is sent by hand: the status and headers are
    checked, and an opened stream must start with its ``: connected`` comment; then it is closed."""
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.url}/api/v1/openapi.json")
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().path == "/api/v1/events")
    documented = {int(status) for status in operation.definition.raw["responses"]}
    headers = {"Authorization": f"Bearer {fuzzed_server.admin_key}"}
    settings = fuzz_settings("sqlite" if fuzzed_server.store_url.startswith("sqlite") else "postgresql")
    seen: list[int] = []
    with httpx.Client(timeout=10) as client:
        def entity_root(case: schemathesis.Case) -> schemathesis.Case:  # a stream that opens
            case.query = {**(case.query or {}), "entity": "root"}
            return case

        for mode, strategy in ((schemathesis.GenerationMode.POSITIVE, operation.as_strategy()),
                               (schemathesis.GenerationMode.POSITIVE, operation.as_strategy().map(entity_root)),
                               (schemathesis.GenerationMode.NEGATIVE, operation.as_strategy(
                                   schemathesis.GenerationMode.NEGATIVE))):

            @settings
            @hypothesis.given(case=strategy)
            def check(case: schemathesis.Case) -> None:
                request = case.as_transport_kwargs(base_url=fuzzed_server.url, headers=headers)
                with client.stream("GET", request["url"], params=request.get("params"),
                                   headers=request["headers"]) as response:
                    seen.append(response.status_code)
                    assert response.status_code in documented, (response.status_code, request)
                    if mode is schemathesis.GenerationMode.NEGATIVE:
                        assert 400 <= response.status_code < 500, (response.status_code, request)
                    if response.status_code == 200:
                        assert response.headers["content-type"].startswith("text/event-stream")
                        assert next(response.iter_bytes()).startswith(b": connected"), request
                    else:
                        assert response.headers["content-type"] == "application/json", request
                        response.read()
                        assert response.json()["status"] == response.status_code

            check()
        for since in ("nan", "inf", "1e999"):  # a JSON number never is: a stream from then would stay silent
            refused = client.get(f"{fuzzed_server.url}/api/v1/events", params={"entity": "root", "since": since},
                                 headers=headers)
            assert refused.status_code == 400 and "'since'" in refused.json()["detail"], refused.text
    assert 200 in seen and any(400 <= status < 500 for status in seen), seen


def test_what_fuzzing_stored_reads_back_as_the_protocol_says(fuzzed_server: ServerProcess) -> None:
    """After both passes: every entity, project, run, key and file listed decodes strictly, and
    can be reached again by the names the listing gives."""
    with api(fuzzed_server) as client:
        viewer = msgspec.convert(client.get("/viewer").json(), p.Viewer)
        assert viewer.user == "root"
        runs_seen = 0
        for entity in viewer.entities:
            projects = client.get(f"/entities/{entity.name}/projects")
            assert projects.status_code == 200, projects.text
            for project in msgspec.convert(projects.json(), list[p.ProjectInfo]):
                listing = client.get(f"/runs/{entity.name}/{_segment(project.name)}")
                assert listing.status_code == 200, (project.name, listing.text)
                found = msgspec.convert(listing.json(), list[p.RunInfo])
                assert len(found) == project.run_count == int(listing.headers["X-Total-Count"])
                for run in found:
                    path = f"/runs/{entity.name}/{_segment(project.name)}/{_segment(run.run_id)}"
                    again = client.get(path)
                    assert again.status_code == 200, (path, again.text)
                    assert msgspec.convert(again.json(), p.RunInfo).run_id == run.run_id
                    assert client.get(path + "/history/keys").status_code == 200
                    files = msgspec.convert(client.get(path + "/files").json(), list[p.RunFile])
                    for file in files:
                        download = client.get(f"{path}/files/{_segment(file.path, keep='/')}")
                        assert download.status_code == 200 and len(download.content) == file.size, file.path
                    runs_seen += 1
        assert runs_seen >= 1
        seeded = client.get("/runs/root/fuzz/fuzz0001/history", params={"keys": "loss"}).json()["rows"]
        assert [row["_step"] for row in seeded][:20] == list(range(20))
        msgspec.convert(client.get("/keys").json(), list[p.ApiKeyInfo])


def _segment(name: str, keep: str = "") -> str:
    """``name`` as one URL path segment (or several, split at ``keep``): whatever it holds."""
    return quote(name, safe=keep)



# -- U+0000: what PostgreSQL's text and jsonb refuse ------------------------------------------------------

NUL_RUN = {"project": "nul\x00project", "run_id": "nul\x00run"}
NUL_PATH = "/runs/root/nul%00project/nul%00run"
VOLATILE = {"created_at", "updated_at", "heartbeat_at", "url", "timestamp", "_timestamp", "_runtime", "runtime"}


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def _nul_everywhere(server: ServerProcess) -> dict[str, Any]:
    """Write U+0000 through every way a client can (names, run attributes, config, summary, history keys
    and values, console text, metadata, a workspace layout, a file path); what reading it back answers."""
    answers: dict[str, Any] = {}
    with api(server) as client:
        opened = client.post("/runs", json=NUL_RUN)
        assert opened.status_code == 200, opened.text
        answers["handshake"] = opened.json()
        records = [
            encode(RecordType.START, {"run_id": NUL_RUN["run_id"], "project": NUL_RUN["project"], "start_time": 1.0,
                                      "name": "name\x00"}),
            encode(RecordType.CONFIG, {"set": {"text": "x\x00y", "key\x00": 1, "nested": {"n\x00": ["\x00"]}}}),
            encode(RecordType.RUN, {"notes": "notes\x00", "tags": ["tag\x00"], "group": "g\x00", "job_type": "j\x00"}),
            encode(RecordType.METADATA, {"program": "train\x00.py", "args": ["--x=\x00"]}),
            *(encode_history(step, 1.0 + step, True, {"value": step, "text": f"v{step}\x00", "met\x00ric": step})
              for step in range(3)),
            encode(RecordType.SUMMARY, {"set": [[["best\x00"], "b\x00"]], "remove": []}),
            encode(RecordType.OUTPUT, {"timestamp": 1.0, "stream": "stdout", "text": "line\x00with NUL"}),
            encode(RecordType.EXIT, {"exit_code": 0, "timestamp": 9.0, "runtime": 8.0}),
        ]
        upload = client.post(f"{NUL_PATH}/records", content=msgspec.msgpack.encode({"first_seq": 1, "records": records}),
                             headers={"Content-Type": p.RECORDS_CONTENT_TYPE})
        assert upload.status_code == 200, upload.text
        patched = client.patch(NUL_PATH, json={"notes": "patched\x00", "tags": ["tag\x00", "other\x00"]})
        assert patched.status_code == 200, patched.text
        answers["slash"] = [client.post("/runs", json={"project": "a/b", "run_id": "r"}).status_code,
                            client.post("/runs", json={"project": "p", "run_id": "a/b"}).status_code]
        answers["file"] = client.put(f"{NUL_PATH}/files/bad%00name.txt", content=b"x").status_code
        answers["run"] = client.get(NUL_PATH).json()
        answers["listing"] = client.get("/runs/root/nul%00project").json()
        answers["keys"] = client.get(f"{NUL_PATH}/history/keys").json()
        answers["history"] = client.get(f"{NUL_PATH}/history", params={"keys": "value,text,met\x00ric,met\ufffdric"}).json()
        answers["console"] = client.get(f"{NUL_PATH}/console").json()
        filtered = client.get("/runs/root/nul%00project", params={"filters": '{"config.text": "x\\u0000y"}',
                                                                   "order": "-config.key\x00"})
        assert filtered.status_code == 200, filtered.text
        answers["filtered"] = [r["run_id"] for r in filtered.json()]
        answers["projects"] = sorted(x["name"] for x in client.get("/entities/root/projects").json())
    return _without_volatile(answers)


def test_nul_characters_read_back_the_same_on_both_stores(postgres_server: PostgresServer, tmp_path: Path) -> None:
    """PostgreSQL's text and jsonb cannot hold U+0000; SQLite can. A client writing it anywhere gets
    no 500, nothing half-stored, and the same answers from either store."""
    answers = {}
    for store_name, store_url in (("sqlite", f"sqlite:///{tmp_path / 'store.db'}"),
                                  ("postgresql", postgres_server.create_database())):
        root = tmp_path / store_name
        data_dir, config_dir = root / "server-data", root / "config"
        data_dir.mkdir(parents=True)
        port = free_port()
        server = ServerProcess(f"http://127.0.0.1:{port}", port, data_dir, config_dir, "", store_url)
        server.start()
        try:
            parser = configparser.ConfigParser()
            parser.read(config_dir / "settings")
            server.admin_key = parser["default"]["api_key"]
            answers[store_name] = _nul_everywhere(server)
        finally:
            server.stop()
    sqlite, postgresql = answers["sqlite"], answers["postgresql"]
    for part in sqlite:
        assert sqlite[part] == postgresql[part], part
    run = sqlite["run"]
    assert run["config"]["text"] == "x\x00y" and run["summary"]["best\x00"] == "b\x00"  # JSON values: as written
    assert [row["text"] for row in sqlite["history"]["rows"]] == ["v0\x00", "v1\x00", "v2\x00"]
    assert sqlite["slash"] == [400, 400]  # a project or run id with "/" could never be reached by its path
    assert sqlite["file"] == 400  # a file path: refused, naming the rule
    assert sqlite["filtered"] == [run["run_id"]]  # a filter by the value as written finds it
    # text columns (names, console lines, metric keys) hold U+0000 as U+FFFD on both stores
    assert sqlite["console"]["lines"][0]["text"] == "line\ufffdwith NUL" and run["name"] == "name\ufffd"
    assert "met\ufffdric" in sqlite["keys"]["keys"]

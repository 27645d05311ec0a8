"""Schemathesis fuzzes every operation of the server's own OpenAPI document, with a real API key.

It generates valid and invalid paths, queries and bodies from the document and checks what
a client relies on: no 500, a status the document lists, the declared content type and a
body matching the declared schema. One pass leaves the path free (mostly "not found"); one
pins it to a run that exists, so queries and bodies reach the code behind the lookups.
Afterwards everything the API lists must still read back as the protocol describes it.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import hypothesis
import hypothesis.errors
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
from tracklet import protocol as p
from tracklet.runlog.records import RecordType, encode, encode_history

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
# A bounded run (about a minute of CPU in all): each operation gets this many generated cases.
MAX_EXAMPLES = 12
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
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


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server with one run (history, console, a file) for the pinned pass to reach."""
    root = tmp_path_factory.mktemp("fuzz")
    data_dir, config_dir = root / "server-data", root / "config"
    data_dir.mkdir()
    port = free_port()
    server = ServerProcess(f"http://127.0.0.1:{port}", port, data_dir, config_dir, "",
                           f"sqlite:///{data_dir / 'store.db'}")
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
    """Every operation but the event stream (it never ends; test_access_sweep.py covers its answers),
    with valid and with invalid input: what failed, one line per operation and mode."""
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
    schema.config.update(base_url=server.url)
    # The key is ours, not generated; unknown query parameters are ignored (docs/http-api.md), not invalid.
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    headers = {"Authorization": f"Bearer {server.admin_key}"}
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

            @FUZZ_SETTINGS
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


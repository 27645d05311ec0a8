"""The workspace layout route (GET/PUT /projects/{entity}/{project}/workspace) on a real server:
saved per project, read back by another client, bad documents refused naming the field, and
nobody outside the entity reads or writes it."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerProcess, api
from tracklet.protocol import MAX_LAYOUT_BYTES

LAYOUT = "/projects/root/demo/workspace"


@pytest.fixture
def project(server: ServerProcess) -> ServerProcess:
    """A project with one run (a project exists once a run started in it)."""
    with api(server) as client:
        assert client.post("/runs", json={"project": "demo", "run_id": "run00001"}).status_code == 200
    return server


def test_a_saved_layout_is_read_back_by_another_client(project: ServerProcess) -> None:
    with api(project) as client:
        default = client.get(LAYOUT)
        assert default.status_code == 200
        assert default.json() == {"density": "comfortable", "sidebar_collapsed": False, "sections": {},
                                  "updated_at": None}
        document = {"density": "large", "sidebar_collapsed": True, "sections": {
            "train": {"order": ["train/loss", "train/acc"], "sizes": {"train/loss": {"columns": 2, "height": 400}}},
            "": {"order": ["lr"]}}}
        saved = client.put(LAYOUT, json=document)
        assert saved.status_code == 200, saved.text
        assert saved.json()["updated_at"] > 0
    with api(project) as other:  # another connection: what a second browser sees
        read = other.get(LAYOUT).json()
    assert read["density"] == "large" and read["sidebar_collapsed"] is True
    assert read["sections"]["train"] == document["sections"]["train"]
    assert read["sections"][""] == {"order": ["lr"]}
    # media panels' sections, apart from the chart sections of the same prefix
    with api(project) as client:
        media = {"sections": {"samples": {"order": ["samples/x"]},
                              "_media:samples": {"order": ["samples/b", "samples/x"],
                                                 "sizes": {"samples/x": {"columns": 3, "height": 400}}},
                              "_media:": {"sizes": {"predictions": {"columns": 1}}}}}
        assert client.put(LAYOUT, json=media).status_code == 200
        sections = client.get(LAYOUT).json()["sections"]
    assert sections["_media:samples"] == media["sections"]["_media:samples"]
    assert sections["samples"] == {"order": ["samples/x"]}
    assert sections["_media:"] == {"sizes": {"predictions": {}}}  # one column: the default, left out
    # a save replaces the whole document
    with api(project) as client:
        assert client.put(LAYOUT, json={"density": "compact"}).status_code == 200
        assert client.get(LAYOUT).json()["sections"] == {}


@pytest.mark.parametrize("document, field", [
    ({"density": "huge"}, "$.density"),
    ({"colour": "red"}, "colour"),
    ({"sections": {"train": {"sizes": {"train/loss": {"columns": 7}}}}}, "$.sections[...].sizes[...].columns"),
    ({"sections": {"train": {"sizes": {"train/loss": {"height": 50}}}}}, "$.sections[...].sizes[...].height"),
    ({"sections": {"train": {"order": "train/loss"}}}, "$.sections[...].order"),
    ({"sections": {"train": {"order": ["a"] * 1001}}}, "$.sections[...].order"),
    ({"sections": {"train": {"order": ["a", "a"]}}}, "sections['train'].order"),
    ({"sections": {f"s{i}": {"order": [f"k{j}" for j in range(900)]} for i in range(6)}}, "'sections'"),
    ({"sidebar_collapsed": "yes"}, "$.sidebar_collapsed"),
    ({"sections": {"_other": {"order": ["a"]}}}, "'_other': a section name starting with '_' is reserved"),
])
def test_bad_documents_are_refused_naming_the_field(project: ServerProcess, document: dict, field: str) -> None:
    with api(project) as client:
        assert client.put(LAYOUT, json={"density": "large"}).status_code == 200
        answer = client.put(LAYOUT, json=document)
        assert answer.status_code == 400, answer.text
        assert field in answer.json()["detail"]
        assert client.get(LAYOUT).json()["density"] == "large"  # the stored layout is untouched


def test_bodies_that_are_not_layouts(project: ServerProcess) -> None:
    with api(project) as client:
        not_json = client.put(LAYOUT, content=b"{density", headers={"Content-Type": "application/json"})
        assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["detail"]
        huge = client.put(LAYOUT, content=b" " * (MAX_LAYOUT_BYTES + 1), headers={"Content-Type": "application/json"})
        assert huge.status_code == 413 and str(MAX_LAYOUT_BYTES) in huge.json()["detail"]


def test_other_entities_and_missing_projects_are_not_found(project: ServerProcess) -> None:
    with api(project) as admin:
        bob_key = admin.post("/users", json={"name": "bob"}).json()["api_key"]
        assert admin.put(LAYOUT, json={"density": "large"}).status_code == 200
        missing = admin.get("/projects/root/nothing-here/workspace")
        assert missing.status_code == 404 and "nothing-here" in missing.json()["detail"]
        assert admin.put("/projects/root/nothing-here/workspace", json={}).status_code == 404
    with api(project, bob_key) as bob:
        for answer in (bob.get(LAYOUT), bob.put(LAYOUT, json={"density": "compact"})):
            assert answer.status_code == 404, answer.text
            assert "root" in answer.json()["detail"] and "large" not in answer.text
    assert httpx.get(project.url + "/api/v1" + LAYOUT).status_code == 401
    with api(project) as admin:
        assert admin.get(LAYOUT).json()["density"] == "large"

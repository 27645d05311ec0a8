"""Filter documents and orders (``server/store/filters.py``): what is accepted, and the errors for
what is not. What they select is the store's to say: ``FILTER_CASES`` and ``ORDER_CASES`` below
are run against every backend by ``tests/integration/test_store_conformance.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tracklet.server.errors import BadRequest
from tracklet.server.store import filters
from tracklet.server.store.runs import CRASH_AFTER_SECONDS

NOW = 1_700_000_000.0


def row(run_id: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "run_id": run_id, "name": None, "state": "finished", "tags": [], "group": "", "job_type": "",
        "config": {}, "summary": {}, "created_at": NOW, "updated_at": NOW, "heartbeat_at": NOW,
    }
    values.update(fields)
    return values


ROWS = [
    row("a", name="alpha", tags=["base", "v1"], group="sweep-1", job_type="train", created_at=NOW - 30,
        config={"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "use_aug": True},
        summary={"loss": 0.5, "acc": 0.8, "val": {"loss": 0.6}}),
    row("b", name="beta", tags=["v2"], group="sweep-1", job_type="eval", created_at=NOW - 20, state="failed",
        config={"lr": 0.01, "opt": {"name": "sgd"}, "use_aug": 1}, summary={"loss": "NaN", "acc": 0.1}),
    row("c", name="Gamma", created_at=NOW - 10, state="running", heartbeat_at=NOW - CRASH_AFTER_SECONDS - 1,
        config={"lr": 0.001, "opt": {"name": "adam"}}, summary={"loss": 0.2, "acc": "Infinity"}),
    row("d", name=None, tags=["base"], created_at=NOW, state="running", heartbeat_at=NOW,
        config={"lr": "auto"}, summary={}),
]


# (document, the ids of ROWS it selects in the default order: newest first)
FILTER_CASES = [
    (None, ["d", "c", "b", "a"]),
    ({}, ["d", "c", "b", "a"]),
    ({"config.lr": 0.1}, ["a"]),
    ({"config.opt.name": "adam"}, ["c", "a"]),
    ({"config.opt": {"name": "sgd"}}, ["b"]),
    ({"config.opt.betas": 0.99}, ["a"]),
    ({"config.use_aug": True}, ["a"]),  # a boolean is not the number 1
    ({"config.lr": {"$gt": 0.005}}, ["b", "a"]),
    ({"config.lr": {"$gte": "a"}}, ["d"]),  # text compares with text only
    ({"summary.loss": {"$lt": 0.55}}, ["c", "a"]),
    ({"summary.acc": {"$gt": 0.5}}, ["c", "a"]),  # "Infinity" is a number
    ({"summary.loss": "NaN"}, ["b"]),
    ({"summary.loss": {"$lte": "Infinity"}}, ["c", "a"]),  # NaN compares false
    ({"summary.val.loss": {"$exists": True}}, ["a"]),
    ({"summary.loss": {"$exists": False}}, ["d"]),
    ({"summary.loss": None}, ["d"]),
    ({"tags": "base"}, ["d", "a"]),
    ({"tags": {"$in": ["v1", "v2"]}}, ["b", "a"]),
    ({"tags": {"$nin": ["base"]}}, ["c", "b"]),
    ({"tags": {"$all": ["base", "v1"]}}, ["a"]),
    ({"tags": {"$ne": "base"}}, ["c", "b"]),
    ({"tags": ["v2"]}, ["b"]),
    ({"state": "crashed"}, ["c"]),  # running, but not heard from in time
    ({"state": {"$in": ["finished", "failed"]}}, ["b", "a"]),
    ({"group": "sweep-1", "job_type": "eval"}, ["b"]),
    ({"group": {"$exists": False}}, ["d", "c"]),
    ({"jobType": "train"}, ["a"]),
    ({"name": {"$regex": "^gam", "$options": "i"}}, ["c"]),
    ({"display_name": {"$regex": "a$"}}, ["c", "b", "a"]),
    ({"name": {"$not": {"$regex": "^a"}}}, ["d", "c", "b"]),
    ({"run_id": {"$ne": "a"}}, ["d", "c", "b"]),
    ({"$or": [{"config.lr": 0.1}, {"state": "failed"}]}, ["b", "a"]),
    ({"$and": [{"tags": "base"}, {"config.lr": {"$lt": 1}}]}, ["a"]),
    ({"$nor": [{"tags": "base"}, {"state": "failed"}]}, ["c"]),
    ({"$not": {"tags": "base"}}, ["c", "b"]),
    ({"created_at": {"$gte": NOW - 20}}, ["d", "c", "b"]),
    ({"createdAt": {"$lt": "2023-11-14T22:13:10Z"}}, ["b", "a"]),  # NOW - 10 in ISO 8601
    ('{"config.lr": {"$in": [0.1, 0.01]}}', ["b", "a"]),  # JSON text, as the query string carries it
]

# (order, the ids of ROWS in that order)
ORDER_CASES = [
    (None, ["d", "c", "b", "a"]),
    ("+created_at", ["a", "b", "c", "d"]),
    (" created_at", ["a", "b", "c", "d"]),  # "+" decoded from a query string is a space
    ("summary.loss", ["c", "a", "b", "d"]),  # NaN and missing last
    ("-summary.loss", ["a", "c", "b", "d"]),
    ("-summary.acc", ["c", "a", "b", "d"]),
    ("config.lr", ["c", "b", "a", "d"]),  # numbers before text
    ("name", ["c", "a", "b", "d"]),  # text by code point ("G" < "a"), as MongoDB does
    ("-summary_metrics.acc", ["c", "a", "b", "d"]),
]


@pytest.mark.parametrize(("document", "expected"), FILTER_CASES)
def test_every_case_is_a_valid_document(document: Any, expected: list[str]) -> None:
    filters.parse_filter(document)


@pytest.mark.parametrize(("order", "expected"), ORDER_CASES)
def test_orders_parse(order: str | None, expected: list[str]) -> None:
    path, descending = filters.parse_order(order)
    assert path[0] in filters.FIELDS and descending == (order or "-").startswith("-")


@pytest.mark.parametrize(("document", "message"), [
    ("{not json", "filters is not valid JSON"),
    ([1], "filters must be a JSON object, got a list"),
    ({"color": "red"}, "unknown field 'color'"),
    ({"config": 1}, "'config' needs a key, as in 'config.lr'"),
    ({"state.x": 1}, "field 'state' has no sub-fields"),
    ({"config.lr": {"$gt": [1]}}, 'filters["config.lr"]["$gt"] needs a number or a string, got a list'),
    ({"config.lr": {"$near": 1}}, "unknown operator '$near'"),
    ({"config.lr": {"$gt": 1, "x": 2}}, "cannot mix operators"),
    ({"tags": {"$in": "a"}}, '["tags"]["$in"] needs a list, got a string'),
    ({"tags": {"$exists": 1}}, "needs true or false"),
    ({"name": {"$regex": "("}}, "invalid regular expression"),
    ({"name": {"$regex": "a", "$options": "q"}}, "$options must be made of the letters"),
    ({"name": {"$options": "i"}}, "$options needs $regex"),
    ({"name": {"$not": "a"}}, "needs an operator document"),
    ({"$or": []}, 'filters["$or"] must be a non-empty list'),
    ({"$or": [{"state": "finished"}, 3]}, 'filters["$or"][1] must be a JSON object, got a number'),
    ({"$where": "1"}, "unknown operator '$where'"),
    ({"created_at": {"$gt": "yesterday"}}, "created_at takes epoch seconds or an ISO 8601 time"),
])
def test_invalid_filters_name_the_bad_part(document: Any, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        filters.parse_filter(document)
    assert message in caught.value.detail


@pytest.mark.parametrize("order", ["-nothing", "summary", "+", "tags.x"])
def test_invalid_order(order: str) -> None:
    with pytest.raises(BadRequest, match="order"):
        filters.parse_order(order)

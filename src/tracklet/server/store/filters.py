"""Filtering and ordering a project's runs with MongoDB-style filter documents, as the original's API.

``{"config.opt.name": "adam", "summary.loss": {"$lt": 0.1}, "tags": "best", "$or": [...]}``: every
condition must hold. Fields: ``config.<path>`` and ``summary.<path>`` (``.`` nests, ``\\.`` is a
literal dot), ``tags``, ``state``, ``group``, ``job_type``, ``name``, ``run_id``, ``created_at``,
``updated_at`` (epoch seconds; ISO 8601 text in conditions), and the original's aliases
(``ALIASES``). A run without a group, job type or name lacks that field. Operators: ``$eq $ne $gt
$gte $lt $lte $in $nin $all $exists $regex`` (``$options``) ``$not`` on a field, ``$and $or $nor
$not`` on documents; a plain value means ``$eq``. As in MongoDB, a condition on a list holds when it
holds for an element (``{"tags": "x"}``: has tag x), ``null`` matches a missing field, and order
compares like with like (numbers, then text); "NaN"/"Infinity"/"-Infinity", how stored summaries
hold non-finite floats, count as numbers. An order is a field, ``-`` first for descending; runs
without a comparable value come last. Users' reference: ``docs/api.md``.

Evaluated in Python over the project's runs, fine at today's sizes; a translation to SQL (JSON
operators of SQLite and PostgreSQL) can come later behind these functions.
"""

from __future__ import annotations

import json
import operator
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import msgspec

from tracklet.runlog.metrics import split_name
from tracklet.server.errors import BadRequest
from tracklet.server.store.runs import effective_state

Predicate = Callable[[dict[str, Any]], bool]
Order = tuple[tuple[str, ...], bool]  # (field path, descending)

FIELDS = ("config", "summary", "tags", "state", "group", "job_type", "name", "run_id", "created_at", "updated_at")
ALIASES = {"summary_metrics": "summary", "display_name": "name", "jobType": "job_type",
           "createdAt": "created_at", "updatedAt": "updated_at"}
NESTED = ("config", "summary")
TIMES = ("created_at", "updated_at")
NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
COMPARISONS = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}
_MISSING = object()


def parse_filter(document: Any) -> Predicate:
    """Validate a filter document (decoded, or JSON text) and return its test of a run's fields."""
    if document is None or document == "":
        return lambda fields: True
    if isinstance(document, (str, bytes)):
        try:
            document = msgspec.json.decode(document)
        except msgspec.DecodeError as exc:
            raise BadRequest(f"filters is not valid JSON: {exc}") from None
    return _document(document, "filters")


def parse_order(text: str | None) -> Order:
    """``"-summary.loss"`` → (("summary", "loss"), True); ``+``, or no sign, is ascending."""
    text = (text or "-created_at").strip()  # a "+" in a query string arrives as a space
    descending = text.startswith("-")
    return _field(text[1:] if text[:1] in "+-" else text, "order"), descending


def select(rows: Iterable[Any], condition: Predicate, order: Order, now: float | None = None) -> list[Any]:
    """The rows whose fields pass ``condition``, ordered; rows without a comparable value last."""
    now = time.time() if now is None else now
    path, descending = order
    ranked, unranked = [], []
    for row in rows:
        fields = run_fields(row, now)
        if condition(fields):
            key = _rank(_lookup(fields, path))
            if key is None:
                unranked.append(row)
            else:
                ranked.append((key, row))
    ranked.sort(key=lambda pair: pair[0], reverse=descending)
    return [row for _, row in ranked] + unranked


def run_fields(row: Any, now: float) -> dict[str, Any]:
    """The filterable fields of a stored run; fields a run does not have are left out."""
    fields = {"config": row.config, "summary": row.summary, "tags": list(row.tags),
              "state": effective_state(row, now), "run_id": row.run_id,
              "created_at": row.created_at, "updated_at": row.updated_at}
    fields.update({name: value for name in ("group", "job_type", "name") if (value := getattr(row, name))})
    return fields


# -- parsing -------------------------------------------------------------------------------


def _where(where: str, key: str | int) -> str:
    return f"{where}[{json.dumps(key)}]"


def _combined(parts: list[Predicate], combine: Callable[[Iterable[bool]], bool]) -> Predicate:
    return lambda fields: combine(part(fields) for part in parts)


def _negated(inner: Predicate) -> Predicate:
    return lambda fields: not inner(fields)


def _field_test(path: Any, check: Callable[[Any], bool]) -> Predicate:
    return lambda fields: check(_lookup(fields, path))


def _document(document: Any, where: str) -> Predicate:
    if not isinstance(document, dict):
        raise BadRequest(f"{where} must be a JSON object, got {_kind(document)}")
    tests: list[Predicate] = []
    for key, value in document.items():
        here = _where(where, key)
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list) or not value:
                raise BadRequest(f"{here} must be a non-empty list of filter documents")
            parts = [_document(part, _where(here, i)) for i, part in enumerate(value)]
            combine = {"$and": all, "$or": any, "$nor": lambda tests: not any(tests)}[key]
            tests.append(_combined(parts, combine))
        elif key == "$not":
            inner = _document(value, here)
            tests.append(_negated(inner))
        elif key.startswith("$"):
            raise BadRequest(f"{here}: unknown operator {key!r} here; use $and, $or, $nor, $not or a field name")
        else:
            path = _field(key, where)
            check = _condition(value, here, path[0])
            tests.append(_field_test(path, check))
    return lambda fields: all(test(fields) for test in tests)


def _field(name: Any, where: str) -> tuple[str, ...]:
    path = split_name(name) if isinstance(name, str) else ("",)
    head = ALIASES.get(path[0], path[0])
    if head not in FIELDS or not all(path):
        raise BadRequest(f"{where}: unknown field {name!r}; fields are config.<key>, summary.<key>, "
                         f"{', '.join(FIELDS[2:])}")
    if head in NESTED and len(path) == 1:
        raise BadRequest(f"{where}: {name!r} needs a key, as in '{head}.lr' ('.' nests, '\\.' is a literal dot)")
    if head not in NESTED and len(path) > 1:
        raise BadRequest(f"{where}: field {head!r} has no sub-fields, got {name!r}")
    return (head, *path[1:])


def _condition(value: Any, where: str, field: str) -> Callable[[Any], bool]:
    operators = isinstance(value, dict) and [key for key in value if key.startswith("$")]
    if not operators:
        return _equals(_operand(value, field, where))
    if len(operators) != len(value):
        raise BadRequest(f"{where}: cannot mix operators ({', '.join(operators)}) with plain keys")
    if "$options" in value and "$regex" not in value:
        raise BadRequest(f"{where}: $options needs $regex")
    checks = [_operator(op, arg, value, _where(where, op), field) for op, arg in value.items() if op != "$options"]
    return lambda v: all(check(v) for check in checks)


def _operator(op: str, arg: Any, siblings: dict[str, Any], where: str, field: str) -> Callable[[Any], bool]:
    if op == "$eq":
        return _equals(_operand(arg, field, where))
    if op == "$ne":
        equal = _equals(_operand(arg, field, where))
        return lambda v: not equal(v)
    if op in COMPARISONS:
        bound, compare = _rank(_operand(arg, field, where)), COMPARISONS[op]
        if bound is None:
            raise BadRequest(f"{where} needs a number or a string, got {_kind(arg)}")
        return lambda v: any((k := _rank(x)) is not None and k[0] == bound[0] and compare(k[1], bound[1])
                             for x in _elements(v))
    if op in ("$in", "$nin", "$all"):
        if not isinstance(arg, list):
            raise BadRequest(f"{where} needs a list, got {_kind(arg)}")
        options = [_equals(_operand(a, field, where)) for a in arg]
        if op == "$all":
            return lambda v: v is not _MISSING and all(option(v) for option in options)
        found = lambda v: any(option(v) for option in options)  # noqa: E731
        return found if op == "$in" else lambda v: not found(v)
    if op == "$exists":
        if not isinstance(arg, bool):
            raise BadRequest(f"{where} needs true or false, got {_kind(arg)}")
        return lambda v: (v is not _MISSING) == arg
    if op == "$regex":
        return _regex(arg, siblings.get("$options", ""), where)
    if op == "$not":
        if not (isinstance(arg, dict) and arg and all(key.startswith("$") for key in arg)):
            raise BadRequest(f"{where} needs an operator document, as in {{\"$not\": {{\"$gt\": 1}}}}")
        inner = _condition(arg, where, field)
        return lambda v: not inner(v)
    raise BadRequest(f"{where}: unknown operator {op!r}; use one of $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, "
                     "$all, $exists, $regex (with $options), $not")


def _regex(pattern: Any, options: Any, where: str) -> Callable[[Any], bool]:
    if not isinstance(pattern, str):
        raise BadRequest(f"{where} needs a string, got {_kind(pattern)}")
    flags = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
    if not isinstance(options, str) or any(letter not in flags for letter in options):
        raise BadRequest(f"{where}: $options must be made of the letters i, m, s, x; got {options!r}")
    try:
        compiled = re.compile(pattern, sum(flags[letter] for letter in set(options)))
    except re.error as exc:
        raise BadRequest(f"{where}: invalid regular expression {pattern!r}: {exc}") from None
    return lambda v: any(isinstance(x, str) and compiled.search(x) is not None for x in _elements(v))


def _operand(arg: Any, field: str, where: str) -> Any:  # times may be ISO 8601 text (UTC by default)
    if field not in TIMES or not isinstance(arg, str):
        return arg
    try:
        moment = datetime.fromisoformat(arg.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{where}: {field} takes epoch seconds or an ISO 8601 time, got {arg!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


# -- evaluation ----------------------------------------------------------------------------


def _lookup(fields: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = fields
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _elements(value: Any) -> list[Any]:
    return [] if value is _MISSING else value if isinstance(value, list) else [value]


def _same(a: Any, b: Any) -> bool:
    """Equal, but a boolean is not the number 1 (as in MongoDB)."""
    return bool(a == b) and (type(a) is type(b) or not isinstance(a, bool) and not isinstance(b, bool))


def _equals(target: Any) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if value is _MISSING:
            return target is None
        return _same(value, target) or (isinstance(value, list) and any(_same(x, target) for x in value))

    return check


def _rank(value: Any) -> tuple[int, Any] | None:
    """A sort key that only compares like with like: (0, number), (1, text); None when unordered."""
    value = NON_FINITE.get(value, value) if isinstance(value, str) else value
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return (0, value)
    return None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)

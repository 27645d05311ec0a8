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

A document is checked here, then translated to one SQL condition and one ORDER BY over the runs
table: the database filters, sorts and pages (``runs.list_runs``). JSON values are read with each
backend's JSON functions: SQLite's ``json_type``/``json_extract``/``json_each`` on the config,
summary and tags JSON text; PostgreSQL's ``jsonb_typeof``/``->``/``jsonb_array_elements`` on their
``jsonb`` filter copies (``schema.runs``, written with them), parsed once when written (the field
values: ``filter_values``). On PostgreSQL an equality with plain values on config, summary or tags
is a containment (``@>``), which a GIN index answers.
Every condition is made definite (true or false, never SQL NULL), so ``$not``/``$nor``/``$ne`` of a
missing value behave as in MongoDB.
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import Select

from tracklet.runlog.metrics import split_name
from tracklet.server.errors import BadRequest
from tracklet.server.store.filter_values import (NON_FINITE, Column, PostgresJson, SqliteJson, Value,
                                                 containable)
from tracklet.server.store.schema import runs

FIELDS = ("config", "summary", "tags", "state", "group", "job_type", "name", "run_id", "created_at", "updated_at")
ALIASES = {"summary_metrics": "summary", "display_name": "name", "jobType": "job_type",
           "createdAt": "created_at", "updatedAt": "updated_at"}
NESTED = ("config", "summary")
TIMES = ("created_at", "updated_at")
COMPARISONS = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}
CRASH_AFTER_SECONDS = 300.0  # a running run not heard from for this long is reported as crashed

Order = tuple[tuple[str, ...], bool]  # (field path, descending)


class Scope:
    """Where a condition is turned into SQL: the backend's dialect, and the time "crashed" is judged at.

    On PostgreSQL each JSON value a condition reads is taken out of its document once per run, in a
    lateral subquery (``lateral``): a condition refers to a value many times (its kind, its number,
    its text), and each reference to a stored (compressed) document would decompress it again."""

    def __init__(self, dialect: str, now: float) -> None:
        self.dialect, self.now = dialect, now
        self.paths: dict[tuple[str, ...], str] = {}  # the JSON values read, and their names in ``lateral``
        self.lateral: Any = None

    def field(self, path: tuple[str, ...]) -> Value:
        head = path[0]
        if head in ("config", "summary", "tags"):
            if self.dialect == "sqlite":
                # the JSON text itself, or its copy where it held U+0000 (runs.with_filter_copies)
                value: Value = SqliteJson(func.coalesce(runs.c["filter_" + head], runs.c[head]), "$")
                for key in path[1:]:
                    value = value.child(key)
                return value
            name = self.paths.setdefault(path, f"v{len(self.paths)}")
            return PostgresJson(self.lateral.c[name] if self.lateral is not None else _extract(path))
        if head == "state":
            return Column(effective_state(self.now), numeric=False)
        if head in TIMES:
            return Column(runs.c[head], numeric=True)
        return Column(runs.c[head], numeric=False, optional=head != "run_id")

    def text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """Text compared by code point, as MongoDB (and Python) compare it, whatever the database's collation."""
        return value.collate("C") if self.dialect == "postgresql" else value


Condition = Callable[[Scope], ColumnElement[bool]]


def parse_filter(document: Any) -> Condition:
    """Validate a filter document (decoded, or JSON text) and return its condition on runs."""
    if document is None or document == "":
        return lambda scope: true()
    if isinstance(document, (str, bytes)):
        try:
            document = msgspec.json.decode(document)
        except msgspec.DecodeError as exc:
            raise BadRequest(f"filters is not valid JSON: {exc}") from None
    from tracklet.server.store.runs import without_nul  # runs imports this module

    return _document(without_nul(document), "filters")  # as the filter copies hold U+0000: U+FFFD


def parse_order(text: str | None) -> Order:
    """``"-summary.loss"`` → (("summary", "loss"), True); ``+``, or no sign, is ascending."""
    text = (text or "-created_at").strip().replace("\x00", "\ufffd")  # a "+" in a query string arrives as a space
    descending = text.startswith("-")
    return _field(text[1:] if text[:1] in "+-" else text, "order"), descending


def apply(query: Select[Any], condition: Condition, order: Order, dialect: str, now: float) -> Select[Any]:
    """``query`` (of the runs table) narrowed to the runs ``condition`` selects, in ``order``: runs with
    a comparable value (numbers before text, or after when descending), then those without; ties in
    creation order."""
    scope = Scope(dialect, now)
    if dialect == "postgresql":  # a first pass finds the JSON values read, taken out once in a lateral subquery
        condition(scope), _order_by(order, scope)
        values = [_extract(path).label(name) for path, name in scope.paths.items()]
        scope.lateral = select(*values).correlate(runs).offset(0).lateral("filtered") if values else None
    query = query.where(condition(scope)).order_by(*_order_by(order, scope))
    return query if scope.lateral is None else query.join(scope.lateral, true())


def _extract(path: tuple[str, ...]) -> ColumnElement[Any]:
    """A JSON value of a run's filter copy on PostgreSQL: ``jsonb``, SQL NULL when missing."""
    value: ColumnElement[Any] = runs.c["filter_" + path[0]]
    for key in path[1:]:
        value = value.op("->")(literal(key, String))
    return value


def _order_by(order: Order, scope: Scope) -> list[ColumnElement[Any]]:
    path, descending = order
    tie_break = [runs.c.created_at, runs.c.pk]
    if path[0] in TIMES:  # always a number: sort on the column itself (an index can serve it)
        column = runs.c[path[0]]
        return [column.desc() if descending else column, *tie_break]
    value = scope.field(path)
    number, text = value.rank_number(), value.rank_text()
    kind = case((number.is_not(None), 0), (text.is_not(None), 1))
    terms = [kind, number, scope.text(text)]
    return [case((kind.is_(None), 1), else_=0), *(t.desc() if descending else t for t in terms), *tie_break]


def effective_state(now: float) -> ColumnElement[str]:
    """The state a listing shows: "crashed" for a running run not heard from in time."""
    stale = and_(runs.c.state == "running", runs.c.heartbeat_at < now - CRASH_AFTER_SECONDS)
    return case((stale, literal("crashed", String)), else_=runs.c.state)


def prepare(connection: Any) -> None:
    """Give a SQLite connection the REGEXP function ``$regex`` needs (PostgreSQL has ``~``)."""
    if connection.dialect.name == "sqlite":
        connection.connection.driver_connection.create_function("regexp", 2, _sqlite_regexp, deterministic=True)


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _sqlite_regexp(pattern: str, value: Any) -> bool:
    return isinstance(value, str) and _compiled(pattern).search(value) is not None


# -- parsing -------------------------------------------------------------------------------


def _where(where: str, key: str | int) -> str:
    return f"{where}[{json.dumps(key)}]"


def _definite(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """SQL NULL (a missing value compared) as false: NOT must turn it into true, as in MongoDB."""
    return func.coalesce(condition, false())


def _document(document: Any, where: str) -> Condition:
    if not isinstance(document, dict):
        raise BadRequest(f"{where} must be a JSON object, got {_kind(document)}")
    tests: list[Condition] = []
    for key, value in document.items():
        here = _where(where, key)
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list) or not value:
                raise BadRequest(f"{here} must be a non-empty list of filter documents")
            parts = [_document(part, _where(here, i)) for i, part in enumerate(value)]
            tests.append(_combined(parts, key))
        elif key == "$not":
            tests.append(_negated(_document(value, here)))
        elif key.startswith("$"):
            raise BadRequest(f"{here}: unknown operator {key!r} here; use $and, $or, $nor, $not or a field name")
        else:
            path = _field(key, where)
            check = _condition(value, here, path[0])
            tests.append(_indexed(_field_test(path, check), path, value))
    return lambda scope: and_(true(), *(test(scope) for test in tests))


def _combined(parts: list[Condition], key: str) -> Condition:
    def condition(scope: Scope) -> ColumnElement[bool]:
        each = [part(scope) for part in parts]
        return and_(*each) if key == "$and" else or_(*each) if key == "$or" else not_(or_(*each))

    return condition


def _negated(inner: Condition) -> Condition:
    return lambda scope: not_(inner(scope))


def _field_test(path: tuple[str, ...], check: Check) -> Condition:
    return lambda scope: check(scope.field(path), scope)


def _indexed(test: Condition, path: tuple[str, ...], value: Any) -> Condition:
    """``test`` as a containment (``@>``) on PostgreSQL, when ``value`` is an equality (or ``$eq``, ``$in``)
    of config, summary or tags with plain values: ``{"config.opt": "adam"}`` holds exactly for a run
    whose config contains ``{"opt": "adam"}`` or ``{"opt": ["adam"]}`` (a list holding it; ``@>``
    matches an object's value by kind and equality, and a list's elements one level down). A GIN
    index (``jsonb_path_ops``, config and tags) answers it, and no value is taken out of the document."""
    if path[0] not in ("config", "summary", "tags"):
        return test
    if isinstance(value, dict) and list(value) in (["$eq"], ["$in"]):
        targets = value["$in"] if "$in" in value else [value["$eq"]]
    else:
        targets = [value]
    if not isinstance(targets, list) or not targets or not all(containable(t) for t in targets):
        return test
    documents: list[Any] = []
    for target in targets:
        for found in ([[target]] if path[0] == "tags" else [target, [target]]):  # tags are always a list
            for key in reversed(path[1:]):
                found = {key: found}
            documents.append(found)
    column = runs.c["filter_" + path[0]]

    def condition(scope: Scope) -> ColumnElement[bool]:
        if scope.dialect != "postgresql":
            return test(scope)
        return or_(*(column.op("@>", is_comparison=True)(literal(d, JSONB)) for d in documents))

    return condition


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


Check = Callable[[Value, Scope], ColumnElement[bool]]


def _condition(value: Any, where: str, field: str) -> Check:
    operators = isinstance(value, dict) and [key for key in value if key.startswith("$")]
    if not operators:
        return _equals(_operand(value, field, where))
    if len(operators) != len(value):
        raise BadRequest(f"{where}: cannot mix operators ({', '.join(operators)}) with plain keys")
    if "$options" in value and "$regex" not in value:
        raise BadRequest(f"{where}: $options needs $regex")
    checks = [_operator(op, arg, value, _where(where, op), field) for op, arg in value.items() if op != "$options"]
    return lambda v, scope: and_(*(check(v, scope) for check in checks))


def _operator(op: str, arg: Any, siblings: dict[str, Any], where: str, field: str) -> Check:
    if op == "$eq":
        return _equals(_operand(arg, field, where))
    if op == "$ne":
        equal = _equals(_operand(arg, field, where))
        return lambda v, scope: not_(equal(v, scope))
    if op in COMPARISONS:
        bound, compare = _rank(_operand(arg, field, where)), COMPARISONS[op]
        if bound is None:
            raise BadRequest(f"{where} needs a number or a string, got {_kind(arg)}")
        kind, limit = bound

        def ordered(v: Value, scope: Scope) -> ColumnElement[bool]:
            if kind == 0:
                return compare(v.rank_number(), v.bound(limit))
            return compare(scope.text(v.rank_text()), literal(limit, String))

        return _each_element(ordered)
    if op in ("$in", "$nin", "$all"):
        if not isinstance(arg, list):
            raise BadRequest(f"{where} needs a list, got {_kind(arg)}")
        options = [_equals(_operand(a, field, where)) for a in arg]
        if op == "$all":
            return lambda v, scope: and_(v.present(), *(option(v, scope) for option in options))
        found = lambda v, scope: or_(false(), *(option(v, scope) for option in options))  # noqa: E731
        return found if op == "$in" else lambda v, scope: not_(found(v, scope))
    if op == "$exists":
        if not isinstance(arg, bool):
            raise BadRequest(f"{where} needs true or false, got {_kind(arg)}")
        return lambda v, scope: v.present() if arg else not_(v.present())
    if op == "$regex":
        return _regex(arg, siblings.get("$options", ""), where)
    if op == "$not":
        if not (isinstance(arg, dict) and arg and all(key.startswith("$") for key in arg)):
            raise BadRequest(f"{where} needs an operator document, as in {{\"$not\": {{\"$gt\": 1}}}}")
        inner = _condition(arg, where, field)
        return lambda v, scope: not_(inner(v, scope))
    raise BadRequest(f"{where}: unknown operator {op!r}; use one of $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, "
                     "$all, $exists, $regex (with $options), $not")


def _each_element(test: Check) -> Check:
    """Holds for a value that passes ``test``, or a list with an element that does."""
    return lambda v, scope: or_(_definite(and_(not_(v.kind("array")), test(v, scope))),
                                v.any_element(lambda e: _definite(test(e, scope))))


# Python's flags as PostgreSQL's embedded options: without "m", "^"/"$" match at the ends only;
# without "s", "." matches no newline (PostgreSQL's p, n, w and s modes).
_NEWLINE_MODES = {(False, False): "p", (True, False): "n", (False, True): "s", (True, True): "w"}


def _regex(pattern: Any, options: Any, where: str) -> Check:
    if not isinstance(pattern, str):
        raise BadRequest(f"{where} needs a string, got {_kind(pattern)}")
    flags = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
    if not isinstance(options, str) or any(letter not in flags for letter in options):
        raise BadRequest(f"{where}: $options must be made of the letters i, m, s, x; got {options!r}")
    letters = "".join(sorted(set(options)))
    try:
        re.compile(pattern, sum(flags[letter] for letter in letters))
    except re.error as exc:
        raise BadRequest(f"{where}: invalid regular expression {pattern!r}: {exc}") from None
    python = f"(?{letters}){pattern}" if letters else pattern
    postgres = "(?" + "".join(c for c in letters if c in "ix") + _NEWLINE_MODES["m" in letters, "s" in letters] + ")"

    def matches(v: Value, scope: Scope) -> ColumnElement[bool]:
        if scope.dialect == "postgresql":
            return and_(v.kind("text"), v.text().op("~")(literal(postgres + pattern, String)))
        return and_(v.kind("text"), v.text().op("REGEXP")(literal(python, String)))

    return _each_element(matches)


def _operand(arg: Any, field: str, where: str) -> Any:  # times may be ISO 8601 text (UTC by default)
    if field not in TIMES or not isinstance(arg, str):
        return arg
    try:
        moment = datetime.fromisoformat(arg.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{where}: {field} takes epoch seconds or an ISO 8601 time, got {arg!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


# -- equality ------------------------------------------------------------------------------


def _equals(target: Any) -> Check:
    """A plain value: the field equals it, or is a list holding it; ``null`` also matches a missing field."""
    if target is None:
        return lambda v, scope: or_(not_(v.present()), _definite(v.kind("null")),
                                    v.any_element(lambda e: e.kind("null")))
    return lambda v, scope: or_(_definite(_same(v, target)), v.any_element(lambda e: _definite(_same(e, target))))


def _same(v: Value, target: Any, nested: bool = False) -> ColumnElement[bool]:
    """Equal; a boolean is not the number 1 (as in MongoDB), but inside a list or object Python's
    equality holds (True == 1), as it did when filters were evaluated in Python."""
    if target is None:
        return v.kind("null")
    quick = None if nested else v.equals(target)
    if quick is not None:
        return quick
    if isinstance(target, bool):
        same = v.kind("true" if target else "false")
        return or_(same, and_(v.kind("number"), v.number() == int(target))) if nested else same
    if isinstance(target, (int, float)):
        same = and_(v.kind("number"), v.number() == literal(target, Float))
        if nested and target in (0, 1):
            same = or_(same, v.kind("true" if target == 1 else "false"))
        return same
    if isinstance(target, str):
        return and_(v.kind("text"), v.text() == literal(target, String))
    if not v.nests or not isinstance(target, (dict, list)):
        return false()
    if isinstance(target, dict):
        parts = [_same(v.child(key), value, nested=True) for key, value in target.items()]
        return and_(v.kind("object"), v.size() == len(target), *parts)
    parts = [_same(v.item(i), value, nested=True) for i, value in enumerate(target)]
    return and_(v.kind("array"), v.size() == len(target), *parts)


def _rank(value: Any) -> tuple[int, Any] | None:
    """How a bound orders: (0, number), (1, text); None when unordered."""
    value = NON_FINITE.get(value, value) if isinstance(value, str) else value
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return (0, value)
    return None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)

"""A field of a run as SQL, for ``store.filters``: its kind, text, number, list elements and sort
keys, read from a runs-table column, from SQLite's JSON text (``json_type``/``json_extract``/
``json_each``) or from PostgreSQL's ``jsonb`` filter copies (``jsonb_typeof``/``->``/
``jsonb_array_elements``; numbers as ``numeric``, jsonb's own, compared with exact ``numeric``
constants; plain values compared by ``jsonb`` equality)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

# How stored summaries hold non-finite floats (JSON has no such numbers): they order as numbers.
NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}

_INF = float("inf")


class Value:
    """A field's value as SQL. ``kind`` tests its JSON kind: null, true, false, number, text, array, object."""

    nests = False

    def present(self) -> ColumnElement[bool]:
        raise NotImplementedError

    def kind(self, name: str) -> ColumnElement[bool]:
        raise NotImplementedError

    def text(self) -> ColumnElement[Any]:  # meaningful where kind("text")
        raise NotImplementedError

    def number(self) -> ColumnElement[Any]:  # meaningful where kind("number")
        raise NotImplementedError

    def child(self, key: str) -> Value:
        raise NotImplementedError

    def item(self, index: int) -> Value:
        raise NotImplementedError

    def size(self) -> ColumnElement[Any]:
        raise NotImplementedError

    def any_element(self, test: Callable[[Value], ColumnElement[bool]]) -> ColumnElement[bool]:
        """Whether the value is a list with an element passing ``test``."""
        return false()

    def bound(self, number: float) -> ColumnElement[Any]:
        """A number to compare ``rank_number`` with."""
        return literal(number, Float)

    def equals(self, target: Any) -> ColumnElement[bool] | None:
        """Equality with a plain value (text, boolean, number), done the backend's cheapest way; None: no such way."""
        return None

    def rank_number(self) -> ColumnElement[Any]:
        """The number this value orders as ("Infinity"/"-Infinity" text too); NULL when it is none."""
        special = [(and_(self.kind("text"), self.text() == name), literal(NON_FINITE[name], Float))
                   for name in ("Infinity", "-Infinity")]
        return case((self.kind("number"), self.number()), *special)

    def rank_text(self) -> ColumnElement[Any]:
        """The text this value orders as; NULL for numbers, "NaN"-like text and everything else."""
        return case((and_(self.kind("text"), self.text().not_in(list(NON_FINITE))), self.text()))


class Column(Value):
    """A column of the runs table: always text or always a number; ``optional`` ones lack the field when empty."""

    def __init__(self, column: ColumnElement[Any], numeric: bool, optional: bool = False) -> None:
        self.column, self.numeric, self.optional = column, numeric, optional

    def present(self) -> ColumnElement[bool]:
        return and_(self.column.is_not(None), self.column != "") if self.optional else true()

    def kind(self, name: str) -> ColumnElement[bool]:
        return self.present() if name == ("number" if self.numeric else "text") else false()

    def text(self) -> ColumnElement[Any]:
        return self.column

    def number(self) -> ColumnElement[Any]:
        return self.column

    def rank_number(self) -> ColumnElement[Any]:
        if self.numeric:
            return self.column
        return case(*((and_(self.present(), self.column == name), literal(NON_FINITE[name], Float))
                      for name in ("Infinity", "-Infinity")))

    def rank_text(self) -> ColumnElement[Any]:
        return literal(None, String) if self.numeric else super().rank_text()


def _path_join(path: str | ColumnElement[Any], step: str) -> str | ColumnElement[Any]:
    return path + step if isinstance(path, str) else path.concat(literal(step, String))


_PLAIN_KEY = re.compile(r'[ !#-\[\]-~]*')  # printable ASCII but '"' and '\\': the same raw and decoded


class SqliteJson(Value):
    """A value inside a JSON document in SQLite, addressed by a JSON path (text, or an expression)."""

    nests = True

    def __init__(self, document: ColumnElement[Any], path: str | ColumnElement[Any],
                 kind: ColumnElement[Any] | None = None, value: ColumnElement[Any] | None = None) -> None:
        self.document, self.path = document, path
        sql_path = literal(path, String) if isinstance(path, str) else path
        self.type = func.json_type(document, sql_path) if kind is None else kind
        self.value = func.json_extract(document, sql_path) if value is None else value

    def present(self) -> ColumnElement[bool]:
        return self.type.is_not(None)

    def kind(self, name: str) -> ColumnElement[bool]:
        return self.type.in_(["integer", "real"]) if name == "number" else self.type == name

    def text(self) -> ColumnElement[Any]:
        return self.value

    def number(self) -> ColumnElement[Any]:
        return self.value

    def child(self, key: str) -> Value:
        if _PLAIN_KEY.fullmatch(key):
            return SqliteJson(self.document, _path_join(self.path, '."' + key + '"'))
        # Other keys are stored escaped (json.dumps: "\u00e9"), and SQLite versions differ in how a path
        # label meets escapes, or cannot hold '"' at all: find the member by its (decoded) key instead.
        members = self._each()
        member = lambda column: (select(column).where(self.kind("object"), members.c.key == key)  # noqa: E731
                                 .correlate_except(members).scalar_subquery())
        return SqliteJson(member(members.c.value), "$", member(members.c.type), member(members.c.value))

    def item(self, index: int) -> Value:
        return SqliteJson(self.document, _path_join(self.path, f"[{index}]"))

    def size(self) -> ColumnElement[Any]:
        members = self._each()
        return select(func.count()).select_from(members).correlate_except(members).scalar_subquery()

    def any_element(self, test: Callable[[Value], ColumnElement[bool]]) -> ColumnElement[bool]:
        items = self._each()
        element = SqliteJson(self.document, items.c.fullkey, items.c.type, items.c.value)
        return exists(select(literal(1)).select_from(items).where(self.kind("array"), test(element))
                      .correlate_except(items))

    def _each(self) -> Any:
        path = literal(self.path, String) if isinstance(self.path, str) else self.path
        return func.json_each(self.document, path).table_valued("key", "type", "value", "fullkey")


class PostgresJson(Value):
    """A value inside a JSON document in PostgreSQL, as a ``jsonb`` expression (SQL NULL when missing).

    Numbers are read as ``numeric`` (what ``jsonb`` holds them as: a cast, no text in between) and
    compared with ``numeric`` bounds, which order and equal as the floats they were written from."""

    nests = True

    def __init__(self, value: ColumnElement[Any]) -> None:
        self.value = value
        self.type = func.jsonb_typeof(value)

    def _scalar(self) -> ColumnElement[Any]:
        return self.value.op("#>>", return_type=String())(literal_column("'{}'::text[]"))

    def present(self) -> ColumnElement[bool]:
        return self.value.is_not(None)

    def kind(self, name: str) -> ColumnElement[bool]:
        if name in ("true", "false", "null"):
            return _same_jsonb(self.value, literal_column(f"'{name}'::jsonb"))
        return self.type == {"number": "number", "text": "string"}.get(name, name)

    def text(self) -> ColumnElement[Any]:
        return case((self.type == "string", self._scalar()))

    def number(self) -> ColumnElement[Any]:
        return case((self.type == "number", cast(self.value, Numeric)))  # the CASE guards the cast

    def bound(self, number: float) -> ColumnElement[Any]:
        return _numeric(number)

    def equals(self, target: Any) -> ColumnElement[bool] | None:
        # jsonb equality: false across kinds (a boolean is not 1), numbers compared as numeric
        return _same_jsonb(self.value, literal(target, JSONB)) if containable(target) else None

    def rank_number(self) -> ColumnElement[Any]:
        special = [(_same_jsonb(self.value, _JSONB_TEXT[name]), _numeric(NON_FINITE[name]))
                   for name in ("Infinity", "-Infinity")]
        return case((self.type == "number", cast(self.value, Numeric)), *special)

    def rank_text(self) -> ColumnElement[Any]:
        ordinary = and_(self.type == "string", *(not_(_same_jsonb(self.value, name)) for name in _JSONB_TEXT.values()))
        return case((ordinary, self._scalar()))

    def child(self, key: str) -> Value:
        return PostgresJson(self.value.op("->")(literal(key, String)))

    def item(self, index: int) -> Value:
        return PostgresJson(self.value.op("->")(literal(index, Integer)))

    def size(self) -> ColumnElement[Any]:
        keys = func.jsonb_object_keys(case((self.type == "object", self.value))).column_valued()
        return case((self.type == "array", func.jsonb_array_length(case((self.type == "array", self.value)))),
                    else_=select(func.count(keys)).scalar_subquery())

    def any_element(self, test: Callable[[Value], ColumnElement[bool]]) -> ColumnElement[bool]:
        # the CASE runs the subquery for lists only: started for every run, it was most of a filter's time
        items = func.jsonb_array_elements(self.value).column_valued()
        return case((self.type == "array", exists(select(items).where(test(PostgresJson(items))))), else_=false())


# "NaN", "Infinity", "-Infinity" as jsonb text
_JSONB_TEXT: dict[str, ColumnElement[Any]] = {name: literal_column(f"'\"{name}\"'::jsonb") for name in NON_FINITE}


def _same_jsonb(value: ColumnElement[Any], other: ColumnElement[Any]) -> ColumnElement[bool]:
    """``jsonb`` equality, as a condition (SQLAlchemy's JSON type has no ``NOT`` of its own ``==``)."""
    return value.op("=", is_comparison=True)(other)


def _numeric(number: float) -> ColumnElement[Any]:
    """``number`` as an exact ``numeric`` constant (from its shortest decimal form: a float parameter
    would be rounded to 15 digits on its way to numeric)."""
    text = "Infinity" if number == _INF else "-Infinity" if number == -_INF else repr(number)
    return cast(literal(text, String), Numeric)


def containable(value: Any) -> bool:
    """A value ``@>`` compares as equality does here: text, booleans, and numbers a float holds exactly
    (``jsonb`` compares numbers as decimals; equality here compares them as floats)."""
    if isinstance(value, (str, bool)):
        return True
    return isinstance(value, (int, float)) and math.isfinite(value) and abs(value) < 2**53

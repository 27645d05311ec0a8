"""``tracklet.Table``: rows of numbers, strings, booleans, None and images, stored as JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import msgspec

from tracklet.errors import UsageError
from tracklet.media.base import MEDIA_DIR, Media, MediaFiles, digest
from tracklet.media.image import Image

_PLAIN = (str, bool, int, float, type(None))


class Table(Media):
    """A table to log: ``run.log({"predictions": tracklet.Table(columns=["id", "label"], data=rows)})``.

    Args:
        columns: the column names (default ``["Input", "Output", "Expected"]`` as the original,
            or the width of the first row).
        data: rows, each a sequence as wide as ``columns``.
        dataframe: a pandas DataFrame instead of ``columns`` and ``data``.

    Cells hold numbers, strings, booleans, None or :class:`tracklet.Image` s.
    """

    def __init__(self, columns: Sequence[str] | None = None, data: Sequence[Sequence[Any]] | None = None,
                 rows: Sequence[Sequence[Any]] | None = None, dataframe: Any = None,
                 allow_mixed_types: bool | None = None) -> None:
        if rows is not None:
            if data is not None:
                raise UsageError("Table: give data or rows, not both")
            data = rows
        if dataframe is not None:
            if data is not None:
                raise UsageError("Table: give dataframe or data, not both")
            columns = [str(c) for c in dataframe.columns] if columns is None else columns
            data = dataframe.itertuples(index=False, name=None)
        rows_list = [list(_row(r, i)) for i, r in enumerate(data or [])]
        if columns is None:
            columns = ["Input", "Output", "Expected"] if not rows_list else [str(i) for i in range(len(rows_list[0]))]
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise UsageError(f"Table: columns must be a list of strings, got {columns!r}")
        if len(set(columns)) != len(columns):
            raise UsageError(f"Table: column names must be unique, got {list(columns)!r}")
        self.columns: list[str] = list(columns)
        self.data: list[list[Any]] = []
        for index, row in enumerate(rows_list):
            self._append(row, index)

    def add_data(self, *row: Any) -> None:
        """Add a row: one value per column."""
        self._append(list(row), len(self.data))

    def add_column(self, name: str, data: Sequence[Any]) -> None:
        """Add a column named ``name`` with one value per existing row."""
        if not isinstance(name, str):
            raise UsageError(f"Table.add_column: name must be a string, got {type(name).__name__}")
        if name in self.columns:
            raise UsageError(f"Table.add_column: there is already a column {name!r}")
        values = list(data)
        if len(values) != len(self.data):
            raise UsageError(f"Table.add_column: {name!r} has {len(values)} values for {len(self.data)} rows")
        cells = [_cell(v, name, i) for i, v in enumerate(values)]
        self.columns.append(name)
        for row, cell in zip(self.data, cells):
            row.append(cell)

    def get_column(self, name: str) -> list[Any]:
        """The values of one column, row by row."""
        if name not in self.columns:
            raise UsageError(f"Table.get_column: no column {name!r}; columns are {self.columns!r}")
        index = self.columns.index(name)
        return [row[index] for row in self.data]

    def _append(self, row: list[Any], index: int) -> None:
        if len(row) != len(self.columns):
            raise UsageError(f"Table: row {index} has {len(row)} values for {len(self.columns)} columns "
                             f"{self.columns!r}")
        self.data.append([_cell(v, self.columns[c], index) for c, v in enumerate(row)])

    def to_reference(self, files: MediaFiles) -> dict[str, Any]:
        cells = [[c.to_reference(files) if isinstance(c, Image) else _json_number(c) for c in row] for row in self.data]
        content = msgspec.json.encode({"columns": self.columns, "data": cells})
        path = f"{MEDIA_DIR}/tables/{digest(content)}.table.json"
        files.add(path, lambda: content, len(content))
        return {"_type": "table-file", "path": path, "ncols": len(self.columns), "nrows": len(self.data),
                "columns": self.columns}

    def __repr__(self) -> str:
        return f"<tracklet.Table {len(self.data)} rows × {len(self.columns)} columns>"


def _row(row: Any, index: int) -> Sequence[Any]:
    if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) and not hasattr(row, "__iter__"):
        raise UsageError(f"Table: row {index} must be a list of values, got {type(row).__name__}")
    return list(row)


def _cell(value: Any, column: str, row: int) -> Any:
    if isinstance(value, _PLAIN) or isinstance(value, Image):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if item is not None and getattr(value, "ndim", 1) == 0:
        value = item()
        if isinstance(value, _PLAIN):
            return value
    raise UsageError(f"Table: the cell in column {column!r}, row {row} is a {type(value).__name__}; cells hold "
                     "numbers, strings, booleans, None or tracklet.Image")


def _json_number(value: Any) -> Any:
    """JSON has no NaN or infinities: they are written as the strings the HTTP API uses."""
    if type(value) is float and not math.isfinite(value):
        return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
    return value

"""The one ``Range`` a file download answers from a bucket (``routes/files.byte_range``)."""

from __future__ import annotations

import pytest

from tracklet.server.routes.files import byte_range


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("bytes=0-99", (0, 100)),
    ("bytes=100-", (100, 1000)),
    ("bytes=990-5000", (990, 1000)),  # clipped to the file
    ("bytes=-10", (990, 1000)),  # the last ten bytes
    ("bytes=-5000", (0, 1000)),
    ("bytes=1000-", (1000, 1000)),  # past the end: unsatisfiable (416)
    ("bytes=5-2", (1000, 1000)),
    ("bytes=0-1,5-9", None),  # several ranges: the whole file
    ("items=0-9", None),
    ("bytes=-", None),
])
def test_byte_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 1000) == expected

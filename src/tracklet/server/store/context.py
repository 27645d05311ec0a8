"""What a run's process did besides logging: system metrics samples and console lines."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select

from tracklet.protocol import json_safe
from tracklet.server.store.schema import console_lines, system_samples

MAX_LINE = 64 * 1024  # longer lines were split by the SDK; this guards the store against anything else


def append_samples(conn: Connection, run_pk: int, samples: list[dict[str, Any]]) -> None:
    first = conn.execute(select(func.coalesce(func.max(system_samples.c.sample_no), -1))
                         .where(system_samples.c.run_pk == run_pk)).scalar_one() + 1
    conn.execute(insert(system_samples), [
        {"run_pk": run_pk, "sample_no": first + i, "timestamp": float(s["timestamp"]),
         "metrics": json_safe(dict(s.get("metrics", {})))}
        for i, s in enumerate(samples)
    ])


def read_samples(conn: Connection, run_pk: int) -> dict[str, Any]:
    """Columns: ``timestamps`` and, per metric, its values (None where a sample lacks it)."""
    rows = conn.execute(select(system_samples.c.timestamp, system_samples.c.metrics)
                        .where(system_samples.c.run_pk == run_pk).order_by(system_samples.c.sample_no)).all()
    names = sorted({name for row in rows for name in row.metrics})
    return {"timestamps": [row.timestamp for row in rows],
            "metrics": {name: [row.metrics.get(name) for row in rows] for name in names}}


def append_lines(conn: Connection, run_pk: int, lines: list[dict[str, Any]]) -> None:
    first = conn.execute(select(func.coalesce(func.max(console_lines.c.line_no), -1))
                         .where(console_lines.c.run_pk == run_pk)).scalar_one() + 1
    conn.execute(insert(console_lines), [
        {"run_pk": run_pk, "line_no": first + i, "timestamp": float(line["timestamp"]),
         "stream": "stderr" if line.get("stream") == "stderr" else "stdout", "text": str(line["text"])[:MAX_LINE]}
        for i, line in enumerate(lines)
    ])


def read_lines(conn: Connection, run_pk: int, after: int = -1, limit: int = 1000) -> list[dict[str, Any]]:
    """Lines numbered after ``after``, oldest first (``after`` = the last line already seen: a live tail)."""
    rows = conn.execute(
        select(console_lines).where(console_lines.c.run_pk == run_pk, console_lines.c.line_no > after)
        .order_by(console_lines.c.line_no).limit(limit)
    ).all()
    return [{"line_no": r.line_no, "timestamp": r.timestamp, "stream": r.stream, "text": r.text} for r in rows]

"""A project's workspace layout (``protocol.WorkspaceLayout``): one document per project, shared by
everyone who sees the project; the last save wins whole."""

from __future__ import annotations

import time

import msgspec
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from tracklet.protocol import MAX_LAYOUT_PANELS, MEDIA_SECTION_PREFIX, WorkspaceLayout
from tracklet.server.errors import BadRequest, NotFound
from tracklet.server.store.runs import RunRef, project_id
from tracklet.server.store.schema import workspace_layouts


def _project(conn: Connection, ref: RunRef) -> int:
    found = project_id(conn, ref.entity_id, ref.project, create=False)
    if found is None:
        raise NotFound(f"no project {ref.entity}/{ref.project}")
    return found


def check_layout(layout: WorkspaceLayout) -> None:
    """What the document's types cannot say: a bound on every section's entries together, no panel
    named twice in an order, and section names starting with "_" only for media panels."""
    entries = sum(len(s.order) + len(s.sizes) for s in layout.sections.values())
    if entries > MAX_LAYOUT_PANELS:
        raise BadRequest(f"layout field 'sections' holds {entries} order and sizes entries in all; "
                         f"at most {MAX_LAYOUT_PANELS}")
    for name, section in layout.sections.items():
        if name.startswith("_") and not name.startswith(MEDIA_SECTION_PREFIX):
            raise BadRequest(f"layout field 'sections' names {name!r}: a section name starting with '_' is "
                             f"reserved; only {MEDIA_SECTION_PREFIX!r} + a key prefix (media panels)")
        if len(set(section.order)) != len(section.order):
            raise BadRequest(f"layout field 'sections[{name!r}].order' names a panel twice")


def read_layout(conn: Connection, ref: RunRef) -> WorkspaceLayout:
    """The project's saved layout, or the default one (``updated_at`` null) when none was saved."""
    pid = _project(conn, ref)
    row = conn.execute(select(workspace_layouts).where(workspace_layouts.c.project_id == pid)).first()
    if row is None:
        return WorkspaceLayout()
    layout = msgspec.json.decode(row.layout, type=WorkspaceLayout)
    layout.updated_at = row.updated_at
    return layout


def save_layout(conn: Connection, ref: RunRef, layout: WorkspaceLayout) -> WorkspaceLayout:
    """Replace the project's layout with ``layout`` (checked here too); answers it as stored."""
    check_layout(layout)
    pid = _project(conn, ref)
    now = time.time()
    layout.updated_at = None
    text = msgspec.json.encode(layout).decode()
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(workspace_layouts).values(project_id=pid, layout=text, updated_at=now)
    conn.execute(statement.on_conflict_do_update(index_elements=[workspace_layouts.c.project_id],
                                                 set_={"layout": text, "updated_at": now}))
    layout.updated_at = now
    return layout

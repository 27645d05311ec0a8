"""Live updates shared by every client of one replica: one store query per interval, fanned out.

The feed polls the store (by ``updated_at``) rather than relying on in-process notifications, so
any replica sees what any other wrote. Each poll asks again for the last ``OVERLAP_SECONDS``:
a transaction that took its timestamp before the newest one seen may commit after it, and
replicas' clocks differ a little; what a client was already told is not sent twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from tracklet.server.store import Store
from tracklet.server.store import runs as run_store
from tracklet.server.store.schema import projects, runs

POLL_SECONDS = 0.5
OVERLAP_SECONDS = 5.0


@dataclass(frozen=True)
class Change:
    entity_id: int
    project: str
    run_id: str
    state: str
    updated_at: float
    last_seq: int


def changes_since(store: Store, since: float, entity_id: int | None = None, project: str | None = None) -> list[Change]:
    """Runs whose ``updated_at`` is after ``since``, oldest change first (of one entity, or all)."""
    query = (
        select(runs.c.run_id, runs.c.state, runs.c.updated_at, runs.c.heartbeat_at, runs.c.last_seq,
               projects.c.entity_id, projects.c.name.label("project"))
        .join(projects, projects.c.id == runs.c.project_id)
        .where(runs.c.updated_at > since)
        .order_by(runs.c.updated_at)
    )
    if entity_id is not None:
        query = query.where(projects.c.entity_id == entity_id)
    if project:
        query = query.where(projects.c.name == project)
    now = time.time()
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [Change(r.entity_id, r.project, r.run_id, run_store.effective_state(r, now), r.updated_at, r.last_seq)
            for r in rows]


@dataclass(eq=False)
class Subscription:
    """One client's view of the feed: the changes it has not been given yet, newest per run."""

    entity_id: int
    project: str | None
    since: float
    seen: dict[tuple[str, str], float] = field(default_factory=dict)
    pending: dict[tuple[str, str], Change] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, changes: list[Change]) -> None:
        for change in changes:
            if change.entity_id != self.entity_id or (self.project and change.project != self.project):
                continue
            run = (change.project, change.run_id)
            if change.updated_at > self.seen.get(run, self.since):
                self.seen[run] = change.updated_at
                self.pending[run] = change
        if self.pending:
            self.ready.set()

    def take(self) -> list[Change]:
        changes = sorted(self.pending.values(), key=lambda c: c.updated_at)
        self.pending.clear()
        self.ready.clear()
        return changes


class LiveFeed:
    """Polls the store while anyone listens and hands each poll's changes to every subscription."""

    def __init__(self, store: Store, poll_seconds: float = POLL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._subscriptions: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self.queries = 0  # store queries made by the feed: what 500 clients cost a replica

    async def subscribe(self, entity_id: int, project: str | None, since: float) -> Subscription:
        """A subscription that first gets what changed since ``since``, then every later change."""
        subscription = Subscription(entity_id, project, since)
        subscription.offer(await run_in_threadpool(changes_since, self._store, since, entity_id, project))
        self._subscriptions.add(subscription)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    async def _poll(self) -> None:
        newest = self._clock()
        while self._subscriptions:
            await asyncio.sleep(self._poll_seconds)
            try:
                changes = await run_in_threadpool(changes_since, self._store, newest - OVERLAP_SECONDS)
            except Exception:  # the store is down for a moment: the next poll asks again
                continue
            self.queries += 1
            if changes:
                newest = max(newest, changes[-1].updated_at)
            for subscription in list(self._subscriptions):
                subscription.offer(changes)


def as_event(changes: list[Change], entity: str) -> dict[str, Any]:
    return {"runs": [{"entity": entity, "project": c.project, "run_id": c.run_id, "state": c.state,
                      "updated_at": c.updated_at, "last_seq": c.last_seq} for c in changes]}

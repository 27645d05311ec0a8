"""Where a resumed, rewound or forked run continues from: this folder's runs, or the server's answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracklet.errors import UsageError
from tracklet.runlog import RunState
from tracklet.sdk import local
from tracklet.settings import Settings


@dataclass
class Origin:
    kind: str  # resume | rewind | fork
    restore: dict[str, Any] | None
    starting_step: int
    runtime: float
    branch: dict[str, Any] | None = None
    name: str | None = None
    notes: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    group: str = ""
    job_type: str = ""

    @classmethod
    def from_state(cls, kind: str, state: RunState, starting_step: int, branch: dict[str, Any] | None = None) -> Origin:
        return cls(kind, state.restore_snapshot(), starting_step, state.runtime, branch, state.name, state.notes,
                   state.tags, state.group, state.job_type)


def server_origin(reply: dict[str, Any]) -> Origin | None:
    branch = reply.get("branch")
    if reply["resumed"] and not (branch and branch.get("kind") == "rewind"):
        kind = "resume"
    elif branch:
        kind = branch["kind"]
    else:
        return None
    return Origin(kind, reply["restore"], reply["starting_step"], reply["runtime"], branch, reply.get("name"))


def local_origin(s: Settings, tracklet_dir: Path, run_id: str) -> Origin | None:
    """Check ``resume`` / ``resume_from`` / ``fork_from`` against this folder's runs."""
    if s.fork_from is not None or s.resume_from is not None:
        moment = s.fork_from or s.resume_from
        assert moment is not None
        kind = "fork" if s.fork_from is not None else "rewind"
        argument = "fork_from" if kind == "fork" else "resume_from"
        source = local.segments(tracklet_dir, moment.run_id)
        if not source:
            raise UsageError(f"{argument}: there is no run {moment.run_id!r} in {tracklet_dir}")
        if kind == "rewind" and source[-1].running:
            raise UsageError(f"{argument}: run {moment.run_id!r} is still running in another process")
        step = int(moment.step)
        last_step = source[-1].state.summary.get("_step")
        if step < 0 or last_step is None or step > last_step:
            raise UsageError(
                f"{argument}: step {moment.step} is not in run {moment.run_id!r}, whose steps go from 0 to {last_step}"
            )
        branch = {"kind": kind, "run_id": moment.run_id, "step": moment.step}
        return Origin.from_state(kind, local.state_at(source, step), step + 1, branch)

    found = local.segments(tracklet_dir, run_id)
    latest = found[-1] if found else None
    if latest is not None and latest.running:
        raise UsageError(f"id: run ID {run_id!r} is in use by a run that is still running in another process")
    if s.resume in ("allow", "auto", "must") and latest is not None:
        state = latest.state
        state.commit()  # a crashed segment may end in a pending row
        next_step = max(state.step, state.summary.get("_step", -1) + 1)
        return Origin.from_state("resume", state, next_step)
    if s.resume == "must":
        raise UsageError(
            f"You provided an invalid value for the `resume` argument. The value 'must' is not a valid option "
            f"for resuming the run ({run_id}) that has not been initialized. Please check your inputs and try again "
            "with a valid run ID. If you are trying to start a new run, please omit the `resume` argument or use "
            "`resume='allow'`."
        )
    if s.resume == "never" and latest is not None:
        raise UsageError(
            f"You provided an invalid value for the `resume` argument. The value 'never' is not a valid option "
            f"for resuming a run ({run_id}) that already exists. Please check your inputs and try again with a "
            "valid run ID."
        )
    return None

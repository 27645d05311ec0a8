"""The online parts of a run: the init handshake, starting the agent, waiting for the upload."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tracklet.errors import AuthenticationError, CommError, UsageError
from tracklet.sdk.printer import Printer
from tracklet.settings import Settings, child_environment


QUICK_HANDSHAKE_SECONDS = 3.0
STALLED_SECONDS = 10.0


def handshake(s: Settings, project: str, run_id: str, printer: Printer) -> dict[str, Any] | None:
    """Create or resume the run on the server, retrying within ``init_timeout``.

    Returns the server's answer, or None when the server could not be reached and the run
    can carry on locally (the agent then opens it when the server is back). Never waits past
    ``init_timeout``.
    """
    from tracklet.api.transport import ServerAuthError, ServerError, Transport, retryable
    from tracklet.protocol import RunHandshake

    assert s.base_url is not None
    request = RunHandshake(
        entity=s.entity, project=project, run_id=run_id,
        resume="allow" if s.resume == "auto" else s.resume,
        resume_from=str(s.resume_from) if s.resume_from else None,
        fork_from=str(s.fork_from) if s.fork_from else None,
    )
    # A new run loses nothing by starting locally (its agent opens it on the server later),
    # so it waits for the server only briefly; resuming, rewinding and forking need the
    # server's answer to know where to continue, so they wait up to init_timeout.
    continues = s.resume is not None or s.resume_from is not None or s.fork_from is not None
    patience = s.init_timeout if continues else min(s.init_timeout, QUICK_HANDSHAKE_SECONDS)
    deadline = time.monotonic() + patience
    delay = 0.25
    last_error: Exception | None = None
    with Transport(s.base_url, s.api_key, timeout=max(0.5, min(10.0, patience))) as transport:
        while True:
            try:
                return transport.call("POST", "/runs", request)
            except ServerAuthError as exc:
                raise AuthenticationError(f"the Tracklet server at {s.base_url} refused the API key: {exc.detail}") from None
            except ServerError as exc:
                if not retryable(exc):
                    raise UsageError(exc.detail or str(exc)) from None
                last_error = exc
            except CommError as exc:
                last_error = exc
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    # allow/auto can carry on from this machine's own copy of the run; these cannot:
    if s.resume in ("must", "never") or s.resume_from is not None or s.fork_from is not None:
        raise CommError(
            f"Timed out after {s.init_timeout:g} s reaching the Tracklet server at {s.base_url} ({last_error}); "
            f"resume={s.resume!r} / resume_from / fork_from need its answer. Consider increasing the init_timeout setting.",
            last_error,
        )
    printer.warn(
        f"could not reach the Tracklet server at {s.base_url} within {patience:g} s; "
        "recording locally, and the upload starts when the server is back."
    )
    return None


def anonymous_key(s: Settings, printer: Printer) -> str | None:
    """A fresh anonymous account's API key, or None when the server does not give them out."""
    from tracklet.api.transport import ServerAuthError, Transport

    assert s.base_url is not None
    try:
        with Transport(s.base_url, None, timeout=max(1.0, min(10.0, s.init_timeout))) as transport:
            created = transport.call("POST", "/anonymous")
    except ServerAuthError as exc:
        if s.anonymous == "must":
            raise AuthenticationError(f"anonymous='must': {exc.detail}") from None
        printer.warn(f"anonymous='allow': {exc.detail}")
        return None
    except CommError as exc:
        printer.warn(f"could not get an anonymous account from {s.base_url}: {exc}")
        return None
    printer.info(f"Logging to the anonymous account {created['user']} on {s.base_url}")
    return created["api_key"]


def start_agent(run_dir: Path, s: Settings) -> subprocess.Popen[bytes]:
    """Start the uploading agent for ``run_dir``; never waited for."""
    env = child_environment({"TRACKLET_BASE_URL": s.base_url or "", "TRACKLET_API_KEY": s.api_key or ""})
    return subprocess.Popen(
        [sys.executable, "-m", "tracklet.agent", str(run_dir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, env=env,
    )


def wait_for_upload(run_dir: Path, last_seq: int, timeout: float, printer: Printer, label: str = "run") -> bool:
    """Wait until the agent has had every record acknowledged: at most ``timeout`` seconds, and
    not at all once the upload has made no progress for ``STALLED_SECONDS`` (server away).

    A wait longer than ``SHOW_PROGRESS_AFTER`` shows its progress, read from the agent's
    ``upload.json`` and the run log's size (no request to the server): a bar on a terminal;
    otherwise a line when it starts and one when it ends; nothing when silent or quiet.
    """
    from tracklet.agent.display import UploadDisplay, output_mode
    from tracklet.agent.progress import UploadProgress

    started = last_progress = time.monotonic()
    seen_before: tuple[int, int] = (-1, -1)
    display: UploadDisplay | None = None
    bar = None
    try:
        while True:
            progress = UploadProgress.load(run_dir)
            acked = progress.acked_seq
            now = time.monotonic()
            if acked >= last_seq:
                if bar is not None:
                    bar.end(f"tracklet: {label}: uploaded")
                return True
            if (acked, progress.artifact_bytes) != seen_before:  # records acknowledged, or artifact bytes sent
                seen_before, last_progress = (acked, progress.artifact_bytes), now
            stalled = now - last_progress > STALLED_SECONDS
            if now - started > timeout or stalled:
                if display is not None:
                    display.close()  # the bar stays where it stopped, above the warning
                reason = "the server is not answering" if stalled else f"it did not finish within {timeout:g} s"
                printer.warn(
                    f"upload incomplete ({last_seq - acked} records left): {reason}. The agent keeps uploading in the "
                    f"background; if it stops, `tracklet sync {run_dir}` finishes the upload. Nothing is lost."
                )
                return False
            if display is None and now - started > SHOW_PROGRESS_AFTER:
                mode = output_mode(sys.stderr, printer.silent or printer.quiet)
                if mode == "lines":
                    printer.info(f"Waiting for the upload to finish ({last_seq - acked} records left)...")
                display = UploadDisplay(sys.stderr, mode).__enter__()
                size = sum(log.stat().st_size for log in run_dir.glob("run-*.tracklet"))
                bar = display.run(f"tracklet: {label}", (acked, last_seq), (progress.acked_bytes, size))
            if bar is not None:
                bar.update(acked, progress.acked_bytes)
            time.sleep(0.05)
    finally:
        if display is not None:
            display.close()


SHOW_PROGRESS_AFTER = 0.3

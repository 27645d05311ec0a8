"""Follow a run log and upload it: at least once, in order, in batches, surviving outages.

The server stores each (run, seq) once, so resending after a crash is harmless. The
acknowledged position is saved after every batch, so a new agent or ``tracklet sync``
continues where the last one stopped.
"""

from __future__ import annotations

import os
import random
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from tracklet.agent.artifacts import ArtifactUploads
from tracklet.agent.progress import PROGRESS_FILE, UploadProgress
from tracklet.api.transport import ServerError, Transport, retryable
from tracklet.errors import CommError
from tracklet.protocol import RecordBatch, RunHandshake
from tracklet.runlog import Frame, RecordType, RunLogReader, decode, encode_damage, is_locked
from tracklet.runlog.framing import FRAME_HEAD

MAX_BATCH_RECORDS = 5000
MAX_BATCH_BYTES = 4 * 1024 * 1024
HEARTBEAT_SECONDS = 10.0
POLL_SECONDS = 0.02  # how soon a new record starts its way to the server
# While a run streams, records gathered for this long go in one request: two batches a second, not
# fifty tiny ones, keep a server that many runs share ahead of them (a request's fixed cost is most
# of its cost: on SQLite ~3.3 ms for 25 steps of 22 keys, ~3.7 ms for 100); the first record after
# a pause, a full batch and the end of a run go at once. While gathering, the log is read this often.
SEND_INTERVAL_SECONDS = 0.5
GATHER_POLL_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0  # a server's Retry-After is honoured up to this
# How long to keep trying an unreachable server once there is nothing more to wait for:
# the run has ended (an agent), or everything is on disk (sync). `tracklet sync` resumes later.
GIVE_UP_AFTER_END_SECONDS = 15 * 60.0
GIVE_UP_SYNC_SECONDS = 60.0


def find_log(run_dir: Path) -> Path:
    logs = sorted(run_dir.glob("run-*.tracklet"))
    if not logs:
        raise FileNotFoundError(f"no run log in {run_dir}")
    return logs[0]


class Uploader:
    def __init__(self, run_dir: Path, transport: Transport, log: Callable[[str], None] = lambda _: None,
                 progress_file: str = PROGRESS_FILE) -> None:
        self.run_dir = run_dir
        self.log_path = find_log(run_dir)
        self.transport = transport
        self.log = log
        self.reader = RunLogReader(self.log_path, gap_payload=encode_damage)
        self.on_damage = log  # what the reader skipped: damaged bytes, records of a newer format
        self._noted: set[str] = set()
        self.progress_file = progress_file
        self.progress = UploadProgress.load(run_dir, progress_file)
        self.unsent: deque[Frame] = deque()
        self.start: dict | None = None
        self.saw_exit = False
        self.last_contact = 0.0
        self.last_send = -SEND_INTERVAL_SECONDS
        self.entity_override: str | None = None  # upload into this entity instead of the recorded one
        self.on_acknowledged: Callable[[UploadProgress], None] = lambda _: None  # e.g. `tracklet sync`'s bars
        self.artifacts = ArtifactUploads(run_dir, transport, log, lambda: self.progress.save(run_dir, progress_file))

    # -- one pass ----------------------------------------------------------------------

    def read_new(self) -> None:
        frames = self.reader.read_available()
        for skip in self.reader.skips:
            self._note(skip.describe())
        for frame in frames:
            kind = record_type(frame)
            if kind not in _READABLE or frame.payload[:1] != b"\x92":  # [type, body, version]: a newer format
                self._note_newer(frame)
            if kind == _START and self.start is None:
                self.start = dict(decode(frame.seq, frame.payload).body, first_seq=frame.seq)
            elif kind == _EXIT:
                self.saw_exit = True
            if frame.seq > self.progress.acked_seq:
                self.unsent.append(frame)

    def _note_newer(self, frame: Frame) -> None:
        """Say that a record this Tracklet cannot read is skipped; it is sent as it is (a newer
        server reads it, this version's server skips it too)."""
        try:
            record = decode(frame.seq, frame.payload)
        except ValueError:
            return  # not a record at all: the server refuses it and says why
        if record.type is RecordType.NEWER:
            self._note(record.body["message"])

    def _note(self, message: str) -> None:
        if message not in self._noted:
            self._noted.add(message)
            self.on_damage(message)

    def writer_alive(self) -> bool:
        return is_locked(self.log_path)

    def open(self) -> None:
        """The handshake, once per run directory, from the run's own start record."""
        if self.progress.opened:
            return
        if self.start is None:
            raise CommError("the run log has no start record yet")
        start = self.start
        branch = start.get("branch") or {}
        moment = f"{branch.get('run_id')}?_step={branch.get('step')}" if branch else None
        request = RunHandshake(
            entity=self.entity_override or start.get("entity") or None,
            project=start.get("project") or "uncategorized",
            run_id=start["run_id"],
            resume="allow" if start.get("resumed") else start.get("resume"),
            resume_from=moment if branch.get("kind") == "rewind" else None,
            fork_from=moment if branch.get("kind") == "fork" else None,
            first_seq=start["first_seq"],
        )
        reply = self.transport.call("POST", "/runs", request)
        self.progress = UploadProgress(
            acked_seq=max(self.progress.acked_seq, min(reply["last_seq"], start["first_seq"] - 1)),
            opened=True, entity=reply["entity"], project=reply["project"], run_id=reply["run_id"], url=reply["url"],
        )
        self.progress.save(self.run_dir, self.progress_file)
        self.log(f"opened {reply['entity']}/{reply['project']}/{reply['run_id']}")

    def send(self, writer_gone: bool = False) -> int:
        """Send one batch of unsent records (or a heartbeat); return how many were acknowledged."""
        self.open()
        batch: list[bytes] = []
        size = 0
        for frame in self.unsent:
            if batch and (len(batch) >= MAX_BATCH_RECORDS or size + len(frame.payload) > MAX_BATCH_BYTES):
                break
            batch.append(frame.payload)
            size += len(frame.payload)
            kind = record_type(frame)
            if kind == _FILES:  # a media file: on the server before the record that names it
                for entry in decode(frame.seq, frame.payload).body.get("files", []):
                    self._upload_file(entry["path"])
            elif kind == _ARTIFACT:  # likewise a logged artifact's blobs and version
                body = decode(frame.seq, frame.payload).body
                if body.get("action") == "log":
                    self.artifacts.upload(self.progress, body)
        first_seq = self.unsent[0].seq if self.unsent else self.progress.acked_seq + 1
        last_in_batch = first_seq + len(batch) - 1
        gone = writer_gone and last_in_batch >= (self.unsent[-1].seq if self.unsent else 0)
        path = f"/runs/{self.progress.entity}/{self.progress.project}/{self.progress.run_id}/records"
        try:
            ack = self.transport.send_records(path, RecordBatch(first_seq=first_seq, records=batch, writer_gone=gone))
        except ServerError as exc:
            if exc.status == 409 and "continue at seq" in exc.detail:
                return self._resync(exc.detail)
            raise
        self.last_contact = time.monotonic()
        return self._acknowledge(ack["last_seq"])

    def _acknowledge(self, last_seq: int) -> int:
        count = 0
        end = 0
        while self.unsent and self.unsent[0].seq <= last_seq:
            frame = self.unsent.popleft()
            end = frame.offset + FRAME_HEAD.size + len(frame.payload)
            count += 1
        if last_seq > self.progress.acked_seq:
            self.progress.acked_seq = last_seq
            self.progress.acked_bytes = max(self.progress.acked_bytes, end)
            self.progress.save(self.run_dir, self.progress_file)
            self.on_acknowledged(self.progress)
        return count

    def _resync(self, detail: str) -> int:
        """The server holds fewer records than we thought: resend from where it is."""
        expected = int(detail.split("continue at seq", 1)[1].split()[0])
        self.log(f"server expects seq {expected}; resending from there")
        self.progress.acked_seq = expected - 1
        self.progress.save(self.run_dir, self.progress_file)
        self.reader = RunLogReader(self.log_path, gap_payload=encode_damage)
        self.unsent.clear()
        self.read_new()
        return 0

    def upload_files(self) -> None:
        """Upload the run's ``files/`` folder: every file that is new or changed since the last time."""
        root = self.run_dir / "files"
        if not root.is_dir():
            return
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                self._upload_file(path.relative_to(root).as_posix())

    def _upload_file(self, relative: str) -> None:
        """Upload one file of ``files/`` unless this size and modification time were uploaded before."""
        from urllib.parse import quote

        path = self.run_dir / "files" / relative
        if relative == "output.log":
            _wait_for_console_tee(path)
        try:
            stat = path.stat()
        except FileNotFoundError:
            self.log(f"{relative} is gone from the run directory; not uploaded")
            return
        signature = [stat.st_size, stat.st_mtime_ns]
        if self.progress.files.get(relative) == signature:
            return
        base = f"/runs/{self.progress.entity}/{self.progress.project}/{self.progress.run_id}/files/"
        try:
            self.transport.put_bytes(base + quote(relative), path.read_bytes())
        except ServerError as exc:
            if exc.status != 413:
                raise
            self.log(f"{relative} is larger than the server takes ({exc.detail}); it stays in the run directory only")
        self.progress.files[relative] = signature
        self.progress.save(self.run_dir, self.progress_file)

    @property
    def finished(self) -> bool:
        return self.saw_exit and not self.unsent

    # -- the loop ------------------------------------------------------------------------

    def run(self, deadline: float | None = None, follow: bool = True) -> bool:
        """Upload until the run is over and acknowledged (True), or until ``deadline`` (False).

        With ``follow`` the run may still be going; without it (``sync``), what is on disk is
        all there is, and a run without an exit record is reported as crashed.
        """
        backoff = 0.5
        failing_since: float | None = None
        while True:
            self.read_new()
            gone = not follow or not self.writer_alive()
            if gone and not self.saw_exit:
                self.read_new()  # the writer may have added its last records before leaving
            try:
                if self.unsent or not self.progress.opened:
                    gather = self.last_send + SEND_INTERVAL_SECONDS - time.monotonic()
                    if gather > 0 and follow and not gone and not self.saw_exit and len(self.unsent) < MAX_BATCH_RECORDS:
                        time.sleep(min(gather, GATHER_POLL_SECONDS))
                        continue
                    self.last_send = time.monotonic()
                    self.send(writer_gone=gone and not self.saw_exit)
                    backoff, failing_since = 0.5, None
                    continue
                if self.finished or gone:
                    if self.reader.damage:  # final now: nothing more will be written after it
                        self._note(f"stopped at damage ({self.reader.damage}); the records before it are uploaded")
                    if gone and not self.saw_exit:
                        self.send(writer_gone=True)
                    self.upload_files()
                    self.progress.done = True
                    self.progress.save(self.run_dir, self.progress_file)
                    return True
                if time.monotonic() - self.last_contact > HEARTBEAT_SECONDS:
                    self.send()
            except CommError as exc:
                if not retryable(exc):
                    raise
                now = time.monotonic()
                failing_since = failing_since or now
                patience = GIVE_UP_SYNC_SECONDS if not follow else GIVE_UP_AFTER_END_SECONDS
                if (gone or self.saw_exit) and now - failing_since > patience:
                    self.log(f"giving up after {now - failing_since:.0f} s without the server; `tracklet sync` resumes")
                    return False
                delay = retry_delay(backoff, getattr(exc, "retry_after", None))
                self.log(f"upload failed ({exc}); retrying in {delay:.1f} s")
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                if deadline is not None and time.monotonic() + delay > deadline:
                    return False
                time.sleep(delay)
                continue
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(POLL_SECONDS)


def retry_delay(backoff: float, retry_after: float | None = None) -> float:
    """A wait of between half and all of ``backoff`` (which doubles per failure, up to
    ``MAX_BACKOFF_SECONDS``): the agents of many runs cut off at once do not return in step.
    A server that said how long to wait (``Retry-After`` on 429/503) is given at least that, up to
    ``MAX_RETRY_AFTER_SECONDS``, plus up to a tenth more, for the same reason."""
    jittered = random.uniform(backoff / 2, backoff)
    if retry_after is None or retry_after <= 0:
        return jittered
    asked = min(retry_after, MAX_RETRY_AFTER_SECONDS)
    return max(jittered, asked * random.uniform(1.0, 1.1))


_START = int(RecordType.START)
_EXIT = int(RecordType.EXIT)
_FILES = int(RecordType.FILES)
_ARTIFACT = int(RecordType.ARTIFACT)
_READABLE = frozenset(int(t) for t in RecordType if t is not RecordType.NEWER)


def record_type(frame: Frame) -> int:
    """A payload is the MessagePack array ``[type, body]``: its second byte is the type."""
    return frame.payload[1] if len(frame.payload) > 1 else -1


def hold_agent_lock(run_dir: Path) -> int | None:
    """Take the run directory's upload lock (one uploader at a time); None if another holds it."""
    import fcntl

    fd = os.open(run_dir / "agent.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


CONSOLE_TEE_WAIT_S = 5.0


def _wait_for_console_tee(path: Path) -> None:
    """Wait (a few seconds at most) while the console tee still writes ``output.log``: after a
    crash it adds the lines the training process wrote just before dying."""
    import fcntl

    deadline = time.monotonic() + CONSOLE_TEE_WAIT_S
    try:
        with open(path, "rb") as f:
            while True:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                    return  # released with the file
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        return
                    time.sleep(0.05)
    except OSError:
        return

"""``init(sync_tensorboard=True)``: what TensorBoard writers record in this process becomes the run's history.

As in the original (``wandb/integration/tensorboard``, ``wandb/sdk/internal/tb_watcher.py``):

- **Finding the files.** While a run syncs, the event-file writers are patched so that each new
  writer tells the run where it writes: ``EventFileWriter.__init__`` of
  ``tensorboard.summary.writer.event_file_writer`` (what ``torch.utils.tensorboard`` uses) and of
  ``tensorboardX.event_file_writer`` give the exact file; TensorFlow's v1 ``EventFileWriter`` and
  v2 ``gen_summary_ops.create_summary_file_writer`` give the folder, where files named by this
  host since the run started are picked up (the TensorFlow paths are untested: TensorFlow is not
  installed where Tracklet is tested). A module imported after ``init`` is patched when it is
  imported (an import hook), so ``init`` imports none of these libraries. The patches are undone
  when the last syncing run finishes.
- **Reading.** A daemon thread reads every file as it grows, once a second, with TensorBoard's own
  record reader (``RawEventFileLoader``) and ``Event`` protos; ``finish`` flushes the writers that
  are still open, reads what is left, and copies the files to ``files/tensorboard/``.
- **History.** Scalars (``simple_value`` or scalars-plugin tensors), histograms (``histo`` or
  histograms-plugin tensors) as ``tracklet.Histogram`` and images (``image`` or images-plugin
  tensors) as ``tracklet.Image``, keyed by tag (see :func:`tag_key`), at the event's step, with
  ``global_step`` (the step) and ``_timestamp`` (the event's wall time). Other summaries (text,
  audio, PR curves, hparams) are skipped.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.abc
import io
import os
import shutil
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tracklet.errors import Error, UsageError
from tracklet.runlog import RecordType

if TYPE_CHECKING:
    from tracklet.sdk.run import Run

MISSING = "sync_tensorboard: Please install tensorboard package"
POLL_SECONDS = 1.0
# Several files may add to one step; a step is logged once every file that wrote lately is past
# it, or once those files have been quiet this long.
HOLD_SECONDS = 10.0
COPY_FOLDER = "tensorboard"


def check_available() -> None:
    """Raise the original's ``Error`` when the ``tensorboard`` package (its event reader) is missing."""
    if find_spec("tensorboard") is None:
        raise Error(MISSING)


# -- keys: the original's prefixing rule ------------------------------------------------


def namespace(logdir: str, earlier: list[str]) -> str | None:
    """The prefix of the tags written to ``logdir``, given the log dirs seen before it in this run.

    The original's rule, fixed when a log dir is first seen: the root is the folder above the
    common (character) prefix of every log dir seen so far, this one included; the prefix is the
    log dir's path below that root. The first log dir of a run gets no prefix unless it is named
    ``train`` or ``validation``. So ``logs/train`` then ``logs/val`` give ``train/…`` and
    ``val/…``; ``logs/a`` then ``logs/b`` give ``…`` and ``b/…``.
    """
    dirs = [*earlier, logdir]
    root = os.path.dirname(os.path.commonprefix(dirs))
    name = logdir[len(root):].strip("/")
    if len(dirs) == 1 and name not in ("train", "validation"):
        return None
    return name or None


def tag_key(tag: str, prefix: str | None) -> str:
    """The history key of ``tag`` written under ``prefix``: ``prefix/tag``, or ``prefix`` alone for
    ``add_scalars``, whose values go to a sub-folder ``<main_tag>_<name>`` with the tag ``main_tag``."""
    if not prefix:
        return tag
    if prefix.rsplit("/", 1)[-1].startswith(tag.replace("/", "_") + "_"):
        return prefix
    return f"{prefix}/{tag}"


# -- summary values → Tracklet values ------------------------------------------------------


def summary_values(summary: Any, plugins: dict[str, str],
                   on_error: Callable[[str, Exception], None] | None = None) -> dict[str, Any]:
    """The values of one ``Summary`` proto by tag; a value that does not convert is left out (and
    given to ``on_error``). ``plugins`` remembers each tag's plugin: TF2 writes the summary
    metadata with a tag's first value only."""
    values: dict[str, Any] = {}
    for value in summary.value:
        plugin = value.metadata.plugin_data.plugin_name
        if plugin:
            plugins[value.tag] = plugin
        else:
            plugin = plugins.get(value.tag, "")
        try:
            converted = _convert(value, plugin)
        except (Error, OSError, ValueError) as exc:  # a bad histogram, an image PIL cannot read
            if on_error is not None:
                on_error(value.tag, exc)
            continue
        if converted is not None:
            values[value.tag] = converted
    return values


def _convert(value: Any, plugin: str) -> Any:
    kind = value.WhichOneof("value")
    if kind == "simple_value":
        return float(value.simple_value)
    if kind == "histo":
        histo = value.histo
        limits, counts = list(histo.bucket_limit), list(histo.bucket)
        if not limits or len(limits) != len(counts):
            return None
        # TensorBoard keeps the right edges; the first bucket starts at the data's minimum.
        lefts = [min(histo.min, limits[0]), *limits[:-1]]
        return _histogram(lefts, limits, counts, histo.min, histo.max)
    if kind == "image":
        return _image(value.image.encoded_image_string)
    if kind != "tensor" or plugin not in ("scalars", "histograms", "images", ""):
        return None  # text, audio, PR curves, hparams, …
    if plugin == "images":  # [width, height, encoded image, ...]
        images = [_image(data) for data in value.tensor.string_val[2:]]
        return (images[0] if len(images) == 1 else images) if images else None
    from tensorboard.util import tensor_util

    array = tensor_util.make_ndarray(value.tensor)
    if plugin == "histograms":  # rows of [left edge, right edge, count]
        if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != 3:
            return None
        return _histogram(array[:, 0].tolist(), array[:, 1].tolist(), array[:, 2].tolist(), None, None)
    if plugin in ("scalars", "") and array.size == 1 and array.dtype.kind in "biuf":
        return array.item()
    return None


def _histogram(lefts: list[float], rights: list[float], counts: list[float], low: float | None,
               high: float | None) -> Any:
    """A ``tracklet.Histogram`` of buckets, without the empty buckets at either end (TensorBoard's
    default buckets run from -DBL_MAX to DBL_MAX) and with the outer edges clamped to the data's
    range when it is known; neighbouring buckets are merged to stay within 512."""
    from tracklet.media import Histogram
    from tracklet.media.histogram import MAX_BINS

    used = [i for i, count in enumerate(counts) if count]
    if not used:
        return None
    first, last = used[0], used[-1]
    counts = counts[first:last + 1]
    edges = [lefts[first], *rights[first:last + 1]]
    if low is not None and low < edges[1]:
        edges[0] = max(edges[0], low)
    if high is not None and high > edges[-2]:
        edges[-1] = min(edges[-1], high)
    if len(counts) > MAX_BINS:
        size = -(-len(counts) // MAX_BINS)
        merged_edges = edges[::size]
        if len(counts) % size:
            merged_edges.append(edges[-1])
        counts = [sum(counts[i:i + size]) for i in range(0, len(counts), size)]
        edges = merged_edges
    return Histogram(np_histogram=(counts, edges))


def _image(encoded: bytes) -> Any:
    from tracklet.media import Image

    try:
        from PIL import Image as PILImage
    except ImportError:
        raise UsageError("images need Pillow: pip install 'tracklet[media]'") from None
    with PILImage.open(io.BytesIO(encoded)) as picture:
        picture.load()
        return Image(picture)


# -- the run's service -----------------------------------------------------------------------


@dataclass
class _LogDir:
    path: str
    prefix: str | None
    scan: bool  # TensorFlow: the folder is known, its file names are not


@dataclass
class _EventFile:
    path: str
    logdir: _LogDir
    loader: Any = None
    plugins: dict[str, str] = field(default_factory=dict)
    last_step: int | None = None
    grew_at: float = 0.0


class TensorBoardSync:
    """The run's service: turns the event files of this process's TensorBoard writers into history."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self._started = time.time()
        self._lock = threading.Lock()
        self._opened: list[tuple[str, str | None]] = []  # (log dir, file) as writers report them
        self._writers: list[weakref.ref[Any]] = []
        self._dirs: dict[str, _LogDir] = {}
        self._files: dict[str, _EventFile] = {}
        self._pending: dict[int, dict[str, Any]] = {}
        self._placed, self._placed_from = -1, -1  # the run step of the last row logged, and its TB step
        self._warned: set[str] = set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tracklet-tensorboard", daemon=True)

    def start(self) -> None:
        self._run._steps_from = "tensorboard"
        _activate(self)
        self._thread.start()

    def stop(self) -> None:
        """Called by ``finish`` before the exit record: read everything, log it, copy the files."""
        _deactivate(self)
        self._stopping.set()
        self._thread.join()
        self._flush_writers()
        self._poll(final=True)
        self._copy_files()

    def writer_opened(self, logdir: str, path: str | None, writer: Any) -> None:
        """A patched writer was made (on the user's thread: only note it)."""
        if "://" in logdir:  # gs://, s3://: not a file here
            return
        with self._lock:
            self._opened.append((_normal(logdir), _normal(path) if path else None))
            if writer is not None:
                try:
                    self._writers.append(weakref.ref(writer))
                except TypeError:
                    pass

    # -- the reading thread -------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.wait(POLL_SECONDS):
            self._poll(final=False)

    def _poll(self, final: bool) -> None:
        self._take_opened()
        for logdir in self._dirs.values():
            if logdir.scan:
                self._discover(logdir)
        for event_file in list(self._files.values()):
            try:
                self._read(event_file)
            except Exception as exc:  # never into the training loop; say so once, try again next time
                self._warn_once(f"read:{event_file.path}", f"sync_tensorboard: could not read {event_file.path}: "
                                                           f"{exc!r}")
        self._release(final)

    def _take_opened(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for logdir, path in opened:
            known = self._dirs.get(logdir)
            if known is None:
                known = self._dirs[logdir] = _LogDir(logdir, namespace(logdir, list(self._dirs)), scan=path is None)
            known.scan = known.scan or path is None
            if path is not None and path not in self._files:
                self._files[path] = _EventFile(path, known)

    def _discover(self, logdir: _LogDir) -> None:
        try:
            names = os.listdir(logdir.path)
        except OSError:
            return
        for name in names:
            path = os.path.join(logdir.path, name)
            if path not in self._files and _written_here(name, self._started):
                self._files[path] = _EventFile(path, logdir)

    def _read(self, event_file: _EventFile) -> None:
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import event_pb2

        if event_file.loader is None:
            if not os.path.isfile(event_file.path):
                return
            from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader

            event_file.loader = RawEventFileLoader(event_file.path)
        for record in event_file.loader.Load():  # a torn record at the end waits for the next read
            try:
                event = event_pb2.Event.FromString(record)
            except DecodeError as exc:
                self._warn_once(event_file.path, f"sync_tensorboard: skipped an unreadable event in "
                                                 f"{event_file.path}: {exc}")
                continue
            # Every event counts, the header a writer writes when it opens too: a new file holds
            # back the steps it may still write to.
            step = int(event.step)
            event_file.last_step = step if event_file.last_step is None else max(event_file.last_step, step)
            event_file.grew_at = time.monotonic()
            if event.HasField("summary"):
                self._add(event_file, event, step)

    def _add(self, event_file: _EventFile, event: Any, step: int) -> None:
        values = summary_values(event.summary, event_file.plugins, self._skipped)
        if not values:
            return
        row = self._pending.setdefault(step, {})
        for tag, value in values.items():
            row[tag_key(tag, event_file.logdir.prefix)] = value
        row["global_step"] = step
        row["_timestamp"] = max(row.get("_timestamp", 0.0), event.wall_time)

    def _release(self, final: bool) -> None:
        """Log the steps that no file will add to any more, in step order."""
        if not self._pending:
            return
        bound = float("inf")
        if not final:
            now = time.monotonic()
            active = [f.last_step for f in self._files.values()
                      if f.last_step is not None and now - f.grew_at < HOLD_SECONDS]
            bound = min(active, default=bound)
        for step in sorted(s for s in self._pending if s < bound):
            row = self._pending.pop(step)
            # A step the run is already past goes to the run's current step, as _log_at does; each
            # one to a step of its own, so that two late steps never merge into one row (their
            # global_step keeps the TensorBoard step). More of the last step joins its row while open.
            if step == self._placed_from and self._run.step == self._placed:
                target = self._placed
            else:
                target = max(step, self._run.step, self._placed + 1)
            self._placed, self._placed_from = target, step
            try:
                self._run._log_at(row, target)
            except Error as exc:
                self._warn_once(f"log:{exc}", f"sync_tensorboard: step {step} was not logged: {exc}")

    # -- the end -----------------------------------------------------------------------------

    def _flush_writers(self) -> None:
        """Writers keep events in memory for up to two minutes; a run that ends first still gets them."""
        with self._lock:
            writers = [ref() for ref in self._writers]
        for writer in writers:
            if writer is None or getattr(writer, "_closed", False):
                continue
            if getattr(getattr(writer, "_async_writer", None), "_closed", False):
                continue
            try:
                writer.flush()
            except Exception:  # closed or broken: what is on disk is what there is
                pass

    def _copy_files(self) -> None:
        """Copy the event files to ``files/tensorboard/<path below the folder above their common root>``."""
        paths = [f.path for f in self._files.values() if os.path.isfile(f.path)]
        if not paths:
            return
        base = os.path.dirname(os.path.commonpath([os.path.dirname(p) for p in paths]))
        files_dir = Path(self._run.dir)
        entries = []
        for path in paths:
            name = f"{COPY_FOLDER}/{Path(os.path.relpath(path, base)).as_posix()}"
            target = files_dir / name
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                digest, size = _sha256(target)
            except OSError as exc:
                self._run._printer.warn(f"sync_tensorboard: could not copy {path} into the run: {exc}")
                continue
            entries.append({"path": name, "size": size, "sha256": digest})
        if entries:
            self._run._emit(RecordType.FILES, {"files": entries})

    def _skipped(self, tag: str, exc: Exception) -> None:
        self._warn_once(f"tag:{tag}", f"sync_tensorboard: a value of {tag!r} was not logged: {exc}")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._run._printer.warn(message)


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _normal(path: Any) -> str:
    text = os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)
    return Path(os.path.abspath(text)).as_posix()


def _written_here(name: str, since: float) -> bool:
    """``events.out.tfevents.<seconds>.<host>…``, by this host, since the run started (the original's test)."""
    prefix = "events.out.tfevents."
    if not name.startswith(prefix) or name.endswith(".profile-empty"):
        return False
    stamp, _, rest = name[len(prefix):].partition(".")
    host = socket.gethostname()
    return stamp.isdigit() and int(stamp) >= int(since) and (rest == host or rest.startswith(host + "."))


# -- patching the writers ------------------------------------------------------------------


def _writer_class(module: ModuleType, where: Callable[[Any], tuple[Any, Any]]) -> Callable[[], None]:
    """Wrap ``module.EventFileWriter.__init__`` to report each new writer's (log dir, file)."""
    cls = module.EventFileWriter
    original = cls.__dict__["__init__"]

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        try:
            logdir, path = where(self)
            _opened(logdir, path, self)
        except Exception:  # never break the user's writer
            pass

    cls.__init__ = __init__

    def undo() -> None:
        if cls.__dict__.get("__init__") is __init__:
            cls.__init__ = original

    return undo


def _tf2_writer(module: ModuleType) -> Callable[[], None]:
    """TensorFlow 2 (untested here): ``tf.summary.create_file_writer`` calls this op with the log dir."""
    original = module.create_summary_file_writer

    @functools.wraps(original)
    def create_summary_file_writer(*args: Any, **kwargs: Any) -> Any:
        try:
            logdir = kwargs["logdir"] if "logdir" in kwargs else args[1]
            if hasattr(logdir, "numpy"):  # an eager tensor; a symbolic one (in tf.function) is not readable here
                logdir = logdir.numpy()
            if isinstance(logdir, (str, bytes)):
                _opened(os.fsdecode(logdir), None, None)
        except Exception:
            pass
        return original(*args, **kwargs)

    setattr(module, "create_summary_file_writer", create_summary_file_writer)

    def undo() -> None:
        if getattr(module, "create_summary_file_writer", None) is create_summary_file_writer:
            setattr(module, "create_summary_file_writer", original)

    return undo


_TARGETS: dict[str, Callable[[ModuleType], Callable[[], None]]] = {
    "tensorboard.summary.writer.event_file_writer":
        lambda m: _writer_class(m, lambda w: (w._logdir, w._file_name)),
    "tensorboardX.event_file_writer":
        lambda m: _writer_class(m, lambda w: (w._logdir, w._ev_writer._file_name)),
    # TensorFlow (untested here): v1's FileWriter names its file in C++, so the folder is watched.
    "tensorflow.python.summary.writer.event_file_writer":
        lambda m: _writer_class(m, lambda w: (w._logdir, None)),
    "tensorflow.python.ops.gen_summary_ops": _tf2_writer,
}

_lock = threading.RLock()
_syncs: list[TensorBoardSync] = []
_undo: list[Callable[[], None]] = []
_hook: _PatchOnImport | None = None


def _opened(logdir: Any, path: Any, writer: Any) -> None:
    """A writer was made: the latest syncing run gets its events (the original: the global run)."""
    with _lock:
        sync = _syncs[-1] if _syncs else None
    if sync is not None:
        sync.writer_opened(os.fsdecode(logdir) if isinstance(logdir, bytes) else str(logdir), path, writer)


def _patch(module: ModuleType) -> None:
    with _lock:
        if _syncs:
            try:
                _undo.append(_TARGETS[module.__name__](module))
            except Exception as exc:  # a version whose writer looks different: sync what we can
                _syncs[-1]._warn_once(module.__name__, f"sync_tensorboard: cannot follow {module.__name__}: {exc!r}")


def _activate(sync: TensorBoardSync) -> None:
    global _hook
    with _lock:
        _syncs.append(sync)
        if len(_syncs) > 1:
            return
        for name in _TARGETS:
            module = sys.modules.get(name)
            if module is not None:
                _patch(module)
        _hook = _PatchOnImport()
        sys.meta_path.insert(0, _hook)


def _deactivate(sync: TensorBoardSync) -> None:
    global _hook
    with _lock:
        if sync in _syncs:
            _syncs.remove(sync)
        if _syncs:
            return
        if _hook is not None and _hook in sys.meta_path:
            sys.meta_path.remove(_hook)
        _hook = None
        for undo in reversed(_undo):
            undo()
        _undo.clear()


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches a writer module right after it is imported, so ``init`` imports none of them."""

    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname not in _TARGETS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _patch(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, … for inspect and friends
        return getattr(self._loader, name)

"""``init(monitor_gym=True)``: log each video that Gym's recorders write, as ``tracklet.Video``.

Like the original (``wandb/integration/gym``) this patches the recorder class while a run
monitors it and logs ``{key: Video(path)}`` once the file is on disk, keyed by :func:`video_key`.
What it patches depends on what is installed (gymnasium is preferred over gym):

- gymnasium >= 1.0: ``RecordVideo.stop_recording``, the one method that writes a video (called
  by ``reset`` when a recorded episode ends, by ``step`` at ``video_length`` and by ``close``).
  The original patches ``RecordVideo.close`` there and reads attributes that ``RecordVideo`` no
  longer has, so it logs no video and ``env.close()`` raises ``AttributeError``.
- gymnasium < 1.0 and gym >= 0.26: ``wrappers.monitoring.video_recorder.VideoRecorder.close``.
- gym < 0.26: ``wrappers.monitoring.video_recorder.ImageEncoder.close``.

The patch is undone when the last monitoring run finishes.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from tracklet.errors import Error

if TYPE_CHECKING:
    from tracklet.sdk.run import Run

MISSING = "monitor_gym: Couldn't import the gymnasium python package, install with `pip install gymnasium`"

# The original's rule: old gym's Monitor named files `openaigym.video.<N>.<pid>.video<000000>.mp4`,
# so `video.<N>` told the monitors apart; every other path is logged as "videos".
_KEY = re.compile(r".+(video\.\d+).+")


def video_key(path: str) -> str:
    """The history key of a video written at ``path``: ``video.N`` if the path holds one, else ``videos``."""
    found = _KEY.match(path)
    return found.group(1) if found else "videos"


def check_available() -> None:
    """Raise the original's ``Error`` when neither gymnasium nor gym can be imported."""
    _targets()


class GymMonitor:
    """The run's service: while it runs, every video a recorder writes is logged to ``run``."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def start(self) -> None:
        with _lock:
            if not _monitors:
                _patches.extend(_install(_targets()))
            _monitors.append(self)

    def stop(self) -> None:
        with _lock:
            if self in _monitors:
                _monitors.remove(self)
            if not _monitors:
                for patch in reversed(_patches):
                    setattr(patch.owner, patch.name, patch.original)
                _patches.clear()

    def log_video(self, path: str) -> None:
        from tracklet.media import Video

        run = self._run
        try:
            # No step: like wandb.log, the video gets a row at the current step and the step advances.
            run.log({video_key(path): Video(path)})
        except Error as exc:  # a video we cannot log must not stop the user's env.reset() / close()
            run._printer.warn(f"monitor_gym: the video {path} was not logged: {exc}")


@dataclass
class _Target:
    owner: type
    name: str
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass
class _Patch:
    owner: type
    name: str
    original: Any


_lock = threading.Lock()
_monitors: list[GymMonitor] = []
_patches: list[_Patch] = []


def _targets() -> list[_Target]:
    library = next((name for name in ("gymnasium", "gym") if find_spec(name) is not None), None)
    if library is None:
        raise Error(MISSING)
    try:
        package = import_module(library)
        try:
            recorder = import_module(f"{library}.wrappers.monitoring.video_recorder")
        except ImportError:
            if library != "gymnasium":
                raise
            # gymnasium >= 1.0 removed the monitoring module: RecordVideo writes the files itself.
            wrappers = import_module("gymnasium.wrappers")
            return [_Target(wrappers.RecordVideo, "stop_recording", _wrap_stop_recording)]
    except ImportError as exc:
        raise Error(f"{MISSING} ({exc})") from exc
    if library == "gym" and _version(package.__version__) < (0, 26):
        return [_Target(recorder.ImageEncoder, "close", _wrap_close("output_path"))]
    return [_Target(recorder.VideoRecorder, "close", _wrap_close("path"))]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def _install(targets: list[_Target]) -> list[_Patch]:
    patches = []
    for target in targets:
        original = vars(target.owner)[target.name]
        setattr(target.owner, target.name, target.wrap(original))
        patches.append(_Patch(target.owner, target.name, original))
    return patches


def _written(path: str) -> None:
    """A recorder has written ``path``: log it to every monitoring run."""
    if not os.path.isfile(path):
        return
    with _lock:
        monitors = list(_monitors)
    for monitor in monitors:
        monitor.log_video(path)


def _wrap_stop_recording(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def stop_recording(self: Any) -> None:
        # The path must be read first: stop_recording forgets the name. No frames, no file written.
        path = None
        if getattr(self, "recorded_frames", None) and getattr(self, "_video_name", None):
            path = os.path.join(self.video_folder, f"{self._video_name}.mp4")
        original(self)
        if path is not None:
            _written(path)

    return stop_recording


def _wrap_close(path_attribute: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def close(self: Any) -> None:
            # A disabled, already closed or empty VideoRecorder writes nothing (ImageEncoder has none of these).
            frames = getattr(self, "recorded_frames", None)
            writes = (getattr(self, "enabled", True) and not getattr(self, "_closed", False)
                      and (frames is None or len(frames) > 0))
            original(self)
            path = getattr(self, path_attribute, None)
            if writes and path:
                _written(str(path))

        return close

    return wrap

"""What every data type shares: the reference it puts in a history row, and where its file goes.

A data type turns itself into a small ``{"_type": ...}`` dict on the training thread. Those that
have a file name it by the SHA-256 of their content and hand the encoding (PNG, WAV, MP4) to a
:class:`MediaFiles`, which runs it off the training thread and writes the file once per run.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol

from tracklet.errors import UsageError

MEDIA_DIR = "media"


class MediaFiles(Protocol):
    """Where the files of a run's media go (``files/media/...`` of the run directory)."""

    def add(self, path: str, produce: Callable[[], bytes], size_hint: int) -> None:
        """Schedule ``produce()`` to be written at ``path`` (relative to ``files/``), once per run."""
        ...


class Media:
    """A value that ``run.log`` stores as a typed reference (and, for most types, a file)."""

    def to_reference(self, files: MediaFiles) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<tracklet.{type(self).__name__}>"


class FileMedia(Media):
    """A data type stored as one file: ``media/<folder>/<sha256>.<extension>``."""

    _type: str
    _folder: str

    def __init__(self) -> None:
        self._digest = ""
        self._extension = ""
        self._produce: Callable[[], bytes] = bytes
        self._size_hint = 0
        self.caption: str | None = None

    def _set_content(self, digest: str, extension: str, produce: Callable[[], bytes], size_hint: int) -> None:
        self._digest, self._extension, self._produce, self._size_hint = digest, extension, produce, size_hint

    @property
    def path(self) -> str:
        """The file's path within the run's files, once the value is made."""
        return f"{MEDIA_DIR}/{self._folder}/{self._digest}.{self._extension}"

    def _fields(self) -> dict[str, Any]:
        return {}

    def to_reference(self, files: MediaFiles) -> dict[str, Any]:
        files.add(self.path, self._produce, self._size_hint)
        reference: dict[str, Any] = {"_type": self._type, "path": self.path, **self._fields()}
        if self.caption is not None:
            reference["caption"] = self.caption
        return reference


def digest(*parts: bytes | str) -> str:
    """The SHA-256 of the parts, each length-prefixed so that different splits differ."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


def caption_of(caption: Any, what: str) -> str | None:
    if caption is None:
        return None
    if not isinstance(caption, str):
        raise UsageError(f"{what}: caption must be a string, got {type(caption).__name__}")
    return caption


def optional_module(name: str, pip_name: str, what: str) -> ModuleType:
    """Import an optional encoder, or raise a UsageError that says which ``pip install`` fixes it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise UsageError(f"{what} needs the {pip_name} package: pip install {pip_name} "
                         "(or pip install 'tracklet[media]')") from None


def as_numpy(value: Any) -> Any:
    """A numpy view of numpy/torch/jax/tensorflow values, or None. Imports nothing new: ``log``
    uses it on every value that is not a plain number."""
    np = sys.modules.get("numpy")
    if np is None:
        return None
    if isinstance(value, (np.ndarray, np.generic)):
        return value
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if hasattr(value, "__array__") or hasattr(value, "numpy"):
        try:
            return np.asarray(value)
        except Exception:
            return None
    return None


def numpy_of(value: Any) -> Any:
    """:func:`as_numpy`, and lists or tuples of numbers too (a data type needs numpy anyway)."""
    import numpy

    array = as_numpy(value)
    if array is None and isinstance(value, (list, tuple)):
        try:
            array = numpy.asarray(value)
        except ValueError:
            return None
    return array


def read_file(path: Any, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise UsageError(f"{what}: cannot read {str(path)!r}: {exc.strerror or exc}") from None

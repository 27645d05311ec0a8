"""``tracklet.Image``: pixels from numpy, torch, PIL or a file, stored as PNG (pixel-exact)."""

from __future__ import annotations

import io
import os
from typing import Any

from tracklet.errors import UsageError
from tracklet.media.base import FileMedia, caption_of, digest, numpy_of, optional_module, read_file

_CHANNELS = (1, 3, 4)
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"}
_FILE_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".webp": "webp", ".bmp": "bmp"}


class Image(FileMedia):
    """An image to log: ``run.log({"sample": tracklet.Image(array, caption="...")})``.

    Args:
        data_or_path: a numpy array (``HW``, ``HWC`` or ``CHW`` with 1, 3 or 4 channels) of
            ``uint8`` (or integers in 0–255) or of floats in [0, 1]; a torch tensor (``CHW``);
            a PIL image; or the path of an image file (PNG, JPEG, GIF, WebP, BMP).
        mode: the PIL mode to convert the pixels to (e.g. ``"L"``, ``"RGB"``).
        caption: shown under the image.
        file_type: ``"png"`` (the default, lossless) or ``"jpeg"`` for arrays and PIL images.
        masks, boxes: not supported yet.
    """

    _type = "image-file"
    _folder = "images"

    def __init__(self, data_or_path: Any, mode: str | None = None, caption: str | None = None,
                 grouping: int | None = None, classes: Any = None, boxes: Any = None, masks: Any = None,
                 file_type: str | None = None, normalize: bool = True) -> None:
        super().__init__()
        if boxes is not None or masks is not None:
            raise UsageError("Image: masks and boxes are not supported yet; log the image without them")
        self.caption = caption_of(caption, "Image")
        if file_type not in (None, "png", "jpeg", "jpg"):
            raise UsageError(f"Image: file_type must be 'png' or 'jpeg', got {file_type!r}")
        self._format = "jpeg" if file_type in ("jpeg", "jpg") else "png"
        if isinstance(data_or_path, (str, os.PathLike)):
            self._from_file(data_or_path, mode)
        elif _is_pil(data_or_path):
            self._from_pil(data_or_path, mode)
        else:
            array = numpy_of(data_or_path)
            if array is None:
                raise UsageError(f"Image: data_or_path must be a numpy array, a tensor, a PIL image or a file path, "
                                 f"got {type(data_or_path).__name__}")
            self._from_array(array, mode, torch=type(data_or_path).__module__.startswith("torch"))

    def _fields(self) -> dict[str, Any]:
        return {"format": self._format, "width": self.width, "height": self.height}

    # -- sources ------------------------------------------------------------------------

    def _from_array(self, array: Any, mode: str | None, torch: bool) -> None:
        import numpy as np

        if array.ndim == 3:
            channels_last = array.shape[2] in _CHANNELS
            channels_first = array.shape[0] in _CHANNELS
            if torch and channels_first or (channels_first and not channels_last):
                array = array.transpose(1, 2, 0)
            elif not channels_last:
                raise UsageError(f"Image: a 3-D array must be HWC or CHW with 1, 3 or 4 channels, got shape {array.shape}")
            if array.shape[2] == 1:
                array = array[:, :, 0]
        elif array.ndim != 2:
            raise UsageError(f"Image: the array must be 2-D (HW) or 3-D (HWC or CHW), got {array.ndim}-D "
                             f"shape {array.shape}; log a batch as a list of images")
        if array.size == 0:
            raise UsageError(f"Image: the array is empty (shape {array.shape})")
        kind = array.dtype.kind
        if kind == "f":
            low, high = float(array.min()), float(array.max())
            if not (0.0 <= low and high <= 1.0):  # also refuses NaN
                raise UsageError(f"Image: float pixels must be in [0, 1], got values from {low} to {high}; "
                                 "scale them, or pass uint8 pixels in 0-255")
            pixels = np.rint(array * 255.0).astype(np.uint8)
        elif kind in "biu":
            if kind != "b" and array.dtype != np.uint8:
                low, high = int(array.min()), int(array.max())
                if low < 0 or high > 255:
                    raise UsageError(f"Image: integer pixels must be in 0-255, got values from {low} to {high}")
            pixels = array.astype(np.uint8) * np.uint8(255) if kind == "b" else array.astype(np.uint8, copy=False)
        else:
            raise UsageError(f"Image: pixels must be numbers, got dtype {array.dtype}")
        pil_mode = _MODES[1 if pixels.ndim == 2 else pixels.shape[2]]
        self.height, self.width = int(pixels.shape[0]), int(pixels.shape[1])
        self._encode_later(pil_mode, pixels.tobytes(), mode)  # tobytes copies: the caller may reuse the array

    def _from_pil(self, image: Any, mode: str | None) -> None:
        if mode is not None:
            image = image.convert(mode)
            mode = None
        elif image.mode not in _PNG_MODES:
            image = image.convert("RGBA")
        self.width, self.height = image.size
        self._encode_later(image.mode, image.tobytes(), mode, palette=image.getpalette() if image.mode == "P" else None)

    def _encode_later(self, pil_mode: str, raw: bytes, mode: str | None, palette: Any = None) -> None:
        size, file_format = (self.width, self.height), self._format
        if mode is not None:
            _check_mode(mode)
            pil_mode, raw = _converted(pil_mode, size, raw, mode)

        def encode() -> bytes:
            pil = optional_module("PIL.Image", "pillow", "Image")
            image = pil.frombytes(pil_mode, size, raw)
            if palette is not None:
                image.putpalette(palette)
            if file_format == "jpeg" and image.mode not in ("L", "RGB"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, format=file_format.upper())
            return out.getvalue()

        optional_module("PIL.Image", "pillow", "Image")  # say so now, not in the encoder thread
        self._set_content(digest(pil_mode, f"{size}", file_format, raw), "jpg" if file_format == "jpeg" else "png",
                          encode, len(raw))

    def _from_file(self, path: Any, mode: str | None) -> None:
        extension = os.path.splitext(str(path))[1].lower()
        file_format = _FILE_FORMATS.get(extension)
        if file_format is None:
            raise UsageError(f"Image: the file {str(path)!r} is not an image file this UI shows "
                             f"({', '.join(sorted(_FILE_FORMATS))})")
        data = read_file(path, "Image")
        pil = optional_module("PIL.Image", "pillow", "Image")
        try:
            opened = pil.open(io.BytesIO(data))
        except Exception as exc:
            raise UsageError(f"Image: {str(path)!r} is not a readable image: {exc}") from None
        if mode is not None:
            self._format = "png"
            self._from_pil(opened, mode)
            return
        self.width, self.height = opened.size
        self._format = file_format
        self._set_content(digest(data), extension.lstrip(".").replace("jpeg", "jpg"), lambda: data, len(data))

    def __repr__(self) -> str:
        return f"<tracklet.Image {self.width}x{self.height}{' ' + repr(self.caption) if self.caption else ''}>"


def _is_pil(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "tobytes") and hasattr(value, "mode")


def _check_mode(mode: Any) -> None:
    if not isinstance(mode, str):
        raise UsageError(f"Image: mode must be a PIL mode string such as 'RGB', got {mode!r}")


def _converted(pil_mode: str, size: tuple[int, int], raw: bytes, mode: str) -> tuple[str, bytes]:
    pil = optional_module("PIL.Image", "pillow", "Image")
    try:
        image = pil.frombytes(pil_mode, size, raw).convert(mode)
    except ValueError as exc:
        raise UsageError(f"Image: cannot convert the pixels to mode {mode!r}: {exc}") from None
    return image.mode, image.tobytes()

"""``tracklet.Video``: frames encoded to MP4 (H.264) or WebM (VP9) with PyAV, or a video file."""

from __future__ import annotations

import io
import os
from typing import Any

from tracklet.errors import UsageError
from tracklet.media.base import FileMedia, caption_of, digest, numpy_of, optional_module, read_file

_CHANNELS = (1, 3, 4)
_FORMATS = {"mp4": ("mp4", "libx264", "yuv420p"), "webm": ("webm", "libvpx-vp9", "yuv420p")}
_FILE_FORMATS = (".mp4", ".webm", ".ogv", ".gif", ".mov")


class Video(FileMedia):
    """A video to log: ``run.log({"rollout": tracklet.Video(frames, fps=30)})``.

    Args:
        data_or_path: a ``uint8`` array of frames, ``T×C×H×W`` (the original's order) or
            ``T×H×W×C`` with 1, 3 or 4 channels; or the path of a video file (MP4, WebM, OGV, GIF, MOV).
        caption: shown with the player.
        fps: frames per second of an array (default 4).
        format: ``"mp4"`` (H.264, the default) or ``"webm"`` (VP9) for arrays.
    """

    _type = "video-file"
    _folder = "videos"

    def __init__(self, data_or_path: Any, caption: str | None = None, fps: int | float | None = None,
                 format: str | None = None) -> None:
        super().__init__()
        self.caption = caption_of(caption, "Video")
        self.fps: float | None = None
        self.frames: int | None = None
        self.width: int | None = None
        self.height: int | None = None
        if isinstance(data_or_path, (str, os.PathLike)):
            self._from_file(data_or_path)
            return
        if format is not None and format not in _FORMATS:
            raise UsageError(f"Video: format must be one of {', '.join(_FORMATS)} for an array, got {format!r}")
        self.format = format or "mp4"
        fps = 4 if fps is None else fps
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 1000:
            raise UsageError(f"Video: fps must be a number above 0 and at most 1000, got {fps!r}")
        array = numpy_of(data_or_path)
        if array is None:
            raise UsageError(f"Video: data_or_path must be a numpy array of frames or a file path, "
                             f"got {type(data_or_path).__name__}")
        self._from_array(array, fps)

    def _fields(self) -> dict[str, Any]:
        fields = {"format": self.format, "width": self.width, "height": self.height, "frames": self.frames,
                  "fps": self.fps}
        return {k: v for k, v in fields.items() if v is not None}

    def _from_array(self, array: Any, fps: float) -> None:
        import numpy as np

        if array.ndim != 4:
            raise UsageError(f"Video: frames must be a 4-D array, T×C×H×W or T×H×W×C, got {array.ndim}-D shape "
                             f"{array.shape}")
        if array.dtype != np.uint8:
            raise UsageError(f"Video: frames must be uint8 (0-255), got dtype {array.dtype}")
        if array.shape[1] in _CHANNELS:
            array = array.transpose(0, 2, 3, 1)  # T×C×H×W, the original's order, wins when both could be
        elif array.shape[3] not in _CHANNELS:
            raise UsageError(f"Video: frames need 1, 3 or 4 channels (T×C×H×W or T×H×W×C), got shape {array.shape}")
        if array.shape[0] == 0 or array.shape[1] == 0 or array.shape[2] == 0:
            raise UsageError(f"Video: there are no frames to encode (shape {array.shape})")
        av = optional_module("av", "av", "Video")
        frames = np.array(array, order="C")  # a copy: the caller may reuse the array
        self.frames, self.height, self.width = (int(n) for n in frames.shape[:3])
        self.fps = fps
        container, codec, pixel_format = _FORMATS[self.format]

        def encode() -> bytes:
            return _encode(av, frames, fps, container, codec, pixel_format)

        self._set_content(digest("frames", str(frames.shape), str(fps), self.format, frames.tobytes()),
                          self.format, encode, frames.nbytes)

    def _from_file(self, path: Any) -> None:
        extension = os.path.splitext(str(path))[1].lower()
        if extension not in _FILE_FORMATS:
            raise UsageError(f"Video: the file {str(path)!r} is not a video file the UI plays ({', '.join(_FILE_FORMATS)})")
        data = read_file(path, "Video")
        self.format = extension.lstrip(".")
        self._probe(data)
        self._set_content(digest(data), self.format, lambda: data, len(data))

    def _probe(self, data: bytes) -> None:
        """Size, frame count and rate from the container's header, where PyAV is installed."""
        try:
            import av

            with av.open(io.BytesIO(data)) as container:
                stream = container.streams.video[0]
                self.width, self.height = stream.codec_context.width, stream.codec_context.height
                self.frames = stream.frames or None
                self.fps = float(stream.average_rate) if stream.average_rate else None
        except Exception:  # an unreadable header still leaves a file the browser may play
            pass


def _encode(av: Any, frames: Any, fps: float, container: str, codec: str, pixel_format: str) -> bytes:
    from fractions import Fraction

    import numpy as np

    if frames.shape[3] == 1:
        frames = np.repeat(frames, 3, axis=3)
    elif frames.shape[3] == 4:
        frames = frames[:, :, :, :3]
    # 4:2:0 chroma needs even sides: pad the last row/column by repeating it.
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = int(frames.shape[2]), int(frames.shape[1])
        stream.pix_fmt = pixel_format
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "veryfast", "movflags": "+faststart"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return out.getvalue()

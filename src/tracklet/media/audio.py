"""``tracklet.Audio``: samples stored as 16-bit PCM WAV, or an audio file as given."""

from __future__ import annotations

import io
import os
import wave
from typing import Any

from tracklet.errors import UsageError
from tracklet.media.base import FileMedia, caption_of, digest, numpy_of, read_file

_FILE_FORMATS = (".wav", ".mp3", ".ogg", ".oga", ".flac", ".m4a", ".webm")


class Audio(FileMedia):
    """Audio to log: ``run.log({"speech": tracklet.Audio(samples, sample_rate=16000)})``.

    Args:
        data_or_path: a numpy array of samples (1-D, or samples × channels) of floats in
            [-1, 1] or of int16, or the path of an audio file (WAV, MP3, OGG, FLAC, M4A, WebM).
        sample_rate: samples per second; required for arrays.
        caption: shown with the player.
    """

    _type = "audio-file"
    _folder = "audio"

    def __init__(self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None) -> None:
        super().__init__()
        self.caption = caption_of(caption, "Audio")
        self.sample_rate: int | None = None
        self.duration: float | None = None
        if isinstance(data_or_path, (str, os.PathLike)):
            self._from_file(data_or_path)
            return
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise UsageError(f"Audio: sample_rate must be a positive integer for an array of samples, got {sample_rate!r}")
        array = numpy_of(data_or_path)
        if array is None:
            raise UsageError(f"Audio: data_or_path must be a numpy array of samples or a file path, "
                             f"got {type(data_or_path).__name__}")
        self._from_array(array, sample_rate)

    def _fields(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "duration": self.duration}

    def _from_array(self, array: Any, sample_rate: int) -> None:
        import numpy as np

        if array.ndim not in (1, 2) or array.size == 0:
            raise UsageError(f"Audio: samples must be a non-empty 1-D array or samples × channels, got shape {array.shape}")
        if array.dtype.kind == "f":
            finite = np.isfinite(array).all()
            if not finite or float(np.abs(array).max()) > 1.0:
                raise UsageError("Audio: float samples must be finite and in [-1, 1]; scale them, or pass int16")
            pcm = np.rint(array * 32767.0).astype("<i2")
        elif array.dtype == np.int16:
            pcm = array.astype("<i2")
        else:
            raise UsageError(f"Audio: samples must be floats in [-1, 1] or int16, got dtype {array.dtype}")
        channels = 1 if pcm.ndim == 1 else int(pcm.shape[1])
        raw = np.ascontiguousarray(pcm).tobytes()
        self.sample_rate = sample_rate
        self.duration = pcm.shape[0] / sample_rate

        def encode() -> bytes:
            out = io.BytesIO()
            with wave.open(out, "wb") as wav:
                wav.setnchannels(channels)
                wav.setsampwidth(2)
                wav.setframerate(sample_rate)
                wav.writeframes(raw)
            return out.getvalue()

        self._set_content(digest("pcm16", str(channels), str(sample_rate), raw), "wav", encode, len(raw))

    def _from_file(self, path: Any) -> None:
        extension = os.path.splitext(str(path))[1].lower()
        if extension not in _FILE_FORMATS:
            raise UsageError(f"Audio: the file {str(path)!r} is not an audio file the UI plays ({', '.join(_FILE_FORMATS)})")
        data = read_file(path, "Audio")
        if extension == ".wav":
            try:
                with wave.open(io.BytesIO(data)) as wav:
                    self.sample_rate = wav.getframerate()
                    self.duration = wav.getnframes() / self.sample_rate
            except (wave.Error, EOFError, ZeroDivisionError):
                pass  # a WAV that `wave` cannot read (e.g. float samples) still plays in a browser
        self._set_content(digest(data), extension.lstrip("."), lambda: data, len(data))

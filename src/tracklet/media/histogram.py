"""``tracklet.Histogram``: a distribution, kept in the history row itself (no file)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracklet.errors import UsageError
from tracklet.media.base import Media, MediaFiles, numpy_of

MAX_BINS = 512


class Histogram(Media):
    """A histogram to log: ``run.log({"weights": tracklet.Histogram(values)})``.

    Args:
        sequence: the values (numbers; NaN and infinities are left out).
        np_histogram: ``(counts, bin_edges)`` as ``numpy.histogram`` returns them, instead of values.
        num_bins: how many bins to make of ``sequence`` (1 to 512).
    """

    def __init__(self, sequence: Sequence[float] | Any = None, np_histogram: tuple[Any, Any] | None = None,
                 num_bins: int = 64) -> None:
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) or not 1 <= num_bins <= MAX_BINS:
            raise UsageError(f"Histogram: num_bins must be an integer from 1 to {MAX_BINS}, got {num_bins!r}")
        if np_histogram is not None:
            if sequence is not None:
                raise UsageError("Histogram: give sequence or np_histogram, not both")
            self.histogram, self.bins = _from_counts(np_histogram)
        elif sequence is not None:
            self.histogram, self.bins = _from_values(sequence, num_bins)
        else:
            raise UsageError("Histogram: give sequence (the values) or np_histogram=(counts, bin_edges)")

    def to_reference(self, files: MediaFiles) -> dict[str, Any]:
        return {"_type": "histogram", "values": self.histogram, "bins": self.bins}

    def __repr__(self) -> str:
        return f"<tracklet.Histogram {len(self.histogram)} bins>"


def _from_values(sequence: Any, num_bins: int) -> tuple[list[Any], list[float]]:
    import numpy as np

    array = numpy_of(sequence)
    if array is None or array.dtype.kind not in "biuf":
        raise UsageError(f"Histogram: sequence must hold numbers, got {type(sequence).__name__}")
    array = array.ravel()
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        raise UsageError("Histogram: sequence has no finite values to count")
    counts, edges = np.histogram(finite, bins=num_bins)
    return counts.tolist(), edges.tolist()


def _from_counts(np_histogram: Any) -> tuple[list[Any], list[float]]:
    try:
        counts, edges = np_histogram
        counts, edges = [float(c) if not float(c).is_integer() else int(c) for c in counts], [float(e) for e in edges]
    except (TypeError, ValueError):
        raise UsageError("Histogram: np_histogram must be (counts, bin_edges), two sequences of numbers") from None
    if not counts or len(edges) != len(counts) + 1:
        raise UsageError(f"Histogram: np_histogram needs one more bin edge than counts, got {len(counts)} counts "
                         f"and {len(edges)} edges")
    if len(counts) > MAX_BINS:
        raise UsageError(f"Histogram: at most {MAX_BINS} bins, got {len(counts)}")
    if any(b > a for a, b in zip(edges[1:], edges)):
        raise UsageError("Histogram: np_histogram's bin edges must not decrease")
    return counts, edges

from __future__ import annotations

from tracklet.media import Media as WBValue

__all__ = ["WBValue"]

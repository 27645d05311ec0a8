from __future__ import annotations

from tracklet.media import Video

__all__ = ["Video"]

from __future__ import annotations

from tracklet.media import Image

__all__ = ["Image"]

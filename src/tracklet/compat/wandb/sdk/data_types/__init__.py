"""``wandb.sdk.data_types``: Tracklet's media types."""

from __future__ import annotations

from tracklet.media import Audio, Histogram, Html, Image, Table, Video

__all__ = ["Audio", "Histogram", "Html", "Image", "Table", "Video"]

"""The data types ``run.log`` takes besides numbers: see docs/media.md."""

from tracklet.media.audio import Audio
from tracklet.media.base import Media, MediaFiles
from tracklet.media.histogram import Histogram
from tracklet.media.html import Html
from tracklet.media.image import Image
from tracklet.media.table import Table
from tracklet.media.video import Video

__all__ = ["Audio", "Histogram", "Html", "Image", "Media", "MediaFiles", "Table", "Video"]

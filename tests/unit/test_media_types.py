"""The data types on their own: what they accept, the references they make, the errors they raise."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest

import tracklet
from tracklet.errors import UsageError


class Collected:
    """A MediaFiles that runs each encoder at once and keeps the bytes by path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def add(self, path: str, produce: Callable[[], bytes], size_hint: int) -> None:
        self.files.setdefault(path, produce())


def test_histogram_from_values_and_from_counts() -> None:
    values = np.concatenate([np.random.default_rng(1).normal(size=999), [np.nan, np.inf]])
    reference = tracklet.Histogram(values, num_bins=10).to_reference(Collected())
    assert reference["_type"] == "histogram" and sum(reference["values"]) == 999 and len(reference["bins"]) == 11
    counts, edges = np.histogram([1, 2, 2, 3], bins=3)
    assert tracklet.Histogram(np_histogram=(counts, edges)).to_reference(Collected()) == {
        "_type": "histogram", "values": [1, 2, 1], "bins": edges.tolist()}
    assert len(tracklet.Histogram(list(range(1000))).histogram) == 64  # the default, as the original
    for bad, message in [
        (lambda: tracklet.Histogram(np_histogram=([1, 2], [0, 1])), "one more bin edge than counts"),
        (lambda: tracklet.Histogram(np_histogram=([1], [1, 0])), "must not decrease"),
        (lambda: tracklet.Histogram([np.nan]), "no finite values"),
        (lambda: tracklet.Histogram(), "give sequence"),
        (lambda: tracklet.Histogram([1], np_histogram=([1], [0, 1])), "not both"),
        (lambda: tracklet.Histogram(["a", "b"]), "must hold numbers"),
        (lambda: tracklet.Histogram([1.0], num_bins=0), "from 1 to 512"),
    ]:
        with pytest.raises(UsageError, match=message):
            bad()


def test_table_columns_rows_and_cells() -> None:
    table = tracklet.Table(columns=["a", "b"], data=[[1, "x"], (np.int64(2), None)])
    table.add_data(3.5, True)
    table.add_column("c", [np.float32(0.5), None, "z"])
    assert table.data == [[1, "x", 0.5], [2, None, None], [3.5, True, "z"]]
    assert table.get_column("a") == [1, 2, 3.5]
    files = Collected()
    reference = table.to_reference(files)
    assert (reference["nrows"], reference["ncols"], reference["columns"]) == (3, 3, ["a", "b", "c"])
    assert reference["path"].startswith("media/tables/") and reference["path"] in files.files
    assert tracklet.Table(columns=["a"], data=[[1]]).to_reference(Collected())["path"] == \
        tracklet.Table(columns=["a"], data=[[1]]).to_reference(Collected())["path"]  # content-addressed
    assert tracklet.Table().columns == ["Input", "Output", "Expected"]
    for bad, message in [
        (lambda: table.add_data(1), "has 1 values for 3 columns"),
        (lambda: table.add_column("a", [1, 2, 3]), "already a column 'a'"),
        (lambda: table.add_column("d", [1]), "has 1 values for 3 rows"),
        (lambda: tracklet.Table(columns=["a", "a"]), "unique"),
        (lambda: tracklet.Table(columns="ab"), "list of strings"),
        (lambda: tracklet.Table(columns=["a"], data=[[{"x": 1}]]), "column 'a', row 0 is a dict"),
        (lambda: table.get_column("nope"), "no column 'nope'"),
    ]:
        with pytest.raises(UsageError, match=message):
            bad()


def test_table_from_a_dataframe() -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"n": [1, 2], "s": ["a", "b"]})
    table = tracklet.Table(dataframe=frame)
    assert table.columns == ["n", "s"] and table.data == [[1, "a"], [2, "b"]]


def test_images_are_named_by_their_pixels() -> None:
    from PIL import Image

    pixels = np.zeros((3, 5, 3), np.uint8)
    first, files = tracklet.Image(pixels), Collected()
    pixels[0, 0] = 255  # the caller changes its array after logging: the image keeps what it was given
    reference = first.to_reference(files)
    assert np.asarray(Image.open(io.BytesIO(files.files[reference["path"]]))).max() == 0
    assert tracklet.Image(np.zeros((3, 5, 3), np.uint8)).path == first.path != tracklet.Image(pixels).path
    assert tracklet.Image(np.zeros((3, 5, 3), np.uint8), caption="c").to_reference(Collected())["caption"] == "c"
    masks = tracklet.Image(np.array([[True, False]]))
    assert np.asarray(Image.open(io.BytesIO(masks._produce()))).tolist() == [[255, 0]]
    jpeg = tracklet.Image(np.zeros((8, 8, 3), np.uint8), file_type="jpeg")
    assert jpeg.path.endswith(".jpg") and jpeg._produce()[:2] == b"\xff\xd8"
    assert tracklet.Image(np.zeros((4, 4, 3), np.uint8), mode="L")._produce()[:8] == b"\x89PNG\r\n\x1a\n"
    for bad, message in [
        (lambda: tracklet.Image(np.zeros((5, 4, 6))), "HWC or CHW with 1, 3 or 4 channels"),
        (lambda: tracklet.Image(np.full((2, 2), -1)), "integer pixels must be in 0-255"),
        (lambda: tracklet.Image(np.array([[np.nan]])), "float pixels must be in"),
        (lambda: tracklet.Image(np.zeros((0, 3))), "empty"),
        (lambda: tracklet.Image(np.array([["a"]])), "pixels must be numbers"),
        (lambda: tracklet.Image(object()), "data_or_path must be"),
        (lambda: tracklet.Image("missing.png"), "cannot read"),
        (lambda: tracklet.Image("notes.txt"), "not an image file"),
        (lambda: tracklet.Image(np.zeros((2, 2)), file_type="tiff"), "file_type must be"),
        (lambda: tracklet.Image(np.zeros((2, 2)), caption=3), "caption must be a string"),
    ]:
        with pytest.raises(UsageError, match=message):
            bad()


def test_video_layouts() -> None:
    tchw = tracklet.Video(np.zeros((5, 3, 6, 8), np.uint8), fps=10)
    thwc = tracklet.Video(np.zeros((5, 6, 8, 3), np.uint8))
    assert (tchw.frames, tchw.height, tchw.width, tchw.fps) == (5, 6, 8, 10)
    assert (thwc.frames, thwc.height, thwc.width, thwc.fps) == (5, 6, 8, 4)
    assert tchw.path.startswith("media/videos/") and tchw.path.endswith(".mp4")
    # Named by the frames, whatever the layout they came in; the rate is part of the content.
    assert tchw.path == tracklet.Video(np.zeros((5, 6, 8, 3), np.uint8), fps=10).path != thwc.path
    with pytest.raises(UsageError, match="1, 3 or 4 channels"):
        tracklet.Video(np.zeros((5, 6, 8, 7), np.uint8))
    with pytest.raises(UsageError, match="format must be one of mp4, webm"):
        tracklet.Video(np.zeros((5, 3, 6, 8), np.uint8), format="gif")
    with pytest.raises(UsageError, match="fps must be a number"):
        tracklet.Video(np.zeros((5, 3, 6, 8), np.uint8), fps=0)


def test_html_and_audio_sources(tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "page.html"
    page.write_text("<p>file</p>", encoding="utf-8")
    assert tracklet.Html(str(page)).html == "<p>file</p>"
    assert tracklet.Html(io.StringIO("<p>io</p>")).html == "<p>io</p>"
    assert tracklet.Html("<p>text</p>").html == "<p>text</p>"
    with pytest.raises(UsageError, match="HTML string"):
        tracklet.Html(3)
    stereo = tracklet.Audio(np.zeros((100, 2), np.int16), sample_rate=50)
    assert (stereo.sample_rate, stereo.duration) == (50, 2.0)
    (tmp_path / "sound.wav").write_bytes(stereo._produce())
    from_file = tracklet.Audio(str(tmp_path / "sound.wav"))
    assert (from_file.sample_rate, from_file.duration) == (50, 2.0) and from_file.path.endswith(".wav")
    with pytest.raises(UsageError, match="samples must be floats in"):
        tracklet.Audio(np.zeros(4, np.int32), sample_rate=8000)

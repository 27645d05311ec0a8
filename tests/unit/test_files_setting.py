"""``tracklet server --files``: the setting's sources, and the backend its URL picks (no network here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracklet import settings
from tracklet.errors import UsageError
from tracklet.server.blobs import LocalBlobs, open_blobs
from tracklet.server.blobs.s3 import S3Blobs


def test_a_flag_beats_the_variable_which_beats_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKLET_FILES", raising=False)
    assert settings.server_option("files", None) is None
    monkeypatch.setenv("TRACKLET_FILES", "s3://from-env/prefix")
    assert settings.server_option("files", None) == "s3://from-env/prefix"
    assert settings.server_option("files", "/from/flag") == "/from/flag"
    monkeypatch.setenv("TRACKLET_FILES_DOWNLOAD", "presigned")
    assert settings.server_option("files_download", None) == "presigned"


def test_the_url_picks_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert isinstance(open_blobs(str(tmp_path / "a")), LocalBlobs) and (tmp_path / "a").is_dir()
    assert isinstance(open_blobs(f"file://{tmp_path / 'b'}"), LocalBlobs) and (tmp_path / "b").is_dir()
    s3 = open_blobs("s3://bucket/team/prod/", download="presigned", endpoint_url="http://127.0.0.1:9", region="eu-west-1")
    assert isinstance(s3, S3Blobs)
    assert (s3.bucket, s3.prefix, s3.url, s3.presigned) == ("bucket", "team/prod/", "s3://bucket/team/prod/", True)
    assert s3.s3.meta.endpoint_url == "http://127.0.0.1:9" and s3.s3.meta.region_name == "eu-west-1"
    assert open_blobs("s3://bucket").prefix == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize(("url", "options", "message"), [
    ("gs://bucket/x", {}, "--files must be a directory or s3://bucket/prefix, got a gs:// URL"),
    ("s3://", {}, "name a bucket"),
    ("/srv/files", {"download": "presigned"}, "need --files s3://bucket/prefix"),
    ("/srv/files", {"endpoint_url": "http://x"}, "need --files s3://bucket/prefix"),
    ("s3://bucket", {"download": "sometimes"}, "--files-download must be one of proxy, presigned"),
    ("s3://bucket", {"endpoint_url": "not a url"}, "--s3-endpoint-url"),
])
def test_a_wrong_setting_is_named(url: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        open_blobs(url, **options)

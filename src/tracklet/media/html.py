"""``tracklet.Html``: an HTML document, shown sandboxed in the UI."""

from __future__ import annotations

import os
from typing import Any

from tracklet.errors import UsageError
from tracklet.media.base import FileMedia, digest, read_file


class Html(FileMedia):
    """HTML to log: ``run.log({"report": tracklet.Html("<h1>Done</h1>")})``.

    Args:
        data: an HTML string, the path of an ``.html`` file, or an open text file.
        inject: accepted for compatibility; Tracklet injects nothing into the HTML.

    The UI shows it in a sandboxed frame: scripts in it do not run.
    """

    _type = "html-file"
    _folder = "html"

    def __init__(self, data: Any, inject: bool = True) -> None:
        super().__init__()
        if isinstance(data, os.PathLike) or isinstance(data, str) and data.lower().endswith((".html", ".htm")) \
                and os.path.isfile(data):
            raw = read_file(data, "Html")
        elif isinstance(data, str):
            raw = data.encode("utf-8")
        elif hasattr(data, "read"):
            text = data.read()
            raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        else:
            raise UsageError(f"Html: data must be an HTML string, a path to an .html file or an open file, "
                             f"got {type(data).__name__}")
        self.html = raw.decode("utf-8", errors="replace")
        self._set_content(digest(raw), "html", lambda: raw, len(raw))

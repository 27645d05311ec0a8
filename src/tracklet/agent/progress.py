"""What has been uploaded: ``upload.json`` in the run directory, replaced atomically, only moving forward.

``tracklet ui`` keeps its own progress file, since it uploads to its own local server.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

PROGRESS_FILE = "upload.json"


@dataclass
class UploadProgress:
    acked_seq: int = 0  # the server stores every record up to here
    acked_bytes: int = 0  # and the run log up to this byte: upload progress, never a resume position
    opened: bool = False  # the handshake for this run directory was done
    entity: str = ""
    project: str = ""
    run_id: str = ""
    done: bool = False  # the run ended and everything is acknowledged
    url: str = ""
    files: dict[str, list[int]] = field(default_factory=dict)  # uploaded files: path → [size, mtime_ns]
    artifact_bytes: int = 0  # artifact bytes sent so far: shows a long upload is moving (not a position)

    @classmethod
    def load(cls, run_dir: Path, name: str = PROGRESS_FILE) -> UploadProgress:
        try:
            data = json.loads((run_dir / name).read_text(encoding="utf-8"))
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, run_dir: Path, name: str = PROGRESS_FILE) -> None:
        temporary = run_dir / f".{name}.{os.getpid()}"
        try:
            temporary.write_text(json.dumps(asdict(self)), encoding="utf-8")
            os.replace(temporary, run_dir / name)
        except OSError:  # e.g. a full disk: the upload goes on; the server ignores what is sent twice later
            temporary.unlink(missing_ok=True)

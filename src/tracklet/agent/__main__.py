"""``python -m tracklet.agent RUN_DIR``: the process ``init`` starts for an online run."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from tracklet import settings
from tracklet.agent.uploader import Uploader, hold_agent_lock
from tracklet.api.transport import Transport


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    lock = hold_agent_lock(run_dir)
    if lock is None:
        return 0  # another agent (or a sync) is uploading this run
    logging.basicConfig(
        filename=run_dir / "logs" / "agent.log", level=logging.INFO,
        format="%(asctime)s %(levelname)s %(process)d %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log = logging.getLogger("tracklet.agent")
    base_url, api_key = settings.client_login()
    if not base_url:
        log.error("no server configured; nothing to upload to")
        return 1
    with Transport(base_url, api_key) as transport:
        uploader = Uploader(run_dir, transport, log.info)
        try:
            if not uploader.run(follow=True):
                return 1
        except Exception:
            log.exception("upload stopped; `tracklet sync %s` continues it", run_dir)
            return 1
    log.info("all records acknowledged (up to seq %d)", uploader.progress.acked_seq)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

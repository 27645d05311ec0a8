"""``tracklet ui [DIR]``: look at the runs of a folder with no account and no server to set up.

It starts a local server on the loopback interface (its store in the ``tracklet/`` folder's
``.ui``), uploads the runs of DIR into it (the folder holding ``tracklet/``, a ``tracklet/``
folder, or one run's folder: see ``sdk.local.locate_runs``), and keeps watching for new
records and new runs.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path
from typing import Any

UI_PROGRESS_FILE = "ui-upload.json"


def add_commands(commands: Any) -> None:
    ui = commands.add_parser("ui", help="browse this folder's runs in a local server (no login)")
    ui.add_argument("dir", nargs="?", default=".", metavar="DIR",
                    help="where the runs are (default: here): the folder holding tracklet/, a tracklet/ folder, "
                         "or one run's folder")
    ui.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    ui.set_defaults(handler=_ui)


def _ui(args: argparse.Namespace) -> int:
    import uvicorn

    from tracklet.agent.progress import UploadProgress
    from tracklet.agent.uploader import Uploader
    from tracklet.api.transport import Transport
    from tracklet.cli.local_commands import locate_or_exit
    from tracklet.errors import Error
    from tracklet.server.app import create_app
    from tracklet.server.blobs import LocalBlobs
    from tracklet.server.errors import NotFound
    from tracklet.server.store import accounts, open_store

    folder = locate_or_exit(args.dir, "ui")
    data_dir = folder.tracklet_dir / ".ui"  # one store per tracklet/ folder, also when shown one run of it
    data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(f"sqlite:///{data_dir / 'store.db'}")
    with store.transaction() as conn:
        try:
            user = accounts.find_user(conn, "local")
        except NotFound:
            user = accounts.create_user(conn, "local", admin=True)
        key, _ = accounts.create_key(conn, user)

    app = create_app(store, LocalBlobs(data_dir / "files"), local_user=user)
    app.state.local_folder = str(folder.path)  # the home page names it when it holds no runs
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    print(f"Tracklet for {folder.path}: {url}  (API: {url}/api/v1, entity 'local'; Ctrl-C to stop)", flush=True)
    if not folder.run_dirs():
        print(f"No runs in {folder.path} (yet: runs that start there appear as they run)", flush=True)

    uploaders: dict[Path, Uploader] = {}
    try:
        with Transport(url, key) as transport:
            while True:
                for run_dir in folder.run_dirs():
                    if UploadProgress.load(run_dir, UI_PROGRESS_FILE).done:
                        continue
                    uploader = uploaders.get(run_dir)
                    if uploader is None:
                        uploader = uploaders[run_dir] = Uploader(run_dir, transport, progress_file=UI_PROGRESS_FILE)
                        # every run lands in the local entity, whatever it was recorded for
                        uploader.entity_override = user.name
                    try:
                        uploader.run(follow=True, deadline=time.monotonic() + 0.5)
                    except Error as exc:
                        print(f"{run_dir}: {exc}", flush=True)
                        uploaders.pop(run_dir, None)
                time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
    return 0

"""``tracklet server``: run the tracking server (and set this machine up to use it)."""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

from tracklet import settings


def add_commands(commands: Any) -> None:
    server = commands.add_parser("server", help="run the Tracklet server", description="Run the Tracklet server.")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    server.add_argument("--store", default=None, help="sqlite:///PATH (default: in the data directory) or postgresql://...")
    server.add_argument("--files", default=None, metavar="DIR_OR_URL",
                        help="where run files, media and artifacts go: a directory (default: in the data "
                             "directory) or s3://bucket/prefix (env TRACKLET_FILES; docs/files.md)")
    server.add_argument("--files-download", default=None, choices=("proxy", "presigned"),
                        help="S3: stream downloads through the server (proxy, the default) or redirect API "
                             "clients to a presigned URL of the bucket (env TRACKLET_FILES_DOWNLOAD)")
    server.add_argument("--s3-endpoint-url", default=None,
                        help="S3: the endpoint of an S3-compatible server (default: AWS_ENDPOINT_URL, else AWS)")
    server.add_argument("--s3-region", default=None, help="S3: the bucket's region (default: AWS_REGION)")
    server.add_argument("--s3-profile", default=None,
                        help="S3: the profile of ~/.aws/credentials to use (default: AWS_PROFILE, else "
                             "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    server.add_argument("--allow-anonymous", action="store_true", help="hand out anonymous accounts")
    server.add_argument("--no-client-setup", action="store_true",
                        help="do not write this server's URL and the admin key into this machine's client settings")
    server.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from tracklet.server.app import create_app
    from tracklet.errors import UsageError
    from tracklet.server.blobs import open_blobs
    from tracklet.server.store import accounts, open_store
    from sqlalchemy.exc import IntegrityError

    from tracklet.server.store.database import SchemaError

    data_dir = settings.server_data_dir()
    files_url = settings.server_option("files", args.files) or str(data_dir / "files")
    try:  # the files are checked before anything is written, so a wrong setting changes nothing
        blobs = open_blobs(files_url, download=settings.server_option("files_download", args.files_download) or "proxy",
                           endpoint_url=args.s3_endpoint_url, region=args.s3_region, profile=args.s3_profile)
        blobs.check()
    except UsageError as exc:
        raise SystemExit(f"tracklet server: {exc}") from None
    store_url = args.store or f"sqlite:///{data_dir / 'tracklet.db'}"
    if store_url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(os.path.abspath(store_url.removeprefix("sqlite:///"))), exist_ok=True)
    try:
        store = open_store(store_url)
    except SchemaError as exc:
        raise SystemExit(f"tracklet server: {exc}") from None
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"

    try:
        with store.transaction() as conn:
            first_start = accounts.count_users(conn) == 0
            if first_start:
                admin = accounts.create_user(conn, _admin_name(), admin=True)
                key, _ = accounts.create_key(conn, admin)
    except IntegrityError:  # a replica started at the same moment created the administrator
        first_start = False
    if first_start:
        print(f"tracklet server: created the administrator {admin.name!r}")
        if not args.no_client_setup:
            path = settings.write_client_settings({"base_url": url, "api_key": key})
            print(f"tracklet server: this machine now logs runs to {url} as {admin.name} ({path})")
        else:
            print(f"tracklet server: the administrator's API key (shown once): {key}")
    print(f"tracklet server: listening on {url} (store {_without_password(store_url)}, files {blobs.url})", flush=True)
    app = create_app(store, blobs, allow_anonymous=args.allow_anonymous)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _without_password(url: str) -> str:
    """The store URL as it may be printed."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://…"


def _admin_name() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "admin"
    cleaned = "".join(c for c in name if c.isalnum() or c in "_.-").lstrip("_.-")
    return cleaned[:64] or "admin"

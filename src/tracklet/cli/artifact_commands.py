"""``tracklet artifact put|get|ls|gc``: artifacts from the command line (docs/artifacts.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tracklet.errors import Error


def add_commands(commands: Any) -> None:
    artifact = commands.add_parser("artifact", help="log, fetch and list artifacts")
    verbs = artifact.add_subparsers(dest="artifact_command", metavar="COMMAND", required=True)

    put = verbs.add_parser("put", help="log a file or folder as a new artifact version (in a run of its own)")
    put.add_argument("path", help="the file or folder")
    put.add_argument("--name", required=True, help="the artifact's name")
    put.add_argument("--type", required=True, help="its type, e.g. dataset or model")
    put.add_argument("--project", default=None, help="the project (default: as tracklet.init infers it)")
    put.add_argument("--entity", default=None)
    put.add_argument("--alias", action="append", default=[], help="an alias for the version (repeatable)")
    put.add_argument("--description", default=None)
    put.set_defaults(handler=_put)

    get = verbs.add_parser("get", help="download a version: [entity/]project/name[:version]")
    get.add_argument("name", help="e.g. mnist/data:latest or alice/mnist/data:v3")
    get.add_argument("--root", default=None, help="the folder to download into (default: ./artifacts/<name>:<version>)")
    get.set_defaults(handler=_get)

    listing = verbs.add_parser("ls", help="list a project's artifacts: [entity/]project")
    listing.add_argument("project")
    listing.add_argument("--type", default=None, help="only artifacts of this type")
    listing.set_defaults(handler=_ls)

    gc = verbs.add_parser("gc", help="find (and with --delete, remove) stored files no version references "
                                     "(administrators)")
    gc.add_argument("--delete", action="store_true", help="delete them (default: a dry run that only counts)")
    gc.add_argument("--older-than", type=int, default=None, metavar="SECONDS",
                    help="only files stored at least this long ago (default: the server's grace period, so that "
                         "an upload in progress is not collected)")
    gc.set_defaults(handler=_gc)


def _put(args: argparse.Namespace) -> int:
    import tracklet

    path = Path(args.path)
    if not path.exists():
        raise SystemExit(f"tracklet: {path} does not exist")
    try:
        artifact = tracklet.Artifact(args.name, type=args.type, description=args.description)
        if path.is_dir():
            artifact.add_dir(path)
        else:
            artifact.add_file(path)
        with tracklet.init(project=args.project, entity=args.entity, job_type="artifact-put",
                           settings={"silent": True}) as run:
            run.log_artifact(artifact, aliases=args.alias)
            where = run.url or run.dir
        if not run.offline:
            artifact.wait()
    except Error as exc:
        raise SystemExit(f"tracklet: {exc}") from None
    label = f"{artifact.name}:{artifact.version}" if artifact.version else artifact.name
    print(f"Logged {label} ({artifact.type}, {len(artifact.manifest['entries'])} files, {artifact.size} bytes) "
          f"from {where}")
    return 0


def _get(args: argparse.Namespace) -> int:
    import tracklet

    try:
        with tracklet.Api() as api:
            artifact = api.artifact(args.name)
            root = artifact.download(args.root)
    except Error as exc:
        raise SystemExit(f"tracklet: {exc}") from None
    print(f"Downloaded {artifact.name}:{artifact.version} ({len(artifact.manifest['entries'])} files) to {root}")
    return 0


def _ls(args: argparse.Namespace) -> int:
    import tracklet

    try:
        with tracklet.Api() as api:
            found = api.artifact_collections(args.project, args.type)
    except Error as exc:
        raise SystemExit(f"tracklet: {exc}") from None
    if not found:
        print(f"No artifacts in {args.project}{' of type ' + args.type if args.type else ''}")
        return 0
    width = max(len(c.name) for c in found)
    for collection in sorted(found, key=lambda c: (c.type, c.name)):
        print(f"{collection.type:<12} {collection.name:<{width}}  {collection.version_count} versions, "
              f"latest {collection.latest or '-'}")
    return 0


def _gc(args: argparse.Namespace) -> int:
    from tracklet.cli.account_commands import _call

    query = "?dry_run=" + ("false" if args.delete else "true")
    if args.older_than is not None:
        query += f"&older_than={args.older_than}"
    report = _call("POST", "/admin/artifacts/gc" + query)
    verb = "Deleted" if report["deleted"] else "Would delete (dry run; --delete to remove)"
    print(f"{verb} {report['blobs']} unreferenced files, {report['bytes']} bytes")
    return 0

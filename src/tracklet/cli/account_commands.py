"""Logging in to a server, and the accounts on it: ``login``, ``logout``, ``whoami``, ``user``, ``team``, ``key``."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from tracklet import settings
from tracklet.errors import Error


def add_commands(commands: Any) -> None:
    login = commands.add_parser("login", help="store a server URL and API key on this machine")
    login.add_argument("key", nargs="?", help="the API key (prompted for, without echo, when omitted)")
    login.add_argument("--host", default=None, help="the server URL (default: the current one, else http://127.0.0.1:8080)")
    login.set_defaults(handler=_login)

    logout = commands.add_parser("logout", help="forget the API key stored on this machine")
    logout.set_defaults(handler=_logout)

    whoami = commands.add_parser("whoami", help="show who the stored API key belongs to")
    whoami.set_defaults(handler=_whoami)

    user = commands.add_parser("user", help="manage users (administrators)")
    user_commands = user.add_subparsers(dest="user_command", metavar="COMMAND", required=True)
    create = user_commands.add_parser("create", help="create a user and print their API key")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="make the user an administrator")
    create.set_defaults(handler=_user_create)

    team = commands.add_parser("team", help="manage teams")
    team_commands = team.add_subparsers(dest="team_command", metavar="COMMAND", required=True)
    team_create = team_commands.add_parser("create", help="create a team you administer")
    team_create.add_argument("name")
    team_create.set_defaults(handler=_team_create)
    team_add = team_commands.add_parser("add", help="add a user to a team")
    team_add.add_argument("team")
    team_add.add_argument("user")
    team_add.add_argument("--role", choices=("member", "admin"), default="member")
    team_add.set_defaults(handler=_team_add)

    key = commands.add_parser("key", help="manage API keys")
    key_commands = key.add_subparsers(dest="key_command", metavar="COMMAND", required=True)
    key_create = key_commands.add_parser("create", help="create an API key (printed once)")
    key_create.add_argument("--user", default=None, help="for another user (administrators)")
    key_create.set_defaults(handler=_key_create)
    key_list = key_commands.add_parser("list", help="list your API keys (prefixes only)")
    key_list.set_defaults(handler=_key_list)
    key_revoke = key_commands.add_parser("revoke", help="revoke an API key by its prefix")
    key_revoke.add_argument("prefix")
    key_revoke.set_defaults(handler=_key_revoke)


def _transport(base_url: str | None = None, api_key: str | None = None):
    from tracklet.api.transport import Transport

    stored_url, stored_key = settings.client_login()
    url = base_url or stored_url
    if not url:
        raise SystemExit("tracklet: no server configured; run `tracklet login --host URL`")
    return Transport(url, api_key or stored_key, timeout=15)


def _call(method: str, path: str, body: Any = None, **login: str | None) -> Any:
    try:
        with _transport(**login) as transport:
            return transport.call(method, path, body)
    except Error as exc:
        raise SystemExit(f"tracklet: {exc}") from None


def _login(args: argparse.Namespace) -> int:
    stored_url, _ = settings.client_login()
    url = (args.host or stored_url or "http://127.0.0.1:8080").rstrip("/")
    key = args.key or (getpass.getpass("API key: ") if sys.stdin.isatty() else sys.stdin.readline()).strip()
    if not key:
        raise SystemExit("tracklet: no API key given")
    viewer = _call("GET", "/viewer", base_url=url, api_key=key)
    path = settings.write_client_settings({"base_url": url, "api_key": key})
    print(f"Logged in to {url} as {viewer['user']} (saved in {path})")
    return 0


def _logout(args: argparse.Namespace) -> int:
    path = settings.write_client_settings({"api_key": None})
    print(f"Logged out (removed the API key from {path})")
    return 0


def _whoami(args: argparse.Namespace) -> int:
    viewer = _call("GET", "/viewer")
    entities = ", ".join(f"{e['name']} ({e['kind']}, {e['role']})" for e in viewer["entities"])
    print(f"{viewer['user']}{' (administrator)' if viewer['is_admin'] else ''}; entities: {entities}")
    return 0


def _user_create(args: argparse.Namespace) -> int:
    created = _call("POST", "/users", {"name": args.name, "admin": args.admin})
    print(f"Created user {created['user']}. Their API key (shown once): {created['api_key']}")
    return 0


def _team_create(args: argparse.Namespace) -> int:
    _call("POST", "/teams", {"name": args.name})
    print(f"Created team {args.name}")
    return 0


def _team_add(args: argparse.Namespace) -> int:
    _call("POST", f"/teams/{args.team}/members", {"user": args.user, "role": args.role})
    print(f"Added {args.user} to {args.team} as {args.role}")
    return 0


def _key_create(args: argparse.Namespace) -> int:
    created = _call("POST", "/keys", {"user": args.user})
    print(f"New API key for {created['user']} (shown once): {created['api_key']}")
    return 0


def _key_list(args: argparse.Namespace) -> int:
    for key in _call("GET", "/keys"):
        print(f"{key['prefix']}  {'revoked' if key['revoked_at'] else 'active'}")
    return 0


def _key_revoke(args: argparse.Namespace) -> int:
    _call("DELETE", f"/keys/{args.prefix}")
    print(f"Revoked {args.prefix}")
    return 0

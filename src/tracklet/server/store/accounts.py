"""Users, teams (entities), memberships and API keys.

API keys are ``tk_`` + 43 random URL-safe characters; only their SHA-256 is stored, so a
key is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from tracklet.server.errors import BadRequest, Conflict, NotFound
from tracklet.server.store.schema import api_keys, entities, memberships, users

KEY_PREFIX = "tk_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    is_admin: bool
    is_anonymous: bool


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _check_name(name: str, what: str) -> None:
    if not NAME_PATTERN.match(name):
        raise BadRequest(f"{what} name {name!r} must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")


def _new_id(result: Any) -> int:
    """The primary key an INSERT created."""
    return int(result.inserted_primary_key[0])


def _user(row) -> User:
    return User(row.id, row.name, row.is_admin, row.is_anonymous)


def create_user(conn: Connection, name: str, *, admin: bool = False, anonymous: bool = False) -> User:
    """A user and the personal entity of the same name."""
    _check_name(name, "user")
    taken = conn.execute(select(entities.c.id).where(entities.c.name == name)).first()
    if taken:
        raise Conflict(f"the name {name!r} is taken")
    now = time.time()
    user_id = _new_id(conn.execute(
        insert(users).values(name=name, is_admin=admin, is_anonymous=anonymous, created_at=now)))
    entity_id = _new_id(conn.execute(insert(entities).values(name=name, kind="user", created_at=now)))
    conn.execute(insert(memberships).values(entity_id=entity_id, user_id=user_id, role="admin"))
    return User(user_id, name, admin, anonymous)


def create_anonymous_user(conn: Connection) -> User:
    return create_user(conn, f"anonymous-{secrets.token_hex(4)}", anonymous=True)


def find_user(conn: Connection, name: str) -> User:
    row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise NotFound(f"no user {name!r}")
    return _user(row)


def count_users(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(users)).scalar_one()


def create_team(conn: Connection, name: str, owner: User) -> None:
    _check_name(name, "team")
    if conn.execute(select(entities.c.id).where(entities.c.name == name)).first():
        raise Conflict(f"the name {name!r} is taken")
    entity_id = _new_id(conn.execute(insert(entities).values(name=name, kind="team", created_at=time.time())))
    conn.execute(insert(memberships).values(entity_id=entity_id, user_id=owner.id, role="admin"))


def add_member(conn: Connection, team: str, user: User, role: str) -> None:
    if role not in ("admin", "member"):
        raise BadRequest(f"role must be 'admin' or 'member', got {role!r}")
    entity = conn.execute(select(entities).where(entities.c.name == team, entities.c.kind == "team")).first()
    if entity is None:
        raise NotFound(f"no team {team!r}")
    existing = conn.execute(
        select(memberships).where(memberships.c.entity_id == entity.id, memberships.c.user_id == user.id)
    ).first()
    if existing:
        conn.execute(update(memberships).where(memberships.c.entity_id == entity.id,
                                               memberships.c.user_id == user.id).values(role=role))
    else:
        conn.execute(insert(memberships).values(entity_id=entity.id, user_id=user.id, role=role))


def entity_role(conn: Connection, user: User, entity: str) -> tuple[int, str] | None:
    """(entity id, role) when ``user`` belongs to ``entity``; None otherwise (also when it does not exist)."""
    row = conn.execute(
        select(entities.c.id, memberships.c.role)
        .join(memberships, memberships.c.entity_id == entities.c.id)
        .where(entities.c.name == entity, memberships.c.user_id == user.id)
    ).first()
    return (row.id, row.role) if row else None


def entities_of(conn: Connection, user: User) -> list[tuple[str, str, str]]:
    """(name, kind, role) of every entity the user belongs to, the personal one first."""
    rows = conn.execute(
        select(entities.c.name, entities.c.kind, memberships.c.role)
        .join(memberships, memberships.c.entity_id == entities.c.id)
        .where(memberships.c.user_id == user.id)
    ).all()
    # sorted here, by code point: a database's collation (PostgreSQL's locale) would vary the order
    return sorted(((r.name, r.kind, r.role) for r in rows), key=lambda e: (e[1] != "user", e[0]))


def create_key(conn: Connection, user: User) -> tuple[str, str]:
    """A new API key for ``user``: (the key, its prefix). The key itself is not stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = key[: len(KEY_PREFIX) + 6]
    conn.execute(insert(api_keys).values(user_id=user.id, prefix=prefix, key_hash=hash_key(key), created_at=time.time()))
    return key, prefix


def user_for_key(conn: Connection, key: str) -> User | None:
    row = conn.execute(
        select(users)
        .join(api_keys, api_keys.c.user_id == users.c.id)
        .where(api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None))
    ).first()
    return _user(row) if row else None


def list_keys(conn: Connection, user: User) -> list[tuple[str, float, float | None]]:
    rows = conn.execute(select(api_keys).where(api_keys.c.user_id == user.id).order_by(api_keys.c.id)).all()
    return [(r.prefix, r.created_at, r.revoked_at) for r in rows]


def revoke_key(conn: Connection, user: User, prefix: str, *, any_user: bool = False) -> None:
    condition = api_keys.c.prefix == prefix
    if not any_user:
        condition = condition & (api_keys.c.user_id == user.id)
    done = conn.execute(update(api_keys).where(condition, api_keys.c.revoked_at.is_(None)).values(revoked_at=time.time()))
    if done.rowcount == 0:
        raise NotFound(f"no active API key {prefix!r}")

"""The artifact manifest: one definition for the SDK, the agent and the server (docs/artifacts.md).

A manifest maps entry paths to ``{"digest", "size"}`` (plus ``"ref"`` for references). Its digest,
the SHA-256 of its canonical JSON, identifies a version's contents: the same digest is the same
version.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, BinaryIO

MANIFEST_VERSION = 1
PART_BYTES = 64 * 1024 * 1024  # blobs larger than this are uploaded in parts of this size
CHUNK_BYTES = 1024 * 1024
MAX_ENTRY_PATH = 1024
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NUMBERED = re.compile(r"v?[0-9]+")  # "v3" and "3" name versions
RESERVED_ALIASES = frozenset({"latest", "versions"})  # the server's newest version; its listing's path


def digest_of(entries: dict[str, dict[str, Any]]) -> str:
    """The manifest digest: SHA-256 of the entries' canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(entries, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def manifest_of(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"version": MANIFEST_VERSION, "entries": entries}


def entry_path_problem(path: Any) -> str | None:
    """Why ``path`` cannot name an entry (relative POSIX path inside the artifact), or None."""
    if not isinstance(path, str) or not path or len(path) > MAX_ENTRY_PATH:
        return f"entry names must be strings of 1 to {MAX_ENTRY_PATH} characters, got {path!r}"
    if "\\" in path or "\x00" in path:
        return f"entry name {path!r} may not contain backslashes or NUL"
    if path.startswith("/"):
        return f"entry name {path!r} must be relative"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return f"entry name {path!r} may not contain empty, '.' or '..' parts"
    return None


def name_problem(name: Any, what: str, limit: int) -> str | None:
    """Why ``name`` cannot be an artifact's ``what`` (name or type), or None."""
    if not isinstance(name, str) or not 1 <= len(name) <= limit or not _NAME.fullmatch(name):
        return f"artifact {what} must be 1 to {limit} letters, digits, '-', '_' or '.', got {name!r}"
    return None


def alias_problem(alias: Any) -> str | None:
    """Why ``alias`` cannot name a version (``latest`` aside, which the server keeps), or None."""
    problem = name_problem(alias, "alias", 128)
    if problem:
        return problem
    if _NUMBERED.fullmatch(alias) or alias in RESERVED_ALIASES:
        return f"{alias!r} cannot be an alias: it reads as a version"
    return None


def entries_problem(entries: Any) -> str | None:
    """Why ``entries`` is not a valid manifest's entries, or None."""
    if not isinstance(entries, dict):
        return "manifest entries must be an object of entry name to {digest, size}"
    for path, entry in entries.items():
        problem = entry_path_problem(path)
        if problem:
            return problem
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str) \
                or isinstance(entry.get("size"), bool) or not isinstance(entry.get("size"), int) or entry["size"] < 0:
            return f"manifest entry {path!r} needs a string digest and a size of 0 or more bytes"
        if "ref" not in entry and not is_sha256(entry["digest"]):
            return f"manifest entry {path!r} is a file: its digest must be a SHA-256 (64 hex digits)"
    return None


def is_sha256(value: Any) -> bool:
    return isinstance(value, str) and bool(_SHA256.fullmatch(value))


def sha256_of(stream: BinaryIO, copy_to: BinaryIO | None = None) -> tuple[str, int]:
    """The SHA-256 and size of a stream, read a megabyte at a time (copied to ``copy_to`` as it goes)."""
    hasher, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK_BYTES):
        hasher.update(chunk)
        size += len(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
    return hasher.hexdigest(), size

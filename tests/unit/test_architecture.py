"""The shape of the package: cheap import, one-way imports, and a deliberate public API."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tracklet

SRC = Path(tracklet.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_runlog_imports_nothing_of_ours_but_errors() -> None:
    for path in (SRC / "runlog").glob("*.py"):
        ours = {m for m in imported_modules(path) if m.startswith("tracklet.")}
        assert all(m.startswith(("tracklet.runlog", "tracklet.errors")) for m in ours), (path.name, ours)


def test_sdk_never_imports_the_server_or_the_cli() -> None:
    for path in (SRC / "sdk").glob("*.py"):
        ours = {m for m in imported_modules(path) if m.startswith("tracklet.")}
        assert not any(m.startswith(("tracklet.server", "tracklet.cli")) for m in ours), (path.name, ours)


def test_only_settings_reads_the_environment() -> None:
    readers = [
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if "os.environ" in path.read_text(encoding="utf-8") or "getenv" in path.read_text(encoding="utf-8")
    ]
    assert readers == ["settings.py"]


def test_import_tracklet_pulls_in_no_network_database_or_numeric_library() -> None:
    code = (
        "import sys, tracklet; heavy = {'numpy', 'torch', 'http.client', 'urllib.request', 'httpx', 'requests', "
        "'sqlite3', 'yaml', 'asyncio', 'pandas', 'rich'}; print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_public_names_are_exactly_all() -> None:
    for name in tracklet.__all__:
        assert hasattr(tracklet, name) or name in ("run", "config", "summary"), name
    assert {"init", "log", "finish", "Settings", "Error", "UsageError", "CommError", "AuthenticationError"} <= set(
        tracklet.__all__
    )


def test_init_has_exactly_the_seed_signature() -> None:
    import inspect

    assert list(inspect.signature(tracklet.init).parameters) == [
        "entity", "project", "dir", "id", "name", "notes", "tags", "config", "config_exclude_keys",
        "config_include_keys", "allow_val_change", "group", "job_type", "mode", "force", "anonymous", "reinit",
        "resume", "resume_from", "fork_from", "save_code", "tensorboard", "sync_tensorboard", "monitor_gym",
        "settings",
    ]
    assert all(p.default is None for p in inspect.signature(tracklet.init).parameters.values())


def test_error_hierarchy() -> None:
    assert issubclass(tracklet.UsageError, tracklet.Error)
    assert issubclass(tracklet.CommError, tracklet.Error)
    assert issubclass(tracklet.AuthenticationError, tracklet.CommError)
    from tracklet import errors

    assert errors.Error is tracklet.Error


def test_settings_annotations_match_the_field_table() -> None:
    from tracklet.settings import _FIELDS, Settings

    annotated = set(Settings.__annotations__) - {"explicit_arguments", "_explicit"}
    assert annotated == set(_FIELDS)


def test_the_package_type_checks() -> None:
    from mypy import api as mypy

    report, errors, status = mypy.run(["--config-file", str(SRC.parent.parent / "pyproject.toml")])
    assert status == 0, report + errors

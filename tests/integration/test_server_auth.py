"""Accounts and API keys through the CLI and the HTTP API: who may read and write what."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ServerProcess, api


def cli(server: ServerProcess, *args: str, key: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACKLET_CONFIG_DIR": str(server.config_dir)}
    if key is not None:
        env["TRACKLET_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "tracklet.cli.main", *args], env=env, capture_output=True,
                          text=True, input=stdin, timeout=60)


def create_user(server: ServerProcess, name: str) -> str:
    result = cli(server, "user", "create", name)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().rsplit(" ", 1)[-1]
    assert key.startswith("tk_") and len(key) >= 40
    return key


def test_first_start_logs_this_machine_in_as_administrator(server: ServerProcess) -> None:
    result = cli(server, "whoami")
    assert result.returncode == 0, result.stderr
    assert "(administrator)" in result.stdout
    settings_file = server.config_dir / "settings"
    assert oct(settings_file.stat().st_mode & 0o777) == "0o600"


def test_users_cannot_see_or_write_each_others_private_projects(server: ServerProcess, run_script, workdir: Path) -> None:
    alice = create_user(server, "alice")
    bob = create_user(server, "bob")
    assert run_script(
        "import tracklet\nrun = tracklet.init(project='secret', id='alice001')\nrun.log({'x': 1})\n",
        env={"TRACKLET_API_KEY": alice},
    ).returncode == 0
    with api(server, alice) as as_alice, api(server, bob) as as_bob:
        assert as_alice.get("/runs/alice/secret/alice001").status_code == 200
        assert [p["name"] for p in as_alice.get("/entities/alice/projects").json()] == ["secret"]
        for method, path, body in [
            ("GET", "/runs/alice/secret/alice001", None),
            ("GET", "/runs/alice/secret", None),
            ("GET", "/entities/alice/projects", None),
            ("PATCH", "/runs/alice/secret/alice001", {"name": "pwned"}),
            ("DELETE", "/runs/alice/secret/alice001", None),
            ("POST", "/runs", {"entity": "alice", "project": "secret", "run_id": "bob00001"}),
        ]:
            response = as_bob.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
        # the same answer as for an entity that does not exist: no existence leak
        hidden = as_bob.get("/runs/alice/secret/alice001").json()
        missing = as_bob.get("/runs/ghost/secret/alice001").json()
        assert hidden["title"] == missing["title"] == "Not Found"
        assert hidden["detail"].replace("alice", "ghost") == missing["detail"]
        assert as_alice.get("/runs/alice/secret/alice001").json()["name"] != "pwned"
        # an unknown entity and someone else's entity look the same
        assert as_bob.get("/entities/alice/projects").status_code == as_bob.get("/entities/ghost/projects").status_code


def test_missing_wrong_and_revoked_keys_get_401(server: ServerProcess) -> None:
    carol = create_user(server, "carol")
    with api(server, "") as anonymous:
        assert anonymous.get("/viewer").status_code == 401
    with api(server, "tk_" + "w" * 43) as wrong:
        assert wrong.get("/viewer").status_code == 401
    with api(server, carol) as as_carol:
        assert as_carol.get("/viewer").json()["user"] == "carol"
        prefix = as_carol.get("/keys").json()[0]["prefix"]
        assert as_carol.delete(f"/keys/{prefix}").status_code == 200
        assert as_carol.get("/viewer").status_code == 401


def test_only_administrators_create_users(server: ServerProcess) -> None:
    dave = create_user(server, "dave")
    result = cli(server, "user", "create", "eve", key=dave)
    assert result.returncode != 0 and "only administrators" in result.stderr


def test_teams_share_projects_with_their_members(server: ServerProcess, run_script, workdir: Path) -> None:
    frank = create_user(server, "frank")
    grace = create_user(server, "grace")
    assert cli(server, "team", "create", "lab", key=frank).returncode == 0
    with api(server, grace) as as_grace:
        assert as_grace.get("/entities/lab/projects").status_code == 404
    assert cli(server, "team", "add", "lab", "grace", key=frank).returncode == 0
    assert run_script(
        "import tracklet\nrun = tracklet.init(entity='lab', project='shared', id='lab00001')\nrun.log({'x': 1})\n",
        env={"TRACKLET_API_KEY": frank},
    ).returncode == 0
    with api(server, grace) as as_grace:
        assert as_grace.get("/runs/lab/shared/lab00001").json()["summary"]["x"] == 1


def test_login_logout_and_force(server: ServerProcess, run_script, workdir: Path) -> None:
    key = create_user(server, "heidi")
    assert cli(server, "login", key, "--host", server.url).returncode == 0
    assert cli(server, "whoami").stdout.startswith("heidi")
    assert cli(server, "logout").returncode == 0
    assert cli(server, "whoami").returncode != 0
    result = run_script(
        """
        import tracklet
        try:
            tracklet.init(project="p", force=True)
        except tracklet.AuthenticationError as e:
            print("AuthenticationError")
        run = tracklet.init(project="p")
        print(run.offline)
        """
    )
    assert result.stdout.split() == ["AuthenticationError", "True"]
    assert "No Tracklet server configured" in result.stderr
    bad = run_script("import tracklet\ntracklet.init(project='p')\n", env={"TRACKLET_API_KEY": "tk_" + "n" * 43})
    assert bad.returncode == 1 and "AuthenticationError" in bad.stderr


def test_anonymous_accounts_only_when_the_server_allows_them(server: ServerProcess, run_script, workdir: Path) -> None:
    must = run_script(
        """
        import tracklet
        try:
            tracklet.init(project="anon", anonymous="must")
        except tracklet.AuthenticationError as e:
            print("AuthenticationError", e)
        """
    )
    assert "AuthenticationError" in must.stdout and "--allow-anonymous" in must.stdout
    # "allow" with a login uses the login
    allow = run_script("import tracklet\nrun = tracklet.init(project='anon', anonymous='allow')\nprint(run.entity)\n")
    assert allow.stdout.strip() == "root"

    server.stop()
    server.extra_args = ("--allow-anonymous",)
    server.start()
    anonymous = run_script(
        "import tracklet\nrun = tracklet.init(project='anon', anonymous='must')\nrun.log({'x': 1})\nprint(run.entity)\n"
    )
    assert anonymous.returncode == 0, anonymous.stderr
    entity = anonymous.stdout.strip()
    assert entity.startswith("anonymous-")
    with api(server) as admin:
        assert admin.get(f"/runs/{entity}/anon").status_code == 404  # private to the anonymous account

"""``tracklet.init``: resolve settings, check every argument, then create the run locally."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tracklet.errors import AuthenticationError, Error, UsageError
from tracklet.runlog import Record, RecordType, RunLogWriter, RunState, encode
from tracklet.agent.progress import UploadProgress
from tracklet.sdk import lifecycle, local, metadata, online
from tracklet.sdk.code_context import ContextCollector
from tracklet.sdk.config import as_mapping, load_yaml_config
from tracklet.sdk.files import RunFiles
from tracklet.sdk.identity import infer_project, new_run_id, new_run_name, program_path
from tracklet.sdk.origin import local_origin, server_origin
from tracklet.sdk.printer import Printer
from tracklet.sdk.run import Run
from tracklet.sdk.values import config_key, config_value
from tracklet.settings import Settings, resolve

CONFIG_DEFAULTS_FILE = "config-defaults.yaml"


def init(
    entity: str | None = None,
    project: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    name: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    config: dict[str, Any] | str | None = None,
    config_exclude_keys: list[str] | None = None,
    config_include_keys: list[str] | None = None,
    allow_val_change: bool | None = None,
    group: str | None = None,
    job_type: str | None = None,
    mode: str | None = None,
    force: bool | None = None,
    anonymous: str | None = None,
    reinit: bool | str | None = None,
    resume: bool | str | None = None,
    resume_from: str | None = None,
    fork_from: str | None = None,
    save_code: bool | None = None,
    tensorboard: bool | None = None,
    sync_tensorboard: bool | None = None,
    monitor_gym: bool | None = None,
    settings: Settings | dict[str, Any] | None = None,
) -> Run:
    """Start a new run to track and log to Tracklet.

    The run is recorded locally first, in ``<dir>/tracklet/``, so ``init`` never
    waits on a network. Call :meth:`Run.finish` (or use ``with tracklet.init() as run:``)
    to end it; a run left open is finished when the script exits.

    Args:
        entity: the user or team the run belongs to.
        project: the project; inferred from the git repository and script when not given,
            else ``"uncategorized"``.
        dir: where the ``tracklet/`` folder goes (default: the working directory).
        id: a unique id, for resuming (8 random ``[a-z0-9]`` characters by default).
        name: a short display name (an ``adjective-noun-N`` name by default).
        notes: a longer description of the run.
        tags: a list of tags (1 to 64 characters each); a bare string is one tag.
        config: hyperparameters: a dict, argparse ``Namespace``, absl flags, any object
            with ``__dict__``, or the path of a YAML file.
        config_exclude_keys: keys of ``config`` to leave out.
        config_include_keys: the only keys of ``config`` to keep.
        allow_val_change: allow config values to change after they are set.
        group: organize runs into a larger experiment.
        job_type: the kind of run (``"train"``, ``"eval"``...), for grouping and filtering.
        mode: ``"online"``, ``"offline"`` or ``"disabled"``.
        force: raise when no server login is configured instead of continuing offline.
        anonymous: ``"never"``, ``"allow"`` or ``"must"``.
        reinit: what to do while another run is active: ``"default"``,
            ``"return_previous"``, ``"finish_previous"`` or ``"create_new"`` (True/False are
            aliases of the middle two).
        resume: ``"allow"``, ``"must"``, ``"never"``, ``"auto"`` (or True).
        resume_from: ``"<run_id>?_step=<n>"``: rewind that run to step n and continue it.
        fork_from: ``"<run_id>?_step=<n>"``: start a new run from that run's step n.
        save_code: save the main script with the run.
        tensorboard: deprecated alias of ``sync_tensorboard``.
        sync_tensorboard: log what TensorBoard writers record in this process and save their event files.
        monitor_gym: log videos of Gym environments.
        settings: a :class:`tracklet.Settings` or a dict of settings.

    Returns:
        The :class:`Run`.

    Raises:
        UsageError: an argument is invalid (the message names it and the rule).
        AuthenticationError: ``force=True`` and no login is configured.
    """
    if sync_tensorboard is None:
        sync_tensorboard = tensorboard
    for argument, value in (("monitor_gym", monitor_gym), ("tensorboard", tensorboard)):
        if value is not None and not isinstance(value, bool):
            raise UsageError(f"{argument} must be a boolean, got {value!r}")
    resolved = resolve(
        {
            "entity": entity, "project": project, "root_dir": dir, "run_id": id, "run_name": name,
            "run_notes": notes, "run_tags": tags, "allow_val_change": allow_val_change, "run_group": group,
            "run_job_type": job_type, "mode": mode, "force": force, "anonymous": anonymous, "reinit": reinit,
            "resume": resume, "resume_from": resume_from, "fork_from": fork_from, "save_code": save_code,
            "sync_tensorboard": sync_tensorboard,
        },
        settings,
    )
    printer = Printer(resolved.silent, resolved.quiet)
    if tensorboard is not None:
        printer.warn("init: `tensorboard` is deprecated and will be removed; use `sync_tensorboard` instead.")
    _check_combinations(resolved)

    previous = _handle_reinit(resolved, printer)
    if previous is not None:
        return previous

    initial_config = _initial_config(config, config_include_keys, config_exclude_keys)
    _check_integrations(resolved, monitor_gym)
    if resolved.mode == "online":
        _login_or_offline(resolved, printer)
    if resolved.mode == "disabled":
        run = _disabled_run(resolved, printer, initial_config)
    else:
        run = _local_run(resolved, printer, initial_config)
        if monitor_gym:
            from tracklet.integration.gym import GymMonitor

            run._add_service(GymMonitor(run))  # undone at finish
        if resolved.sync_tensorboard:
            from tracklet.integration.tensorboard import TensorBoardSync

            run._add_service(TensorBoardSync(run))  # patches undone, events read and files copied at finish
    lifecycle.register(run, make_current=resolved.reinit != "create_new")
    return run


def _check_combinations(s: Settings) -> None:
    chosen = [n for n in ("resume", "resume_from", "fork_from") if getattr(s, n) is not None]
    if len(chosen) > 1:
        raise UsageError(
            "`fork_from`, `resume`, or `resume_from` are mutually exclusive. Please specify only one of them."
        )
    if s.fork_from is not None and s.run_id == s.fork_from.run_id:
        raise UsageError(
            f"id: Provided `run_id` is the same as the run to `fork_from` ({s.run_id!r}); a fork is a new run. "
            "To continue that run from a step, please use `resume_from` instead."
        )
    if s.resume_from is not None and s.run_id is not None and s.run_id != s.resume_from.run_id:
        raise UsageError(
            f"Both `run_id` ({s.run_id!r}) and `resume_from` ({s.resume_from.run_id!r}) have been specified with different ids."
        )


def _handle_reinit(s: Settings, printer: Printer) -> Run | None:
    active = lifecycle.active()
    if not active or s.reinit == "create_new":
        return None
    mode = s.reinit
    if mode == "default":
        mode = "finish_previous" if _in_notebook() else "return_previous"
    if mode == "return_previous":
        if s.resume == "must":
            raise Error(
                "Cannot resume a run while another run is active. You must either finish it using "
                "run.finish(), or use reinit='create_new' when calling tracklet.init()."
            )
        printer.info(
            f"tracklet.init() called while a run is active and reinit is set to {s.reinit!r}, "
            "so returning the previous run."
        )
        return active[-1]
    printer.info(f"Finishing previous runs because reinit is set to {s.reinit!r}.")
    for run in reversed(active):
        run.finish(0)
    return None


def _in_notebook() -> bool:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


def _initial_config(
    config: Any, include: list[str] | None, exclude: list[str] | None
) -> dict[str, Any]:
    """``config-defaults.yaml`` overlaid with ``config``, filtered, made JSON-friendly."""
    if include is not None and exclude is not None:
        raise UsageError("config_include_keys, config_exclude_keys: Expected at most only one of exclude or include")
    merged: dict[str, Any] = {}
    given: Mapping[Any, Any]
    if os.path.isfile(CONFIG_DEFAULTS_FILE):
        merged.update(load_yaml_config(CONFIG_DEFAULTS_FILE, CONFIG_DEFAULTS_FILE))
    if config is not None:
        if isinstance(config, (str, os.PathLike)):
            given = load_yaml_config(os.fspath(config), "config")
        elif isinstance(config, (int, float, bool, list, tuple, bytes)):
            raise TypeError(f"config must be a dict or have a __dict__ attribute, got {type(config).__name__}")
        else:
            given = as_mapping(config, "config")
        for key, value in given.items():
            merged[config_key(key, "config")] = value
    if include is not None:
        merged = {k: v for k, v in merged.items() if k in include}
    if exclude is not None:
        merged = {k: v for k, v in merged.items() if k not in exclude}
    from tracklet.sdk.config import _check_size

    result = {}
    for key, value in merged.items():
        result[key] = config_value(value, key)
        _check_size(key, result[key])
    return result


def _check_integrations(s: Settings, monitor_gym: bool | None) -> None:
    """The libraries an integration needs: missing ones raise as in the original, before anything is written."""
    if s.sync_tensorboard:
        from tracklet.integration import tensorboard

        tensorboard.check_available()  # its event reader is needed, even for tensorboardX's files
    if monitor_gym:
        from tracklet.integration import gym

        gym.check_available()


def _login_or_offline(s: Settings, printer: Printer) -> None:
    """Online needs a server login (or an anonymous account); without one, record offline
    (or raise when ``force``)."""
    wants_anonymous = s.anonymous == "must" or (s.anonymous == "allow" and s.api_key is None)
    if s.base_url is not None and wants_anonymous:
        key = online.anonymous_key(s, printer)
        if key is not None:
            s.api_key = key
            return
    if s.api_key is not None and s.base_url is not None:
        return
    if s.force:
        raise AuthenticationError(
            "force=True but no Tracklet server login is configured: run `tracklet login` "
            "(or set TRACKLET_BASE_URL and TRACKLET_API_KEY)"
        )
    printer.info("No Tracklet server configured; recording this run offline (upload it later with `tracklet sync`).")
    s.mode = "offline"


def _disabled_run(s: Settings, printer: Printer, initial_config: dict[str, Any]) -> Run:
    state = RunState()
    run_id = s.run_id or new_run_id()
    project = s.project or "uncategorized"
    state.start({
        "run_id": run_id,
        "project": "dummy" if project == "uncategorized" else project,
        "entity": s.entity or "dummy",
        "name": s.run_name or f"dummy-{run_id}",
        "notes": s.run_notes, "tags": list(s.run_tags), "group": s.run_group or "", "job_type": s.run_job_type or "",
        "start_time": time.time(), "mode": "disabled",
    })
    state.config.update(initial_config)
    return Run(settings=s, state=state, writer=None, run_dir=None, files=None, printer=printer,
               allow_val_change=bool(s.allow_val_change), on_finish=lifecycle.forget)


def _local_run(s: Settings, printer: Printer, initial_config: dict[str, Any]) -> Run:
    started = time.time()
    tracklet_dir = s.tracklet_dir
    program = program_path()
    project = s.project if s.project is not None else infer_project(os.getcwd(), program)

    run_id = s.run_id
    if s.resume == "auto":
        stored = local.read_resume_id(tracklet_dir)
        if stored and run_id is None:
            run_id = stored
        elif stored and stored != run_id:
            printer.warn(f"Ignoring ID {stored} loaded due to resume='auto' because the run ID is set to {run_id}.")
    if s.resume_from is not None:
        run_id = s.resume_from.run_id
    run_id = run_id or new_run_id()

    online_mode = s.mode == "online"
    reply = online.handshake(s, project, run_id, printer) if online_mode else None
    entity = s.entity or ""
    if reply is not None:
        run_id, project, entity = reply["run_id"], reply["project"], reply["entity"]
        origin = server_origin(reply)
        first_seq = reply["last_seq"] + 1
    else:
        origin = local_origin(s, tracklet_dir, run_id)
        first_seq = 1 + max((seg.state.last_seq for seg in local.segments(tracklet_dir, run_id)), default=0)

    run_dir = local.create_run_dir(tracklet_dir, online=online_mode, run_id=run_id, started=started)
    files = RunFiles(run_dir)
    writer = RunLogWriter(run_dir / local.runlog_name(run_id), first_seq=first_seq)

    restore = dict(origin.restore) if origin and origin.restore else None
    if restore and initial_config:
        restore["config"] = {**restore["config"], **initial_config}  # new values win on resume
    name = s.run_name or (origin.name if origin else None) or new_run_name(local.count_runs(tracklet_dir))

    def kept(setting: Any, attribute: str, default: Any) -> Any:
        if setting is not None and setting != ():
            return setting
        return getattr(origin, attribute) if origin else default

    start_body: dict[str, Any] = {
        "run_id": run_id,
        "project": project,
        "entity": entity,
        "mode": s.mode,
        "name": name,
        "notes": kept(s.run_notes, "notes", None),
        "tags": list(kept(s.run_tags, "tags", ())),
        "group": kept(s.run_group, "group", ""),
        "job_type": kept(s.run_job_type, "job_type", ""),
        "start_time": started,
        "starting_step": origin.starting_step if origin else 0,
        "runtime_offset": origin.runtime if origin else 0.0,
        "resumed": bool(origin and origin.kind == "resume"),
        "resume": s.resume,
        "branch": origin.branch if origin else None,
        "restore": restore,
    }
    state = RunState()
    records: list[tuple[RecordType, dict[str, Any]]] = [
        (RecordType.START, start_body),
        (RecordType.METADATA, metadata.collect(program, started)),
    ]
    if initial_config and not restore:
        records.append((RecordType.CONFIG, {"set": initial_config}))
    for kind, body in records:
        state.apply(Record(writer.append(encode(kind, body)), kind, body))

    files.write_config(state.config)
    files.write_metadata(state.metadata)
    files.write_summary(state.summary)
    # TRACKLET_DISABLE_CODE turns save_code off, unless init() was given save_code explicitly
    save_code = bool(s.save_code) and ("save_code" in s.explicit_arguments or not s.disable_code)
    if save_code:
        _save_code(program, files, state.metadata, printer)
    local.update_latest_link(tracklet_dir, run_dir)
    if s.resume == "auto":
        local.write_resume_id(tracklet_dir, run_id)
    if online_mode:
        if reply is not None:
            UploadProgress(acked_seq=reply["last_seq"], opened=True, entity=entity, project=project,
                           run_id=run_id, url=reply["url"]).save(run_dir)
        online.start_agent(run_dir, s)

    run = Run(settings=s, state=state, writer=writer, run_dir=run_dir, files=files, printer=printer,
              allow_val_change=bool(s.allow_val_change), on_finish=_on_finish(tracklet_dir, s, printer),
              url=reply["url"] if reply else None)
    if run._debug is not None:
        run._debug.info("run %s (%s) started in %s; settings %r", name, run_id, run_dir, s)
    _start_console_capture(run, s, run_dir)
    _start_system_monitor(run, s)
    run._add_service(ContextCollector(run._emit, files.files_dir, os.getcwd(),
                                      save_code=save_code, disable_git=s.disable_git))
    verb = {"resume": "Resuming", "rewind": "Rewinding", "fork": "Forking"}.get(origin.kind if origin else "", "Tracking")
    where = f"to {reply['url']}" if reply else ("locally (upload pending)" if online_mode else "offline")
    printer.info(f"{verb} run {name} ({run_id}) {where}; files in {run_dir}")
    return run


def _start_console_capture(run: Run, s: Settings, run_dir: Path) -> None:
    """Record stdout and stderr (setting ``console``) into the run log and ``files/output.log``."""
    if s.console == "off":
        return
    from tracklet.sdk.console import ConsoleCapture

    try:
        capture = ConsoleCapture(s.console, run._emit, run_dir / "files" / "output.log")
        run._add_service(capture)
    except Exception as exc:  # capture is a convenience: never fail init over it
        if run._debug is not None:
            run._debug.warning("console capture not started: %s", exc)


def _start_system_monitor(run: Run, s: Settings) -> None:
    """Sample system metrics every ``stats_sampling_interval`` seconds (off with ``disable_stats``)."""
    if s.disable_stats or s.mode == "disabled":
        return
    from tracklet.sdk.system_monitor import SystemMonitor

    run._add_service(SystemMonitor(run._emit, s.stats_sampling_interval, os.getpid()))


def _on_finish(tracklet_dir: Path, s: Settings, printer: Printer):
    def finished(run: Run) -> None:
        if run._state.exit_code == 0:
            local.clear_resume_id(tracklet_dir, run.id)
        lifecycle.forget(run)
        if s.mode == "online" and run.sync_dir is not None:
            online.wait_for_upload(Path(run.sync_dir), run._state.last_seq, s.finish_timeout, printer,
                                   f"run {run._state.name or run.id}")

    return finished


def _save_code(program: str | None, files: RunFiles, meta: dict[str, Any], printer: Printer) -> None:
    """Copy the main script (its exact bytes), or a notebook's cells, to ``files/code/``."""
    if program is None or not os.path.isfile(program):
        cells = _notebook_cells()
        if cells is None:
            printer.warn("save_code: there is no main script to save")
            return
        target = files.files_dir / "code" / "notebook.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n\n# %%\n".join(cells) + "\n", encoding="utf-8")
        return
    relative = meta.get("code_path") or os.path.basename(program)
    target = files.files_dir / "code" / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(program, target)


def _notebook_cells() -> list[str] | None:
    """The cells run so far in this IPython / Jupyter session, or None outside one."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is None:
        return None
    return [cell for cell in shell.user_ns.get("In", []) if cell.strip()]

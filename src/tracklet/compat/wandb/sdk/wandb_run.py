"""``wandb.sdk.wandb_run.Run`` (also ``wandb.wandb_run.Run`` and ``wandb.Run``): a view of a
``tracklet.Run`` with wandb's extra names. Attributes it does not define are the Tracklet run's."""

from __future__ import annotations

import sys
import weakref
from typing import Any

import tracklet
from tracklet import Error

__all__ = ["Run", "view"]


class Run:
    """A wandb-shaped view of a :class:`tracklet.Run`: reads and writes go to the Tracklet run."""

    _tracklet_run: tracklet.Run

    def __init__(self, run: tracklet.Run) -> None:
        object.__setattr__(self, "_tracklet_run", run)
        object.__setattr__(self, "_labels", {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracklet_run, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._tracklet_run, name, value)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<wandb.Run (Tracklet compatibility mode) {self._tracklet_run!r}>"

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._tracklet_run.__exit__(exc_type, exc, tb)

    def log(self, data: dict[str, Any], step: int | None = None, commit: bool | None = None,
            sync: bool | None = None) -> None:
        """``sync`` is accepted and unused, as in wandb; a pandas DataFrame value is logged as a Table, as in wandb."""
        if isinstance(data, dict) and any(_is_dataframe(v) for v in data.values()):
            data = {k: tracklet.Table(dataframe=v) if _is_dataframe(v) else v for k, v in data.items()}
        self._tracklet_run.log(data, step=step, commit=commit)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        self._tracklet_run.finish(exit_code=exit_code)

    join = finish

    def log_artifact(self, artifact_or_path: Any, name: str | None = None, type: str | None = None,
                     aliases: list[str] | None = None, tags: list[str] | None = None) -> Any:
        if tags:
            raise Error("wandb.Run.log_artifact(tags=...) is not supported by Tracklet; use aliases")
        return self._tracklet_run.log_artifact(artifact_or_path, name, type, aliases)

    def use_artifact(self, artifact_or_name: Any, type: str | None = None, aliases: list[str] | None = None,
                     use_as: str | None = None) -> Any:
        if use_as is not None:
            raise Error("wandb.Run.use_artifact(use_as=...) is not supported by Tracklet (it is deprecated in wandb)")
        return self._tracklet_run.use_artifact(artifact_or_name, type, aliases)

    def watch(self, models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 1000,
              idx: int | None = None, log_graph: bool = False) -> Any:
        method = getattr(self._tracklet_run, "watch", None)
        if method is None:
            raise Error("wandb.watch(): this Tracklet version has no Run.watch, so model gradients and "
                        "parameters cannot be logged")
        return method(models, criterion=criterion, log=log, log_freq=log_freq, idx=idx, log_graph=log_graph)

    def unwatch(self, models: Any = None) -> None:
        method = getattr(self._tracklet_run, "unwatch", None)
        if method is None:
            raise Error("wandb.unwatch(): this Tracklet version has no Run.unwatch")
        method(models)

    def save(self, glob_str: Any = None, base_path: Any = None, policy: str = "live") -> Any:
        method = getattr(self._tracklet_run, "save", None)
        if method is None:
            raise Error(f"wandb.save({glob_str!r}) is not supported by Tracklet: files are not synced with the "
                        "run; log them as a tracklet.Artifact (run.log_artifact) instead")
        return method(glob_str, base_path=base_path, policy=policy)

    def alert(self, title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
        print(f"tracklet: WARNING wandb.alert() is not supported by Tracklet (no notification was sent): "
              f"[{level or 'INFO'}] {title}: {text}", file=sys.stderr)

    def log_code(self, root: str | None = ".", name: str | None = None, **kwargs: Any) -> None:
        print("tracklet: WARNING wandb.Run.log_code() is not supported by Tracklet: no code was saved "
              "(init(save_code=True) saves the main script)", file=sys.stderr)

    def get_url(self) -> str | None:
        return self._tracklet_run.url

    def _label(self, code: str | None = None, repo: str | None = None, code_version: str | None = None,
               **kwargs: Any) -> None:
        """Integrations say who they are (``code="transformers_trainer"``); kept on the view."""
        self._labels.update({k: v for k, v in (("code", code), ("repo", repo), ("code_version", code_version))
                             if v is not None})


def _is_dataframe(value: Any) -> bool:
    kind = type(value)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pandas")


_views: weakref.WeakKeyDictionary[tracklet.Run, Run] = weakref.WeakKeyDictionary()


def view(run: tracklet.Run | Run) -> Run:
    """The one wandb view of a Tracklet run."""
    if isinstance(run, Run):
        return run
    found = _views.get(run)
    if found is None:
        found = _views[run] = Run(run)
    return found

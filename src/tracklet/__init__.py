"""Tracklet: track machine learning experiments with the API you already know.

```python
import tracklet

run = tracklet.init(project="mnist", config={"lr": 0.01})
for step in range(100):
    run.log({"loss": 1 / (step + 1)})
run.finish()
```

``tracklet.run``, ``tracklet.config`` and ``tracklet.summary`` refer to the
current run (the last one started with ``init`` and not finished yet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracklet.__about__ import __version__
from tracklet.errors import AuthenticationError, CommError, Error, UsageError
from tracklet.sdk.init import init
from tracklet.settings import Settings

if TYPE_CHECKING:
    from tracklet.artifacts.artifact import Artifact
    from tracklet.media import Audio, Histogram, Html, Image, Table, Video
    from tracklet.sdk.run import Metric, Run

_MEDIA = ("Audio", "Histogram", "Html", "Image", "Table", "Video")

__all__ = [
    "Api",
    "Artifact",
    "Audio",
    "AuthenticationError",
    "CommError",
    "Error",
    "Histogram",
    "Html",
    "Image",
    "Run",
    "Settings",
    "Table",
    "UsageError",
    "Video",
    "__version__",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "log_artifact",
    "run",
    "summary",
    "unwatch",
    "use_artifact",
    "watch",
]


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Log to the current run; see :meth:`Run.log`."""
    from tracklet.sdk import lifecycle

    lifecycle.require_current("tracklet.log()").log(data, step=step, commit=commit)


def log_artifact(artifact_or_path: Any, name: str | None = None, type: str | None = None,
                 aliases: list[str] | None = None) -> Artifact:
    """Log an artifact to the current run; see :meth:`Run.log_artifact`."""
    from tracklet.sdk import lifecycle

    return lifecycle.require_current("tracklet.log_artifact()").log_artifact(artifact_or_path, name, type, aliases)


def use_artifact(artifact_or_name: Any, type: str | None = None, aliases: list[str] | None = None) -> Artifact:
    """Use an artifact in the current run; see :meth:`Run.use_artifact`."""
    from tracklet.sdk import lifecycle

    return lifecycle.require_current("tracklet.use_artifact()").use_artifact(artifact_or_name, type, aliases)


def finish(exit_code: int | None = None) -> None:
    """Finish the current run, if there is one; see :meth:`Run.finish`."""
    from tracklet.sdk import lifecycle

    run = lifecycle.current()
    if run is not None:
        run.finish(exit_code=exit_code)


def define_metric(name: str, **kwargs: Any) -> Metric:
    """Define a metric of the current run; see :meth:`Run.define_metric`."""
    from tracklet.sdk import lifecycle

    return lifecycle.require_current("tracklet.define_metric()").define_metric(name, **kwargs)


def watch(models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 1000,
          idx: int | None = None, log_graph: bool = False) -> None:
    """Watch torch models in the current run; see :meth:`Run.watch`."""
    from tracklet.sdk import lifecycle

    lifecycle.require_current("tracklet.watch()").watch(models, criterion, log, log_freq, idx, log_graph)


def unwatch(models: Any = None) -> None:
    """Stop watching models in the current run; see :meth:`Run.unwatch`."""
    from tracklet.sdk import lifecycle

    lifecycle.require_current("tracklet.unwatch()").unwatch(models)


def __getattr__(name: str) -> Any:
    if name in ("run", "config", "summary"):
        from tracklet.sdk import lifecycle

        current = lifecycle.current()
        if name == "run":
            return current
        return getattr(current, name) if current is not None else lifecycle.PreInit(name)
    if name == "Run":
        from tracklet.sdk.run import Run

        return Run
    if name in _MEDIA:
        import tracklet.media

        return getattr(tracklet.media, name)
    if name == "Artifact":
        from tracklet.artifacts.artifact import Artifact

        return Artifact
    if name == "Api":
        from tracklet.api import Api

        return Api
    raise AttributeError(f"module 'tracklet' has no attribute {name!r}")

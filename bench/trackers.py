"""One adapter per experiment tracker, all with the same interface.

The measuring code (bench/child.py) only talks to `Tracker`, so every tracker is
timed by exactly the same loop. This module must stay cheap to import: it is
loaded into every measuring process before the tracker itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

Metrics = dict[str, float]
LogFn = Callable[[Metrics, int], None]

# Variables that keep every tracker off the network and its chatter off the console.
COMMON_ENV = {
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


class Tracker:
    """A tracker driven through a wandb-like init/log/finish interface."""

    name: str = ""
    module: str = ""
    required: bool = False
    max_steps: int | None = None  # cap for trackers too slow for the full run
    note: str = ""

    def env(self, data_dir: Path) -> dict[str, str]:
        """Extra environment variables for the measuring process."""
        return {}

    def load(self) -> ModuleType:
        """Import the tracker package."""
        return importlib.import_module(self.module)

    def init(self, mod: ModuleType, data_dir: Path) -> Any:
        """Start an offline run that writes below `data_dir`; return the run."""
        return mod.init(project="bench", dir=str(data_dir), mode="offline")

    def logger(self, mod: ModuleType, run: Any) -> LogFn:
        """Return a callable `log(metrics, step)` for the timed loop."""
        log = run.log
        return lambda metrics, step: log(metrics)

    def finish(self, mod: ModuleType, run: Any) -> None:
        """Finish the run, flushing everything to disk."""
        run.finish()

    def image(self, mod: ModuleType, pixels: Any) -> Any:
        """An image value for `log` from an HWC uint8 numpy array (bench/media_bench.py)."""
        return mod.Image(pixels)

    def table(self, mod: ModuleType, columns: list[str], data: list[list[Any]]) -> Any:
        """A table value for `log` (bench/media_bench.py)."""
        return mod.Table(columns=columns, data=data)

    def teardown(self, mod: ModuleType) -> None:
        """Stop helper processes so that RUSAGE_CHILDREN accounts for them."""
        teardown = getattr(mod, "teardown", None)
        if callable(teardown):
            teardown()


class Tracklet(Tracker):
    name = "tracklet"
    module = "tracklet"
    required = True

    def env(self, data_dir: Path) -> dict[str, str]:
        return {"TRACKLET_SILENT": "1"}


class Wandb(Tracker):
    name = "wandb"
    module = "wandb"
    required = True

    def env(self, data_dir: Path) -> dict[str, str]:
        return {"WANDB_SILENT": "true", "WANDB_MODE": "offline"}


class Trackio(Tracker):
    name = "trackio"
    module = "trackio"

    def env(self, data_dir: Path) -> dict[str, str]:
        return {"TRACKIO_DIR": str(data_dir / "trackio")}

    note = "init only starts a writer thread; the run is written during log and finish"

    def init(self, mod: ModuleType, data_dir: Path) -> Any:
        return mod.init(project="bench")


class Mlflow(Tracker):
    name = "mlflow"
    module = "mlflow"
    max_steps = 5_000
    note = "SQLite store, synchronous log_metrics (~5 ms/call): capped at 5,000 steps"

    def init(self, mod: ModuleType, data_dir: Path) -> Any:
        mod.set_tracking_uri(f"sqlite:///{data_dir / 'mlflow.db'}")
        mod.set_experiment("bench")
        return mod.start_run()

    def logger(self, mod: ModuleType, run: Any) -> LogFn:
        return mod.log_metrics  # log_metrics(metrics, step)

    def finish(self, mod: ModuleType, run: Any) -> None:
        mod.end_run()


TRACKERS: dict[str, Tracker] = {t.name: t for t in (Tracklet(), Wandb(), Trackio(), Mlflow())}

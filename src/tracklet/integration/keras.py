"""Keras callbacks that log to the current run: metrics, and model checkpoints as artifacts.

```python
import keras
import tracklet
from tracklet.integration.keras import TrackletMetricsLogger, TrackletModelCheckpoint

run = tracklet.init(project="mnist")
model.fit(x, y, validation_data=(vx, vy), epochs=10, callbacks=[
    TrackletMetricsLogger(),                                  # epoch/loss, epoch/val_loss, ...
    TrackletModelCheckpoint("model.keras", save_best_only=True),  # artifact run_<id>_model
])
```

The original's ``wandb.integration.keras`` callbacks (``WandbMetricsLogger``,
``WandbModelCheckpoint``) under Tracklet's names, with the original's names as aliases. They
are written against Keras 3's backend-neutral ``keras.callbacks`` (the original imports
TensorFlow), so they run on the torch and JAX backends too. Importing this module imports keras.
"""

from __future__ import annotations

import os
import shutil
import string
from typing import TYPE_CHECKING, Any, Literal

import keras

from tracklet.errors import Error

if TYPE_CHECKING:
    from tracklet.sdk.run import Run

__all__ = ["TrackletMetricsLogger", "TrackletModelCheckpoint", "WandbMetricsLogger", "WandbModelCheckpoint"]


def _current_run(callback: str) -> Run:
    from tracklet.sdk import lifecycle

    run = lifecycle.current()
    if run is None:
        raise Error(f"You must call `tracklet.init()` before {callback}()")
    return run


class TrackletMetricsLogger(keras.callbacks.Callback):
    """Log the ``logs`` dict that Keras hands its callbacks, and the learning rate, to the current run.

    Args:
        log_freq: ``"epoch"`` logs ``epoch/<name>`` once per epoch, with ``epoch/epoch``
            (0-based) as the x-axis; ``"batch"`` or an integer ``n`` logs ``batch/<name>`` every
            ``n`` training batches (counted from each epoch's start, as Keras numbers them), with
            ``batch/batch_step`` as the x-axis.
        initial_global_step: the original's argument for resumed training; kept for its
            signature (Keras 3's optimizer reports a schedule's rate at its own step).
    """

    def __init__(self, log_freq: Literal["epoch", "batch"] | int = "epoch", initial_global_step: int = 0,
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._run = _current_run("TrackletMetricsLogger")
        if log_freq == "batch":
            log_freq = 1
        if log_freq != "epoch" and (not isinstance(log_freq, int) or isinstance(log_freq, bool) or log_freq < 1):
            raise Error(f"TrackletMetricsLogger: log_freq must be 'epoch', 'batch' or a positive int, not {log_freq!r}")
        self.logging_batch_wise = isinstance(log_freq, int)
        self.log_freq: int | None = log_freq if isinstance(log_freq, int) else None
        self.global_batch = 0
        self.global_step = initial_global_step
        self._lr_failed = False
        if self.logging_batch_wise:
            self._run.define_metric("batch/batch_step")
            self._run.define_metric("batch/*", step_metric="batch/batch_step")
        else:
            self._run.define_metric("epoch/epoch")
            self._run.define_metric("epoch/*", step_metric="epoch/epoch")

    def _learning_rate(self) -> float | None:
        try:
            # Keras 3: a variable, or a schedule's value at the optimizer's current iteration.
            return float(self.model.optimizer.learning_rate)
        except Exception:  # noqa: BLE001 - a custom optimizer or schedule: log the metrics without it
            if not self._lr_failed:
                self._lr_failed = True
                self._run._printer.error("Unable to log learning rate.")
            return None

    def _row(self, prefix: str, logs: dict[str, Any] | None) -> dict[str, Any]:
        return {f"{prefix}/{key}": value for key, value in (logs or {}).items()}

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        row = self._row("epoch", logs)
        row["epoch/epoch"] = epoch
        lr = self._learning_rate()
        if lr is not None:
            row["epoch/learning_rate"] = lr
        self._run.log(row)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.global_step += 1
        if self.log_freq is not None and batch % self.log_freq == 0:
            row = self._row("batch", logs)
            row["batch/batch_step"] = self.global_batch
            lr = self._learning_rate()
            if lr is not None:
                row["batch/learning_rate"] = lr
            self._run.log(row)
            self.global_batch += self.log_freq

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs)


class TrackletModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``keras.callbacks.ModelCheckpoint`` that logs each file it saves as a ``model`` artifact.

    The artifact is ``run_<run id>_model``; each save is a new version, with the aliases
    ``epoch_<n>`` (0-based, as Keras passes it; ``epoch_<n>_batch_<b>`` with an integer
    ``save_freq``), ``latest``, and ``best`` for a save made because the monitored value
    improved (``save_best_only=True``). Saving is Keras's: the arguments are
    ``ModelCheckpoint``'s. A file written with ``save_weights_only=True`` must end in
    ``.weights.h5``, a model in ``.keras`` (Keras 3's rule).
    """

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: Literal["auto", "min", "max"] = "auto", save_freq: Literal["epoch"] | int = "epoch",
                 initial_value_threshold: float | None = None, **kwargs: Any) -> None:
        if not callable(getattr(keras.callbacks.ModelCheckpoint, "_should_save_model", None)):
            raise Error(f"TrackletModelCheckpoint needs a newer Keras than {keras.__version__} (tested with 3.15)")
        super().__init__(filepath=filepath, monitor=monitor, verbose=verbose, save_best_only=save_best_only,
                         save_weights_only=save_weights_only, mode=mode, save_freq=save_freq,
                         initial_value_threshold=initial_value_threshold, **kwargs)
        self._run = _current_run("TrackletModelCheckpoint")
        self._saving: str | None = None
        self._improved = False
        if save_best_only and not any(field for _, field, _, _ in string.Formatter().parse(self.filepath)):
            self._run._printer.warn(
                "When using `save_best_only`, ensure that the `filepath` argument contains formatting "
                "placeholders like `{epoch:02d}` or `{batch:02d}`. This ensures correct interpretation "
                "of the logged artifacts."
            )

    # Keras's ModelCheckpoint._save_model asks _should_save_model(epoch, batch, logs, filepath)
    # and, when it says yes, writes filepath. Noting its answer tells what was written, whether
    # the save was for a better value, and for which epoch and batch.
    def _should_save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None, filepath: str) -> bool:
        best_before = getattr(self, "best", None)
        save = bool(super()._should_save_model(epoch, batch, logs, filepath))
        self._saving = filepath if save else None
        self._improved = save and self.save_best_only and getattr(self, "best", None) != best_before
        return save

    def _save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        self._saving = None
        super()._save_model(epoch, batch, logs)
        if self._saving is None:
            return
        aliases = ["latest", f"epoch_{epoch}" if batch is None else f"epoch_{epoch}_batch_{batch}"]
        if self._improved:
            aliases.append("best")
        self._log_checkpoint(self._saving, aliases)

    def _log_checkpoint(self, filepath: str, aliases: list[str]) -> None:
        from tracklet.artifacts.artifact import Artifact

        artifact = Artifact(f"run_{self._run.id}_model", type="model")
        if not os.path.isfile(filepath):  # Keras 3 writes one file, `.keras` or `.weights.h5`
            self._run._printer.warn(f"TrackletModelCheckpoint: {filepath} was not found; no artifact logged")
            return
        # Copied into the artifact now: the next checkpoint may overwrite the file before the
        # artifact thread stages it.
        with open(filepath, "rb") as source, artifact.new_file(os.path.basename(filepath), mode="wb") as target:
            shutil.copyfileobj(source, target)
        self._run.log_artifact(artifact, aliases=aliases)


WandbMetricsLogger = TrackletMetricsLogger
WandbModelCheckpoint = TrackletModelCheckpoint

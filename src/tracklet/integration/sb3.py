"""A Stable-Baselines3 callback: the model's hyperparameters into the config, the model as an artifact.

```python
import gymnasium as gym
from stable_baselines3 import PPO
import tracklet
from tracklet.integration.sb3 import TrackletCallback

run = tracklet.init(project="cartpole", sync_tensorboard=True)   # SB3's metrics: its TensorBoard files
model = PPO("MlpPolicy", gym.make("CartPole-v1"), tensorboard_log="runs")
model.learn(25_000, callback=TrackletCallback(model_save_path=f"models/{run.id}", model_save_freq=1000))
run.finish()
```

The original's ``wandb.integration.sb3.WandbCallback`` under Tracklet's name, with the
original's name as an alias. SB3 writes its metrics (``rollout/ep_rew_mean``, ``train/loss``,
...) only to TensorBoard, so they reach the run through ``init(sync_tensorboard=True)`` and
``tensorboard_log=``, as with the original. Importing this module imports stable_baselines3.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any, Literal

from stable_baselines3.common.callbacks import BaseCallback

from tracklet.errors import Error

if TYPE_CHECKING:
    from tracklet.sdk.run import Run

__all__ = ["TrackletCallback", "WandbCallback"]

_LOG_CHOICES = ("gradients", "parameters", "all", None)


class TrackletCallback(BaseCallback):
    """Record an SB3 model's hyperparameters in ``run.config`` and log the model as an artifact.

    Args:
        verbose: SB3's verbosity; above 1 each save is reported.
        model_save_path: a folder; the model is saved there as ``model.zip`` every
            ``model_save_freq`` calls (environment steps of each ``env.step``) and when training
            ends, and each save is logged as a version of the artifact ``model-<run id>``
            (type ``model``). ``None``: the model is neither saved nor logged.
        model_save_freq: how often to save, in callback calls; 0: only at the end.
        gradient_save_freq: log the policy's gradients every that many steps with
            ``run.watch(model.policy, log_freq=..., log=...)``; 0: not at all.
        log: what ``run.watch`` logs: ``"gradients"``, ``"parameters"``, ``"all"`` or ``None``.
    """

    def __init__(self, verbose: int = 0, model_save_path: str | None = None, model_save_freq: int = 0,
                 gradient_save_freq: int = 0,
                 log: Literal["gradients", "parameters", "all"] | None = "all") -> None:
        super().__init__(verbose)
        from tracklet.sdk import lifecycle

        run = lifecycle.current()
        if run is None:
            raise Error("You must call tracklet.init() before TrackletCallback()")
        self._run: Run = run
        self.model_save_freq = model_save_freq
        self.model_save_path = model_save_path
        self.gradient_save_freq = gradient_save_freq
        if log not in _LOG_CHOICES:
            run._printer.warn("`log` must be one of `None`, 'gradients', 'parameters', or 'all', "
                              "falling back to 'all'")
            log = "all"
        self.log = log
        if model_save_path is not None:
            os.makedirs(model_save_path, exist_ok=True)
            self.path = os.path.join(model_save_path, "model.zip")
        elif model_save_freq:
            raise Error("to use the `model_save_freq` you have to set the `model_save_path` parameter")

    def _init_callback(self) -> None:
        config = self._run.config
        values: dict[str, Any] = {"algo": type(self.model).__name__}
        for key, value in vars(self.model).items():
            if key in config:
                continue
            # The original's rule: numbers and strings as they are, anything else as its str().
            values[key] = value if type(value) in (float, int, str) else str(value)
        if self.gradient_save_freq > 0:
            watch = getattr(self._run, "watch", None)
            if watch is None:
                self._run._printer.warn("TrackletCallback: gradient_save_freq needs run.watch, which this "
                                        "version of Tracklet does not have; gradients are not logged")
            else:
                watch(self.model.policy, log_freq=self.gradient_save_freq, log=self.log)
        config.setdefaults(values)

    def _on_step(self) -> bool:
        if self.model_save_freq > 0 and self.model_save_path is not None and self.n_calls % self.model_save_freq == 0:
            self.save_model()
        return True

    def _on_training_end(self) -> None:
        if self.model_save_path is not None:
            self.save_model()

    def save_model(self) -> None:
        """Save the model to ``<model_save_path>/model.zip`` and log it as ``model-<run id>``."""
        from tracklet.artifacts.artifact import Artifact

        self.model.save(self.path)
        artifact = Artifact(f"model-{self._run.id}", type="model")
        # Copied into the artifact now: the next save overwrites the file, maybe before the
        # artifact thread stages it.
        with open(self.path, "rb") as source, artifact.new_file("model.zip", mode="wb") as target:
            shutil.copyfileobj(source, target)
        self._run.log_artifact(artifact)
        if self.verbose > 1:
            self._run._printer.info(f"Saving model checkpoint to {self.path}")


WandbCallback = TrackletCallback

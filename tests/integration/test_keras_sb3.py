"""``tracklet.integration.keras`` and ``tracklet.integration.sb3``: a real Keras fit (torch
backend) and a real SB3 PPO run in user scripts, read back from the server."""

from __future__ import annotations

import json
from pathlib import Path

import tracklet
from tests.conftest import ServerProcess, history_rows, only_run
from tracklet.runlog import RecordType
from tracklet.sdk import local

KERAS = {"KERAS_BACKEND": "torch"}

FIT = """
import json
import numpy as np
import keras
import tracklet
from tracklet.integration.keras import TrackletMetricsLogger, TrackletModelCheckpoint

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(96, 4)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
vx = rng.normal(size=(32, 4)).astype("float32")
vy = {val_labels}

run = tracklet.init(project="keras")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, validation_data=(vx, vy), epochs=3, batch_size=16, verbose=0, callbacks=[
    {logger},
    TrackletModelCheckpoint(filepath="model.keras", monitor="val_loss", save_best_only=True),
])
run.finish()
print(json.dumps({{"id": run.id, "val_loss": history.history["val_loss"]}}))
"""


def fit(run_script, logger: str = "TrackletMetricsLogger()", val_labels: str = "(vx.sum(axis=1) > 0).astype('float32')",
        offline: bool = False) -> dict:  # type: ignore[no-untyped-def,type-arg]
    env = {**KERAS, "TRACKLET_MODE": "offline"} if offline else KERAS
    result = run_script(FIT.format(logger=logger, val_labels=val_labels), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def improving_epochs(values: list[float]) -> list[int]:
    best, epochs = float("inf"), []
    for epoch, value in enumerate(values):
        if value < best:
            best = value
            epochs.append(epoch)
    return epochs


def test_keras_metrics_per_epoch_and_best_checkpoints_as_model_versions(server: ServerProcess, run_script,
                                                                         workdir: Path, tmp_path: Path) -> None:
    report = fit(run_script)
    saved = improving_epochs(report["val_loss"])
    assert saved and saved[0] == 0
    with tracklet.Api() as api:
        run = api.run(f"keras/{report['id']}")
        rows = list(run.scan_history())
        assert [row["epoch/epoch"] for row in rows] == [0, 1, 2]
        assert all(isinstance(row["epoch/loss"], float) for row in rows)
        assert [row["epoch/val_loss"] for row in rows] == report["val_loss"]
        assert {row["epoch/learning_rate"] for row in rows} == {0.05000000074505806}
        assert {"epoch/accuracy", "epoch/val_accuracy"} <= set(rows[0])
        versions = api.artifacts("model", f"keras/run_{report['id']}_model")  # newest first
        assert [v.type for v in versions] == ["model"] * len(saved)
        # `latest` and `best` move to each newer version; the epoch aliases stay.
        assert [sorted(v.aliases) for v in versions[:1]] == [sorted(["latest", "best", f"epoch_{saved[-1]}"])]
        assert [v.aliases for v in reversed(versions[1:])] == [[f"epoch_{epoch}"] for epoch in saved[:-1]]
        assert sorted(v.version for v in run.logged_artifacts()) == sorted(v.version for v in versions)
        latest = Path(api.artifact(f"keras/run_{report['id']}_model:best").file(str(tmp_path / "download")))
        assert latest.name == "model.keras"
        assert latest.read_bytes() == (workdir / "model.keras").read_bytes()  # the last best one Keras wrote


def test_keras_batch_logging_and_a_save_only_when_val_loss_improves(run_script, workdir: Path) -> None:
    # Validation labels the opposite of the rule the model learns: val_loss rises after epoch 0.
    report = fit(run_script, logger="TrackletMetricsLogger(log_freq=2)",
                 val_labels="(vx.sum(axis=1) <= 0).astype('float32')", offline=True)
    assert improving_epochs(report["val_loss"]) == [0]
    run = only_run(workdir)
    rows = history_rows(run.log_path)
    batch_rows = [row for row in rows if "batch/batch_step" in row]
    # 6 batches an epoch, numbered from 0 in each: batches 0, 2 and 4 are logged, counted on.
    assert [row["batch/batch_step"] for row in batch_rows] == list(range(0, 18, 2))
    assert all({"batch/loss", "batch/accuracy", "batch/learning_rate"} <= set(row) for row in batch_rows)
    # As the original, a batch-wise logger also logs each epoch's logs, under epoch/.
    assert [row["epoch/epoch"] for row in rows if "epoch/epoch" in row] == [0, 1, 2]
    records = local.read_records(run.log_path)
    metrics = [r.body for r in records if r.type == RecordType.METRIC]
    assert metrics == [{"name": "batch/batch_step"},
                       {"name": "batch/*", "step_metric": "batch/batch_step", "step_sync": True}]
    artifacts = [r.body for r in records if r.type == RecordType.ARTIFACT]
    assert [(a["name"], a["type"], a["aliases"]) for a in artifacts] == [
        (f"run_{report['id']}_model", "model", ["epoch_0", "best"])]


def test_keras_callbacks_need_a_run_and_keep_the_originals_names(run_script) -> None:
    result = run_script("""
        import json
        import tracklet
        from tracklet.integration import keras as integration

        errors = []
        for make in (lambda: integration.TrackletMetricsLogger(),
                     lambda: integration.TrackletModelCheckpoint("model.keras")):
            try:
                make()
            except tracklet.Error as exc:
                errors.append(str(exc))
        print(json.dumps({"errors": errors,
                          "aliases": [integration.WandbMetricsLogger is integration.TrackletMetricsLogger,
                                      integration.WandbModelCheckpoint is integration.TrackletModelCheckpoint]}))
    """, env=KERAS)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "errors": ["You must call `tracklet.init()` before TrackletMetricsLogger()",
                   "You must call `tracklet.init()` before TrackletModelCheckpoint()"],
        "aliases": [True, True]}


PPO = """
import json
import gymnasium as gym
from stable_baselines3 import PPO
import tracklet
from tracklet.integration.sb3 import TrackletCallback

run = tracklet.init(project="sb3", sync_tensorboard=True, config={"policy_type": "MlpPolicy"})
model = PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=64, batch_size=32, n_epochs=2, seed=0,
            tensorboard_log="runs", verbose=0)
model.learn(total_timesteps=256, callback=TrackletCallback(model_save_path=f"models/{run.id}", model_save_freq=128))
run.finish()
print(json.dumps({"id": run.id}))
"""


def test_sb3_ppo_metrics_from_tensorboard_hyperparameters_and_the_model(server: ServerProcess, run_script,
                                                                         workdir: Path, tmp_path: Path) -> None:
    result = run_script(PPO)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = json.loads(result.stdout.strip().splitlines()[-1])["id"]
    with tracklet.Api() as api:
        run = api.run(f"sb3/{run_id}")
        rows = list(run.scan_history())
        assert [row["_step"] for row in rows] == [64, 128, 192, 256]  # one rollout of 64 steps each
        assert all("rollout/ep_rew_mean" in row and row["global_step"] == row["_step"] for row in rows)
        assert all("train/loss" in row and "train/value_loss" in row for row in rows[1:])  # trained after rollout 1
        config = run.config
        assert config["policy_type"] == "MlpPolicy"  # the user's value is kept
        assert (config["algo"], config["n_steps"], config["batch_size"], config["learning_rate"]) == ("PPO", 64, 32,
                                                                                                     0.0003)
        assert config["gamma"] == 0.99 and config["action_space"] == "Discrete(2)"
        versions = api.artifacts("model", f"sb3/model-{run_id}")
        assert 1 <= len(versions) <= 3  # saved at calls 128 and 256 and at the end; equal files: one version
        assert "latest" in versions[0].aliases
        saved = Path(versions[0].file(str(tmp_path / "download")))
        assert saved.name == "model.zip"
        assert saved.read_bytes() == (workdir / "models" / run_id / "model.zip").read_bytes()  # the one at the end
        assert any(f.name.startswith("tensorboard/") for f in run.files())


def test_sb3_callback_needs_a_run_and_a_path_to_save_to(run_script) -> None:
    result = run_script("""
        import json
        import tracklet
        from tracklet.integration import sb3

        errors = []
        try:
            sb3.TrackletCallback()
        except tracklet.Error as exc:
            errors.append(str(exc))
        with tracklet.init(mode="offline"):
            try:
                sb3.WandbCallback(model_save_freq=10)
            except tracklet.Error as exc:
                errors.append(str(exc))
            sb3.WandbCallback(log="weights")
        print(json.dumps({"errors": errors, "alias": sb3.WandbCallback is sb3.TrackletCallback}))
    """)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "errors": ["You must call tracklet.init() before TrackletCallback()",
                   "to use the `model_save_freq` you have to set the `model_save_path` parameter"],
        "alias": True}
    assert "`log` must be one of `None`, 'gradients', 'parameters', or 'all', falling back to 'all'" in result.stderr

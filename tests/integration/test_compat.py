"""The wandb compatibility mode (``TRACKLET_WANDB=1``, ``tracklet run``): unmodified wandb code and the
framework integrations that import wandb (HF Transformers, Lightning, accelerate, Optuna) run as real
scripts in real subprocesses against a real server; what they recorded is read back with ``tracklet.Api``.

The real wandb is installed in the test environment too: with the mode off it is what ``import wandb`` gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tracklet
from tests.conftest import ServerProcess, history_rows, only_run, state_of

ON = {"TRACKLET_WANDB": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(autouse=True)
def _no_wandb_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("WANDB_"):
            monkeypatch.delenv(key)


DETECT = """
import importlib.util, importlib.metadata, json, sys
BLOCK
out = {"spec": importlib.util.find_spec("wandb") is not None}
try:
    out["version"] = importlib.metadata.version("wandb")
except importlib.metadata.PackageNotFoundError:
    out["version"] = None
try:
    import wandb
    out["shim"] = getattr(wandb, "__tracklet_shim__", False)
    out["file"] = wandb.__file__
except ImportError as exc:
    out["import_error"] = str(exc)
from transformers.integrations import is_wandb_available
out["transformers"] = bool(is_wandb_available())
from accelerate.utils import is_wandb_available
out["accelerate"] = bool(is_wandb_available())
from lightning_utilities.core.imports import RequirementCache
out["lightning"] = bool(RequirementCache("wandb>=0.12.10"))
if out.get("shim"):
    from wandb.sdk.lib import RunDisabled
    from wandb.sdk.lib.config_util import ConfigError
    from wandb.sdk.data_types.base_types.wb_value import WBValue
    from wandb.sdk.data_types.image import Image
    from wandb.sdk.data_types.video import Video
    from wandb.util import json_dumps_safer
    import wandb.wandb_run, wandb.sdk.wandb_run, tracklet
    out["run_before_init"] = wandb.run
    out["version_attr"] = wandb.__version__
    out["same_classes"] = wandb.Image is tracklet.Image and WBValue is tracklet.media.Media
    out["run_classes"] = wandb.wandb_run.Run is wandb.sdk.wandb_run.Run is wandb.Run
print(json.dumps(out))
"""


def detect(run_script, env: dict[str, str], block: str = "") -> dict:  # type: ignore[no-untyped-def]
    result = run_script(DETECT.replace("BLOCK", block), env=env, name="detect.py", timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mode_off_gives_the_real_wandb_or_none(run_script) -> None:  # type: ignore[no-untyped-def]
    out = detect(run_script, {})
    if out["version"] is None:  # no real wandb installed: nothing pretends to be one
        assert "import_error" in out and not (out["spec"] or out["transformers"] or out["accelerate"]
                                              or out["lightning"])
        return
    assert out["shim"] is False and "site-packages" in out["file"] and "tracklet" not in out["file"]
    assert out["version"] != "" and out["transformers"] and out["accelerate"] and out["lightning"]


def test_mode_off_with_wandb_blocked_is_an_import_error(run_script) -> None:  # type: ignore[no-untyped-def]
    out = detect(run_script, {}, block='sys.modules["wandb"] = None')
    assert "import_error" in out and out["spec"] is False and out["transformers"] is False


@pytest.mark.parametrize("value", ["1", "true"])
def test_mode_on_passes_every_availability_check(run_script, value: str) -> None:  # type: ignore[no-untyped-def]
    out = detect(run_script, {**ON, "TRACKLET_WANDB": value})
    assert out["shim"] is True and out["file"].startswith(str(Path(tracklet.__file__).parent / "compat" / "wandb"))
    assert out["spec"] and out["version"] == "0.31.0" and out["version_attr"] == "0.31.0"
    assert out["transformers"] and out["accelerate"] and out["lightning"]
    assert out["run_before_init"] is None and out["same_classes"] and out["run_classes"]


def test_mode_set_to_zero_is_off(run_script) -> None:  # type: ignore[no-untyped-def]
    assert detect(run_script, {"TRACKLET_WANDB": "0"})["shim"] is False


HF_SCRIPT = """
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

class Data(torch.utils.data.Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, 100, (64, 16), generator=g)
        self.labels = torch.randint(0, 2, (64,), generator=g)
    def __len__(self):
        return 64
    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(16, dtype=torch.long), "labels": self.labels[i]}

torch.manual_seed(0)
config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                    max_position_embeddings=32)
model = BertForSequenceClassification(config)
args = TrainingArguments(output_dir="out", report_to=["wandb"], max_steps=20, logging_steps=5, per_device_train_batch_size=8,
                         save_strategy="no", use_cpu=True, run_name="hf-run", disable_tqdm=True)
Trainer(model=model, args=args, train_dataset=Data()).train()
print("num_parameters", model.num_parameters())
"""


@pytest.mark.parametrize("precreated", [False, True], ids=["trainer-creates-the-run", "user-created-run"])
def test_hf_trainer(server: ServerProcess, run_script, precreated: bool) -> None:  # type: ignore[no-untyped-def]
    # The callback reuses a run the script created (wandb.run is not None), else starts one.
    script = ('import wandb\nwandb.init(project="compat-hf", name="hf-run")\n' if precreated else "") + HF_SCRIPT
    result = run_script(script, env={**ON, "WANDB_PROJECT": "compat-hf", "WANDB_LOG_MODEL": "end"}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "compatibility mode (TRACKLET_WANDB=1)" in result.stderr and server.url in result.stderr
    parameters = int(result.stdout.split("num_parameters")[1].split()[0])
    with tracklet.Api() as client:
        runs = list(client.runs("root/compat-hf"))
        assert len(runs) == 1
        run = runs[0]
        assert (run.state, run.name, run.exit_code) == ("finished", "hf-run", 0)  # finished at exit
        assert run.config["max_steps"] == 20 and run.config["hidden_size"] == 32
        assert run.config["model/num_parameters"] == parameters
        rows = [r for r in run.scan_history() if "train/loss" in r]
        assert [r["train/global_step"] for r in rows] == [5, 10, 15, 20]
        assert all(isinstance(r["train/learning_rate"], float) for r in rows)
        assert "train_loss" in run.summary and "train_runtime" in run.summary
        models = [a for a in run.logged_artifacts() if a.type == "model"]
        assert {a.name for a in models} == {"model-hf-run"}  # HF names it after the run name
        aliases = {alias for a in models for alias in a.aliases}
        assert {"base_model", "final_model"} <= aliases
        final = next(a for a in models if "final_model" in a.aliases)
        assert any(name.endswith(".safetensors") for name in final.manifest["entries"])


PL_SCRIPT = """
import numpy as np, torch
import lightning.pytorch as pl
from lightning.pytorch.loggers import WandbLogger

class MLP(pl.LightningModule):
    def __init__(self, hidden=8, lr=0.05):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss)
        return loss
    def validation_step(self, batch, _):
        x, y = batch
        self.log("val/loss", torch.nn.functional.mse_loss(self.net(x), y))
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

torch.manual_seed(0)
x = torch.randn(64, 4); y = x.sum(1, keepdim=True)
data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
logger = WandbLogger(project="compat-pl", name="pl-run", log_model=True)
logger.log_hyperparams({"batch_size": 8})
trainer = pl.Trainer(max_epochs=2, logger=logger, log_every_n_steps=2, accelerator="cpu", enable_progress_bar=False,
                     enable_model_summary=False, limit_val_batches=2)
trainer.fit(MLP(), data, data)
logger.log_image(key="samples", images=[np.zeros((8, 8, 3), np.uint8)], caption=["zeros"])
logger.log_text(key="notes", columns=["a", "b"], data=[[1, "x"], [2, "y"]])
print("RUN_ID", logger.experiment.id, logger.version)
"""


def test_lightning_wandb_logger(server: ServerProcess, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(PL_SCRIPT, env=ON, timeout=300)
    assert result.returncode == 0, result.stderr
    run_id, version = result.stdout.split("RUN_ID")[1].split()[:2]
    assert run_id == version
    with tracklet.Api() as client:
        run = client.run(f"root/compat-pl/{run_id}")
        assert (run.state, run.name, run.exit_code) == ("finished", "pl-run", 0)  # Lightning never calls finish
        assert run.config["hidden"] == 8 and run.config["lr"] == 0.05 and run.config["batch_size"] == 8
        rows = list(run.scan_history())
        train = [r for r in rows if "train/loss" in r]
        assert train and all("trainer/global_step" in r for r in train)
        assert any("val/loss" in r for r in rows) and any("epoch" in r for r in rows)
        image = next(r["samples"] for r in rows if "samples" in r)
        assert image["_type"] in ("image-file", "images")
        table = next(r["notes"] for r in rows if "notes" in r)
        assert table["_type"] == "table-file" and table["nrows"] == 2
        models = [a for a in run.logged_artifacts() if a.type == "model"]
        assert models and models[0].name.startswith(f"model-{run_id}")


ACC_SCRIPT = """
import numpy as np
from accelerate import Accelerator
accelerator = Accelerator(log_with="wandb", cpu=True)
accelerator.init_trackers("compat-acc", config={"lr": 0.1, "epochs": 3},
                          init_kwargs={"wandb": {"name": "acc-run", "tags": ["acc"]}})
for i in range(10):
    accelerator.log({"loss": 1.0 / (i + 1)}, step=i)
tracker = accelerator.get_tracker("wandb")
tracker.log_images({"img": [np.zeros((8, 8, 3), np.uint8)]}, step=10)
tracker.log_table("tbl", columns=["a", "b"], data=[[1, "x"]], step=10)
accelerator.end_training()
"""


def test_accelerate_tracker(server: ServerProcess, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(ACC_SCRIPT, env=ON, timeout=300)
    assert result.returncode == 0, result.stderr
    with tracklet.Api() as client:
        runs = list(client.runs("root/compat-acc"))
        assert len(runs) == 1
        run = runs[0]
        assert (run.state, run.name, run.tags) == ("finished", "acc-run", ["acc"])
        assert run.config["lr"] == 0.1 and run.config["epochs"] == 3
        rows = list(run.scan_history())
        assert [r["_step"] for r in rows if "loss" in r] == list(range(10))
        assert rows[-1]["_step"] == 10 and rows[-1]["tbl"]["_type"] == "table-file" and "img" in rows[-1]
        assert run.summary["loss"] == 0.1


OPTUNA_SCRIPT = """
import optuna
from optuna_integration.wandb import WeightsAndBiasesCallback
optuna.logging.set_verbosity(optuna.logging.WARNING)
callback = WeightsAndBiasesCallback(metric_name="value", wandb_kwargs={"project": "compat-optuna"}, as_multirun=True)
study = optuna.create_study(study_name="quad", sampler=optuna.samplers.RandomSampler(seed=0))
study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2, n_trials=3, callbacks=[callback])
"""


def test_optuna_callback_one_run_per_trial(server: ServerProcess, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(OPTUNA_SCRIPT, env=ON, timeout=300)
    assert result.returncode == 0, result.stderr
    with tracklet.Api() as client:
        runs = sorted(client.runs("root/compat-optuna"), key=lambda r: r.name)
        assert [r.name.split("/")[:2] for r in runs] == [["trial", "0"], ["trial", "1"], ["trial", "2"]]
        for run in runs:
            assert run.state == "finished" and "quad" in run.tags
            assert run.config["direction"] == ["MINIMIZE"] and -5 <= run.config["x"] <= 5
            [row] = list(run.scan_history())  # a fresh run per trial: wandb.run is None when the trial ends
            assert row["_step"] == 0 and row["value"] == pytest.approx((row["x"] - 2) ** 2)


SURFACE_SCRIPT = """
import sys, torch, wandb, tracklet
try:
    wandb.log({"x": 1})
except wandb.Error as exc:
    print("LOG_BEFORE_INIT", exc)
try:
    wandb.config["lr"]
except wandb.Error as exc:
    print("CONFIG_BEFORE_INIT", exc)
wandb.require("service")
wandb.setup()
print("LOGIN", wandb.login(key="a-wandb-key"))
settings = wandb.Settings(start_method="thread", silent=False)
run = wandb.init(config={"lr": 0.1}, settings=settings)
assert isinstance(run, wandb.sdk.wandb_run.Run) and isinstance(run, wandb.wandb_run.Run) and run
assert wandb.run is run and isinstance(run._tracklet_run, tracklet.Run)
wandb.config.setdefaults({"lr": 0.5, "epochs": 2})
wandb.config.batch = 16
wandb.define_metric("train/*", step_metric="epoch")
wandb.log({"a": 1}, commit=False)
wandb.log({"b": 2})
wandb.log({"c": 3}, 5)
wandb.log({"d": 4}, step=5)
import pandas
wandb.log({"frame": pandas.DataFrame({"k": [1, 2], "v": ["a", "b"]})}, commit=False)
wandb.summary["best"] = 0.9
assert dict(wandb.summary)["best"] == 0.9
run._label(code="my_integration")
assert run.get_url() == run.url and run.step == 5
run.name = "renamed"
run.tags = ("x", "y")
model = torch.nn.Linear(3, 1)
wandb.watch(model, log="all", log_freq=1)
model(torch.ones(2, 3)).sum().backward()
wandb.log({"e": 5})
wandb.unwatch(model)
wandb.termwarn("a warning", repeat=False)
wandb.termwarn("a warning", repeat=False)
wandb.termlog("a log line")
wandb.alert(title="Done", text="training finished")
for call in (lambda: wandb.save("model.pt"), lambda: wandb.require("nope"), lambda: wandb.plot,
             lambda: wandb.log_artifact(wandb.Artifact("a", "data"), tags=["t"])):
    try:
        call()
    except (wandb.Error, AttributeError) as exc:
        print("UNSUPPORTED", type(exc).__name__, exc)
for module in ("wandb.integration.keras", "wandb.integration.sb3", "wandb.integration.xgboost"):
    try:
        __import__(module)
        print("IMPORTED", module)
    except ImportError as exc:
        print("IMPORT_ERROR", module, exc)
print("RUN_ID", run.id)
wandb.finish(exit_code=0)
assert wandb.run is None
wandb.teardown()
sys.exit(3)
"""


def test_the_surface_and_what_is_not_supported(run_script, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**ON, "WANDB_MODE": "dryrun", "WANDB_PROJECT": "from-wandb", "TRACKLET_PROJECT": "from-tracklet",
           "WANDB_NAME": "named", "WANDB_NOTES": "some notes", "WANDB_TAGS": "t1,t2", "WANDB_RUN_GROUP": "grp",
           "WANDB_JOB_TYPE": "train", "WANDB_ENTITY": "team", "WANDB_API_KEY": "a-wandb-key"}
    result = run_script(SURFACE_SCRIPT, env=env, timeout=120)
    assert result.returncode == 3, result.stderr
    out, err = result.stdout, result.stderr
    assert "LOG_BEFORE_INIT You must call wandb.init() before wandb.log()" in out
    assert "CONFIG_BEFORE_INIT You must call wandb.init() before wandb.config['lr']" in out
    assert "wandb.Settings(start_method=...) has no Tracklet equivalent and is ignored" in err
    assert "LOGIN False" in out and "W&B credentials are never sent to Tracklet" in err  # no server configured
    assert "compatibility mode (TRACKLET_WANDB=1)" in err and "offline" in err and err.count("compatibility mode (") == 1
    assert err.count("a warning") == 1 and "a log line" in err
    assert "wandb.alert() is not supported by Tracklet (no notification was sent): [INFO] Done: training finished" in err
    assert "UNSUPPORTED Error wandb.save('model.pt') is not supported by Tracklet" in out
    assert "UNSUPPORTED UnsupportedError wandb.require('nope')" in out
    assert "UNSUPPORTED AttributeError module 'wandb' has no attribute 'plot'" in out and "compatibility.md" in out
    assert "UNSUPPORTED Error wandb.Run.log_artifact(tags=...) is not supported" in out
    assert "IMPORT_ERROR wandb.integration.xgboost" in out
    for name in ("keras", "sb3"):  # Tracklet's own module, or an ImportError that names it
        line = next(x for x in out.splitlines() if x.endswith(f"wandb.integration.{name}") or
                    f"wandb.integration.{name}:" in x)
        assert line.startswith("IMPORTED") or f"maps it to tracklet.integration.{name}" in line
    run = only_run(workdir)
    state = state_of(run)
    assert state.project == "from-tracklet"  # TRACKLET_* wins over WANDB_*
    assert (state.entity, state.name, state.notes, state.group, state.job_type) == (
        "team", "renamed", "some notes", "grp", "train")
    assert state.tags == ("x", "y") and state.mode == "offline" and state.exit_code == 0
    assert state.config == {"lr": 0.1, "epochs": 2, "batch": 16}
    rows = history_rows(run.log_path)
    assert rows[0]["a"] == 1 and rows[0]["b"] == 2 and rows[0]["_step"] == 0
    assert rows[1]["c"] == 3 and rows[1]["d"] == 4 and rows[1]["_step"] == 5
    assert rows[1]["frame"]["_type"] == "table-file" and rows[1]["frame"]["nrows"] == 2  # a DataFrame is a Table
    # a log without a step goes to the current step (5), as in wandb; watch's histograms join it
    assert rows[1]["e"] == 5 and any(key.startswith(("gradients/", "parameters/")) for key in rows[1])
    assert state.summary["best"] == 0.9
    assert "a-wandb-key" not in (run.dir / "files").joinpath("config.yaml").read_text()


@pytest.mark.parametrize(("variables", "mode"), [({"WANDB_DISABLED": "true"}, "disabled"),
                                                  ({"WANDB_MODE": "disabled"}, "disabled"),
                                                  ({"WANDB_MODE": "offline", "WANDB_RUN_ID": "abc12345"}, "offline")])
def test_wandb_variables_choose_the_mode(run_script, workdir: Path, variables: dict, mode: str) -> None:  # type: ignore[no-untyped-def]
    result = run_script("import wandb\nrun = wandb.init()\nprint('MODE', run.settings.mode, run.id)\nwandb.finish()\n",
                        env={**ON, **variables}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"MODE {mode}" in result.stdout
    if "WANDB_RUN_ID" in variables:
        assert "MODE offline abc12345" in result.stdout and only_run(workdir).dir.name.endswith("abc12345")


def test_tracklet_run_turns_the_mode_on_and_passes_the_exit_code(workdir: Path) -> None:
    (workdir / "job.py").write_text(
        "import sys, wandb\nprint('SHIM', getattr(wandb, '__tracklet_shim__', False))\n"
        "wandb.init(mode='offline', project='cli').log({'x': 1})\nsys.exit(7)\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "run", "--", sys.executable, "job.py"],
                          cwd=workdir, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 7, proc.stderr
    assert "SHIM True" in proc.stdout
    assert state_of(only_run(workdir)).exit_code == 7  # an uncaught SystemExit(7) finishes the run with it
    missing = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "run", "--", "no-such-command-here"],
                             cwd=workdir, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 127 and "command not found: no-such-command-here" in missing.stderr
    bare = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "run"], cwd=workdir, capture_output=True,
                          text=True, timeout=60)
    assert bare.returncode == 2


def test_enable_wandb_in_a_program(run_script) -> None:  # type: ignore[no-untyped-def]
    code = """
import importlib.metadata, tracklet.compat
tracklet.compat.enable_wandb()
import wandb
assert wandb.__tracklet_shim__ and importlib.metadata.version("wandb") == "0.31.0"
tracklet.compat.disable_wandb()
import sys
import wandb
print("REAL", not getattr(wandb, "__tracklet_shim__", False))
"""
    result = run_script(code, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "REAL True" in result.stdout


def test_lightning_offline_is_wandb_mode_dryrun(run_script, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    # WandbLogger(offline=True) sets WANDB_MODE=dryrun just before it calls wandb.init.
    script = PL_SCRIPT.replace('log_model=True', 'offline=True')
    result = run_script(script, env=ON, timeout=300)
    assert result.returncode == 0, result.stderr
    run = only_run(workdir)
    state = state_of(run)
    assert state.mode == "offline" and state.project == "compat-pl" and state.exit_code == 0
    assert state.config["hidden"] == 8 and any("train/loss" in r for r in history_rows(run.log_path))


def test_optuna_callback_single_run(server: ServerProcess, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(OPTUNA_SCRIPT.replace("as_multirun=True", "as_multirun=False"), env=ON, timeout=300)
    assert result.returncode == 0, result.stderr
    with tracklet.Api() as client:
        [run] = list(client.runs("root/compat-optuna"))
        assert run.state == "finished"
        rows = list(run.scan_history())
        assert [r["_step"] for r in rows] == [0, 1, 2]  # step = trial number
        assert all(r["value"] == pytest.approx((r["x"] - 2) ** 2) for r in rows)


def test_python_dash_m_wandb_explains(workdir: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "wandb", "sync"], cwd=workdir, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "TRACKLET_WANDB": "1"})
    assert proc.returncode == 2 and "no `wandb` command line" in proc.stderr

"""``run.watch``: a real script trains a small torch model; the gradient and parameter histograms are
read back from its run log and, online, with ``tracklet.Api``."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracklet
from tests.conftest import ServerProcess, history_rows, only_run

TRAIN = """
import torch, tracklet
torch.manual_seed(0)

class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 16)
        self.fc2 = torch.nn.Linear(16, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

model = MLP()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4)
y = x.sum(dim=1, keepdim=True)
run = tracklet.init(project="watch", id="watch001", mode={mode!r})
tracklet.watch(model, log={log!r}, log_freq=10)
for step in range(50):
    if step == 30:
        tracklet.unwatch(model)
    loss = torch.nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    run.log({{"loss": loss.item()}})
    optimizer.step()
run.finish()
"""

SIZES = {"fc1.weight": 64, "fc1.bias": 16, "fc2.weight": 16, "fc2.bias": 1}


def histogram_keys(rows: list[dict]) -> dict[int, set[str]]:
    return {row["_step"]: {k for k in row if k.startswith(("gradients/", "parameters/"))} for row in rows}


def check_rows(rows: list[dict], log: str) -> None:
    assert [row["_step"] for row in rows] == list(range(50))
    kinds = {"all": ("gradients", "parameters"), "gradients": ("gradients",), "parameters": ("parameters",)}[log]
    expected = {f"{kind}/{name}" for kind in kinds for name in SIZES}
    keys = histogram_keys(rows)
    for step in range(50):  # every 10th backward (forward) pass, until unwatch at step 30
        assert keys[step] == (expected if step in (9, 19, 29) else set()), step
        assert isinstance(rows[step]["loss"], float)  # the histograms joined the script's own row
    for step in (9, 19, 29):
        for key in expected:
            histogram = rows[step][key]
            assert histogram["_type"] == "histogram"
            assert len(histogram["values"]) == 64 and len(histogram["bins"]) == 65
            assert sum(histogram["values"]) == SIZES[key.split("/", 1)[1]]
            assert histogram["bins"] == sorted(histogram["bins"])


@pytest.mark.parametrize("log", ["all", "parameters", "gradients"])
def test_watch_logs_histograms_every_log_freq_passes_until_unwatch(run_script, workdir: Path, log: str) -> None:
    result = run_script(TRAIN.format(mode="offline", log=log), timeout=120)
    assert result.returncode == 0, result.stderr
    check_rows(history_rows(only_run(workdir).log_path), log)


def test_watch_histograms_are_uploaded(server: ServerProcess, run_script, workdir: Path) -> None:
    result = run_script(TRAIN.format(mode="online", log="all"), timeout=120)
    assert result.returncode == 0, result.stderr
    with tracklet.Api() as client:
        rows = list(client.run("root/watch/watch001").scan_history())
    # the Api flattens nested keys with "." and escapes a literal dot as "\\."
    check_rows([{key.replace("\\.", "."): value for key, value in row.items()} for row in rows], "all")


def test_the_values_of_the_gradient_histogram(workdir: Path) -> None:
    import numpy as np
    import torch

    model = torch.nn.Linear(3, 2, bias=False)
    with tracklet.init(mode="offline", project="watch") as run:
        run.watch(model, log="gradients", log_freq=1)
        (model(torch.ones(1, 3)) * torch.tensor([[1.0, -2.0]])).sum().backward()  # gradient rows: 1 and -2
        run.log({})
    row = history_rows(only_run(workdir).log_path)[0]
    histogram = row["gradients/weight"]
    counts, edges = np.histogram(np.array([1, 1, 1, -2, -2, -2.0]), bins=64)
    assert histogram["values"] == counts.tolist()
    assert np.allclose(histogram["bins"], edges)


def test_bad_arguments_and_log_graph(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    model = torch.nn.Linear(2, 2)
    with tracklet.init(mode="offline", project="watch") as run:
        with pytest.raises(tracklet.UsageError, match="log must be one of"):
            run.watch(model, log="weights")
        with pytest.raises(tracklet.UsageError, match="log_freq"):
            run.watch(model, log_freq=0)
        with pytest.raises(tracklet.UsageError, match="torch.nn.Module"):
            run.watch("model")
        run.watch(model, log_graph=True)
        assert "log_graph=True is not supported" in capsys.readouterr().err
        run.watch(torch.nn.Linear(2, 1), log="gradients", log_freq=1)  # a second model: graph_1 names
        second = run._watcher._handles
        assert len(second) == 2
    assert run._watcher._handles == {}  # finish removed every hook
    with pytest.raises(tracklet.UsageError):
        run.watch(model)


def test_second_model_gets_the_originals_prefix(workdir: Path) -> None:
    import torch

    first, second = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with tracklet.init(mode="offline", project="watch"):
        tracklet.watch([first, second], log="gradients", log_freq=1)
        (first(torch.ones(1, 2)) + second(torch.ones(1, 2))).sum().backward()
        tracklet.log({"x": 1})
    row = history_rows(only_run(workdir).log_path)[0]
    assert {k for k in row if k.startswith("gradients/")} == {
        "gradients/weight", "gradients/bias", "gradients/graph_1weight", "gradients/graph_1bias"}

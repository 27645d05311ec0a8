"""A small hyperparameter sweep that shows what Tracklet records, slowly enough to watch live.

Four runs train at once (one process each), in two groups (the optimizer) with different learning
rates and batch sizes. Each logs train and val metrics, the learning rate, system metrics (every
2 s), console output, and per epoch a sample image and a histogram of its weights. It lasts about
30 s (``--seconds``); online when a server is configured, else in ./tracklet.

    python examples/train_demo.py               # the sweep
    python examples/train_demo.py --seconds 5   # a quick one
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time

import numpy as np

import tracklet

PROJECT = "tracklet-demo"
EPOCHS = 8
STEPS_PER_EPOCH = 25
SWEEP = [
    {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 64},
    {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 128},
    {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 64},
    {"optimizer": "sgd", "learning_rate": 0.03, "batch_size": 128},
]


def train(config: dict, index: int, seconds: float) -> None:
    """One run of the sweep: a made-up model whose curves depend on the config the way real ones do."""
    rng = np.random.default_rng(index)
    config = {**config, "epochs": EPOCHS, "steps_per_epoch": STEPS_PER_EPOCH, "seed": index}
    # How fast and how far it learns: adam faster, a larger batch smoother, a small lr slower.
    speed = (1.6 if config["optimizer"] == "adam" else 1.0) * (config["learning_rate"] / 0.003) ** 0.3
    floor = 0.08 + 0.04 * index
    noise = 0.08 * (64 / config["batch_size"]) ** 0.5
    pause = seconds / (EPOCHS * STEPS_PER_EPOCH)
    name = f"{config['optimizer']}-lr{config['learning_rate']:g}-bs{config['batch_size']}"
    with tracklet.init(project=PROJECT, name=name, group=config["optimizer"], job_type="train", config=config,
                       tags=["demo", "sweep"], settings={"stats_sampling_interval": 2.0}) as run:
        # Val metrics are drawn against the epoch, which gets no chart of its own.
        run.define_metric("epoch", hidden=True)
        run.define_metric("val/loss", step_metric="epoch", summary="min")
        run.define_metric("val/accuracy", step_metric="epoch", summary="max")
        print(f"run {run.name}: {json.dumps(config)}")
        step = 0
        for epoch in range(EPOCHS):
            for _ in range(STEPS_PER_EPOCH):
                progress = step / (EPOCHS * STEPS_PER_EPOCH)
                loss = floor + 2.2 * math.exp(-4 * speed * progress) + noise * abs(rng.normal())
                lr = config["learning_rate"] * 0.5 * (1 + math.cos(math.pi * progress))  # cosine schedule
                run.log({"train/loss": loss, "train/accuracy": 1 - loss / 2.5 + 0.02 * rng.normal(),
                         "train/learning_rate": lr, "train/grad_norm": (1 + 3 * math.exp(-6 * progress)) * rng.gamma(4, 0.25),
                         "epoch": epoch})
                step += 1
                time.sleep(pause)
            done = (epoch + 1) / EPOCHS
            val_loss = floor * 1.2 + 2.2 * math.exp(-4 * speed * done) + 0.03 * rng.normal()
            accuracy = min(0.99, 1 - val_loss / 2.5)
            # Media: a sample that comes into focus as it learns, and the spread of the weights narrowing.
            ring = np.hypot(*np.mgrid[-1:1:64j, -1:1:64j]) < 0.6
            sample = np.clip(ring * accuracy + rng.normal(0, 0.5 * (1 - accuracy), ring.shape), 0, 1)
            run.log({"val/loss": val_loss, "val/accuracy": accuracy, "epoch": epoch,
                     "val/sample": tracklet.Image(sample, caption=f"epoch {epoch}"),
                     "weights": tracklet.Histogram(rng.normal(0, 1 / (1 + speed * done * 3), 5_000))})
            print(f"epoch {epoch}: train/loss {loss:.3f} val/loss {val_loss:.3f} val/accuracy {accuracy:.3f}")
        run.summary["best_epoch"] = epoch
        print(f"finished {run.name} ({run.id}): {run.url or run.dir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each run trains (default 30)")
    parser.add_argument("--runs", type=int, default=len(SWEEP), choices=range(1, len(SWEEP) + 1),
                        help="how many of the sweep's runs (default all 4)")
    parser.add_argument("--index", type=int, help=argparse.SUPPRESS)  # one run of the sweep, in a child process
    args = parser.parse_args()
    if args.index is not None:
        train(SWEEP[args.index], args.index, args.seconds)
        return
    # One process per run, all at once: a run per process, as a sweep agent starts them.
    children = [subprocess.Popen([sys.executable, __file__, "--index", str(i), "--seconds", str(args.seconds)])
                for i in range(args.runs)]
    codes = [child.wait() for child in children]
    if any(codes):
        sys.exit(f"a run of the sweep failed (exit codes {codes})")


if __name__ == "__main__":
    main()

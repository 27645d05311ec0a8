"""A small training loop that shows what Tracklet records (online when a server is configured)."""

import math
import random

import numpy as np

import tracklet

config = {"learning_rate": 0.05, "epochs": 5, "batch_size": 32, "optimizer": "sgd"}

with tracklet.init(project="tracklet-demo", config=config, tags=["demo"]) as run:
    # The web UI draws val/accuracy against the epoch, and gives the epoch no chart of its own.
    run.define_metric("epoch", hidden=True)
    run.define_metric("val/accuracy", step_metric="epoch", summary="max")
    step = 0
    for epoch in range(run.config.epochs):
        for batch in range(100):
            loss = math.exp(-step / 200) + random.random() * 0.05
            run.log({"train/loss": loss, "epoch": epoch})
            step += 1
        accuracy = 1 - math.exp(-(epoch + 1) / 2)
        # Media: a sample that comes into focus as training goes on, and the spread of the weights.
        rng = np.random.default_rng(epoch)
        ring = np.hypot(*np.mgrid[-1:1:64j, -1:1:64j]) < 0.6
        sample = np.clip(ring * accuracy + rng.normal(0, 0.5 * (1 - accuracy), ring.shape), 0, 1)
        run.log({"val/accuracy": accuracy, "epoch": epoch,
                 "val/sample": tracklet.Image(sample, caption=f"epoch {epoch}"),
                 "weights": tracklet.Histogram(rng.normal(0, 1 / (epoch + 1), 10_000))})
    run.summary["best_epoch"] = epoch
    print(f"final loss {loss:.4f}; run {run.name} ({run.id}): {run.url or run.dir}")

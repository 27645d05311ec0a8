#!/usr/bin/env bash
# Create .bench-venv at the repo root with Tracklet (editable) and the trackers it is compared against.
# Idempotent: re-running only installs what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi

# Required: Tracklet itself and the reference wandb release.
"$VENV/bin/python" -m pip install --quiet -e "$ROOT" "wandb==0.31.0" numpy

# Optional: skipped (with a message) if they do not install cleanly.
for pkg in trackio mlflow; do
    "$VENV/bin/python" -m pip install --quiet "$pkg" \
        || echo "setup.sh: could not install $pkg; it will be skipped" >&2
done

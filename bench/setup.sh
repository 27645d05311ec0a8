#!/usr/bin/env bash
# Create .bench-venv at the repo root with Tracklet (editable) and the trackers
# it is compared against. Safe to re-run: pip only installs what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv"

# pip install, quietly; drops the warnings about unreachable local index mirrors.
pip_install() {
    "$VENV/bin/python" -m pip install --quiet "$@" \
        2> >(grep -v "neither a file nor a directory" >&2)
}

if [ ! -x "$VENV/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$VENV"
    pip_install --upgrade pip
fi

# Required: Tracklet itself (with its server, for server_bench.py) and the reference wandb release;
# pillow and av (PyAV) are the image and video encoders that media_bench.py needs.
pip_install -e "$ROOT[server]" "wandb==0.31.0" numpy pillow av

# Optional: skipped by the benchmark if they do not install cleanly.
for pkg in trackio mlflow; do
    pip_install "$pkg" || echo "setup.sh: could not install $pkg; the benchmark will skip it" >&2
done

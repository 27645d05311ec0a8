"""Importers: other trackers' local runs turned into Tracklet run directories, then uploaded.

Each importer writes an ordinary run log (``tracklet.runlog``) with deterministic contents, and
the same uploader as ``tracklet sync`` sends it; the server stores records once by (run, seq), so
importing twice changes nothing. ``wandb_offline``: the original's ``wandb/offline-run-*``
folders (docs/import.md). MLflow and TensorBoard log directories may follow.
"""

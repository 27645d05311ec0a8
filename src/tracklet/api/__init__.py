"""The public query API (``tracklet.Api``) and the HTTP transport it shares with the SDK, agent and CLI."""

from __future__ import annotations

from tracklet.api.client import Api, Project, Run, Runs

__all__ = ["Api", "Project", "Run", "Runs"]

"""The agent: a process per run that streams its run log to the server (and ``tracklet sync``)."""

"""HTTP headers of the contract, beside the bodies of ``tracklet.protocol``."""

from __future__ import annotations

# Sent by clients that follow a file download's redirect (307) to its presigned URL in the bucket,
# sending no Tracklet key there. The web UI does not send it: its CSP lets it fetch from its own origin
# only, so the server streams files to it. Without this header a download is never redirected.
ACCEPT_REDIRECT = "Tracklet-Accept-Redirect"

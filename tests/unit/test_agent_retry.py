"""How long the agent waits before sending again: its own backoff, or what the server asked (bounded)."""

from __future__ import annotations

import email.utils
import time

from tracklet.agent.uploader import MAX_RETRY_AFTER_SECONDS, retry_delay
from tracklet.api.transport import retry_after


def test_without_retry_after_the_wait_is_the_jittered_backoff() -> None:
    waits = [retry_delay(4.0) for _ in range(200)]
    assert all(2.0 <= w <= 4.0 for w in waits) and len(set(waits)) > 1


def test_retry_after_is_waited_at_least_and_at_most_the_bound() -> None:
    assert all(10.0 <= retry_delay(0.5, 10.0) <= 11.0 for _ in range(200))
    assert all(retry_delay(8.0, 1.0) >= 4.0 for _ in range(200))  # a longer own backoff still counts
    assert all(retry_delay(0.5, 86_400.0) <= MAX_RETRY_AFTER_SECONDS * 1.1 for _ in range(200))
    assert all(retry_delay(0.5, 0.0) <= 0.5 for _ in range(200))


def test_retry_after_header_as_seconds_or_an_http_date() -> None:
    assert retry_after("7") == 7.0
    assert retry_after(None) is None and retry_after("") is None and retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after(later) or 0) <= 31
    assert retry_after(email.utils.formatdate(time.time() - 30, usegmt=True)) == 0.0

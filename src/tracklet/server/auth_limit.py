"""Failed authentications per client address: after too many, every key from it waits.

An API key is 256 random bits, so guessing one is hopeless anyway; the limit keeps a
misconfigured client or a scanner from hammering the store with lookups, and makes a
leaked-key probe slow. Only failures count (a wrong or revoked key): a client with a good
key never sees it unless it shares an address with one that fails.

The counts live in this process: each replica limits on its own (``docs/operations.md``).
Memory is bounded: at most ``max_addresses`` addresses, each with at most ``limit``
timestamps; the address that failed longest ago is forgotten first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

FAILURES_PER_WINDOW = 20
WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 10_000


class FailedAuthLimiter:
    """A sliding window of failed authentications per address. Used from the event loop only."""

    def __init__(self, limit: int = FAILURES_PER_WINDOW, window: float = WINDOW_SECONDS,
                 max_addresses: int = MAX_ADDRESSES, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> int | None:
        """Whole seconds until ``address`` may try a key again; None when it may now."""
        failures = self._failures.get(address)
        if failures is None:
            return None
        now = self.clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        if len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[0] + self.window - now))

    def failed(self, address: str) -> None:
        """Count one failed authentication from ``address``."""
        failures = self._failures.get(address)
        if failures is None:
            failures = self._failures[address] = deque(maxlen=self.limit)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(address)
        failures.append(self.clock())

    def __len__(self) -> int:
        return len(self._failures)

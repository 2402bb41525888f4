"""A ``requests.Session`` that retries and never waits forever.

The client sends every request through one ``RetrySession``, so connections
are reused across calls. A request is sent again, after an exponential
backoff, when the server answers 429 or 503 (waiting at least what its
``Retry-After`` asks) or when the connection fails. A request that may have
reached the server (a broken connection after it was sent) is only sent
again when its method is idempotent; a connection that was never made is
always safe to retry.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import email.utils
import random
import time
from typing import Any, Callable, Optional

import requests

RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    ``attempts`` counts every send (1 disables retries). The n-th wait is
    ``backoff * 2**n`` seconds with up to 10% jitter, capped at
    ``max_backoff``; a ``Retry-After`` longer than that is honoured up to
    ``max_retry_after``, beyond which the answer is returned as it is.
    """

    attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int) -> float:
        """The wait before send number ``attempt + 2``."""
        d: float = min(self.max_backoff, self.backoff * 2.0**attempt)
        return d * (1 + random.random() / 10)


def retry_after(resp: requests.Response) -> Optional[float]:
    """The wait a ``Retry-After`` header asks for, in seconds (None without one)."""
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return max(0.0, (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds())


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Whether the request surely did not reach the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(reason).__name__ == "NewConnectionError"


def _replayable(kwargs: Any) -> bool:
    """Whether the body can be sent again (a file or generator cannot)."""
    data = kwargs.get("data")
    return data is None or isinstance(data, (bytes, bytearray, str, dict, list, tuple))


class RetrySession(requests.Session):
    """A session whose requests retry (see the module doc) and always have a
    timeout: ``timeout`` unless the call gives one."""

    def __init__(self, policy: Optional[RetryPolicy] = None, timeout: float = DEFAULT_TIMEOUT,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__()
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        policy = self.policy
        replayable = _replayable(kwargs)
        attempt = 0
        while True:
            last = attempt + 1 >= policy.attempts or not replayable
            try:
                resp = super().request(method, url, *args, **kwargs)
            except requests.ConnectionError as exc:
                if last or not (method.upper() in IDEMPOTENT_METHODS or _never_connected(exc)):
                    raise
                self._sleep(policy.delay(attempt))
                attempt += 1
                continue
            if resp.status_code not in RETRY_STATUSES or last:
                return resp
            wait = policy.delay(attempt)
            asked = retry_after(resp)
            if asked is not None:
                if asked > policy.max_retry_after:
                    return resp
                wait = max(wait, asked)
            resp.close()
            self._sleep(wait)
            attempt += 1

"""Rate limits of API clients, counted in each server process: requests
per minute (`rate_limiter`, the client's Rate Limit) and, lower, refusals
of ID numbers as already registered (`unique_refusals`, see
`check_unique_refusals()`). DCI calls share the request limit."""
import collections
import re
import threading
import time

from trytond import config
from trytond.i18n import gettext

from .handlers import ApiError


class RateLimiter:
    """Requests per client per minute, counted in this process.

    With several workers each counts its own share; the limit is a guard
    against runaway clients, not an exact quota."""

    def __init__(self):
        self.lock = threading.Lock()
        self.windows = {}

    def allow(self, client_id, limit):
        "(allowed, seconds until the window resets)"
        if not limit:
            return True, 0
        now = time.time()
        minute = int(now // 60)
        with self.lock:
            window, count = self.windows.get(client_id, (minute, 0))
            if window != minute:
                window, count = minute, 0
            count += 1
            self.windows[client_id] = (window, count)
        return count <= limit, int(60 - now % 60) + 1


rate_limiter = RateLimiter()


class RefusalLimiter:
    """Refusals of one kind per client over the last `period` seconds,
    counted in this process (a sliding window: no reset at a minute's
    turn to probe around).

    It bounds what a client learns from refusals it may not see the
    reason of: "this ID number is already registered" tells an area-limited
    client that the number exists elsewhere."""

    def __init__(self):
        self.lock = threading.Lock()
        self.refusals = {}

    def _recent(self, client_id, period, now):
        times = self.refusals.get(client_id)
        while times and times[0] <= now - period:
            times.popleft()
        return times

    def record(self, client_id, limit, period):
        if not limit:
            return
        now = time.monotonic()
        with self.lock:
            times = self._recent(client_id, period, now)
            if times is None:
                times = self.refusals[client_id] = collections.deque()
            times.append(now)
            while len(times) > limit:
                times.popleft()
            if len(self.refusals) > 10000:
                # Clients that stopped long ago: forgotten.
                for other in [c for c, t in self.refusals.items()
                        if not t or t[-1] <= now - period]:
                    del self.refusals[other]

    def wait(self, client_id, limit, period):
        "Seconds until the client may be refused again (0: now)."
        if not limit:
            return 0
        now = time.monotonic()
        with self.lock:
            times = self._recent(client_id, period, now)
            if not times or len(times) < limit:
                return 0
            return int(times[0] + period - now) + 1


unique_refusals = RefusalLimiter()


def unique_refusal_limit():
    "(refusals, seconds): at most that many duplicate-ID refusals."
    return (config.getint('spp_api', 'unique_refusal_limit', default=10),
        config.getint('spp_api', 'unique_refusal_period', default=60))


def is_unique_refusal(error):
    """Whether a registry refusal says that an ID number is already held
    (the messages of spp_registry, in the language of the transaction)."""
    message = str(error.message)
    if message == gettext('spp_registry.msg_identifier_duplicate'):
        return True
    named = gettext('spp_registry.msg_identifier_duplicate_named',
        type='\x00', code='\x00')
    pattern = '.*'.join(re.escape(p) for p in named.split('\x00'))
    return re.fullmatch(pattern, message, re.DOTALL) is not None


def check_unique_refusals(client, operation):
    """429 for a call that may be refused for a duplicate ID number when
    the client was refused so too often lately: every such call, so that
    the 429 itself tells nothing about the number sent."""
    if not operation.unique_ids:
        return
    limit, period = unique_refusal_limit()
    wait = unique_refusals.wait(client['id'], limit, period)
    if wait:
        raise ApiError(429, 'rate_limited',
            f"More than {limit} ID numbers refused as already registered "
            f"in {period} seconds; creations are refused for "
            f"{wait} seconds.", {'Retry-After': str(wait)})

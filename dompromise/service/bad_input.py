"""Bad input told apart from bugs: warnings without tracebacks, bounded echoes.

- `BadRequestLog` logs one WARNING line per bad request, without a traceback, at most
  BAD_REQUEST_LOG_LINES_PER_SECOND_MAX a second per method; the next line says how many were left out.
  A client sending garbage in a loop cannot fill the server's log. Bugs still log ERROR with a traceback
  (service/errors.py).
- `echoed` bounds what an error message repeats of a client's value (ECHOED_VALUE_LENGTH_MAX characters):
  a 10 KB value must not become a 30 KB trailer that default clients refuse.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from dompromise import limits

log = logging.getLogger(__name__)
# What a warning line repeats of the answer's message (up to 20 violations, each with its echoed value).
LOGGED_MESSAGE_LENGTH_MAX = 1_000


def echoed(value: str | bytes, length_max: int = limits.ECHOED_VALUE_LENGTH_MAX) -> str:
    """`value` as an error message may repeat it: its repr, cut to `length_max` characters with "…" and the
    full length after a cut."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if len(value) <= length_max:
        return repr(value)
    return f"{value[:length_max]!r}… ({len(value)} characters)"


class BadRequestLog:
    """One WARNING line per bad request, at most `lines_per_second_max` a second per method."""

    def __init__(
        self,
        lines_per_second_max: int = limits.BAD_REQUEST_LOG_LINES_PER_SECOND_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lines_per_second_max = lines_per_second_max
        self._clock = clock
        # method -> [start of its current one-second window, lines logged in it, lines left out since the last]
        self._windows: dict[str, list[float]] = {}

    def warn(self, method: str, status: str, message: str) -> bool:
        """Logs the bad request unless the method is over its rate; True if a line was written."""
        now = self._clock()
        window = self._windows.get(method)
        if window is None:  # methods are the server's (an unknown one never reaches a handler): few keys
            window = self._windows[method] = [now, 0, 0]
        if now - window[0] >= 1.0:
            window[0], window[1] = now, 0
        if window[1] >= self._lines_per_second_max:
            window[2] += 1
            return False
        window[1] += 1
        left_out, window[2] = int(window[2]), 0
        more = f" ({left_out} more bad requests to {method} not logged)" if left_out else ""
        log.warning("bad request to %s: %s: %s%s", method, status, echoed(message, LOGGED_MESSAGE_LENGTH_MAX), more)
        return True


# The one log every servicer and the interceptor share: the rate is per method, per process.
BAD_REQUESTS = BadRequestLog()

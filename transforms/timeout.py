"""A bound on the time one notice may hold a parse worker, that holds wherever parsing runs: in the
flow's threads (Prefect's ThreadPoolTaskRunner), a process pool or Dask workers.

Python cannot interrupt another thread (signal.alarm reaches only the main thread), so the bound is
cooperative: `parse_document` runs under `time_limit(seconds)`, a deadline kept in a context
variable for the thread it runs in, and the reader's and parser's loops call `check()` (per line,
node, item, element, row, page), which raises ParseTimeout once the deadline is past. The batch step
(transforms/batch.py) quarantines it like a notice without items (a subclass of NoItemsFound), with its
message as the reason, and goes on with the next file.

The clock is the thread's own CPU time (time.thread_time), not the wall clock: parse workers that share
the cores (threads taking turns under the GIL, processes on a busy machine) do not push a notice over
its limit by waiting, so the same file is read or refused whatever else runs, and a quarantined file
stays quarantined for its content, not for the load the machine had. A worker is held for at most the
limit times the workers sharing a core, plus the longest stretch between two checks: one call into a
library that does not come back to the parser's loops (lxml building the tree of a 5 MB page: about
2 s; the file size limit bounds it).
"""

from __future__ import annotations

import contextlib
import threading
import time
from contextvars import ContextVar
from typing import Iterator

from transforms.text import NoItemsFound

DEFAULT_SECONDS = 30.0  # CPU seconds for one notice; a 5 MB notice of 34,000 items takes about 7

# (thread, CPU-time deadline, the limit in seconds); the thread, because the clock is that thread's
_DEADLINE: ContextVar[tuple[int, float, float] | None] = ContextVar("fengong_parse_timeout", default=None)


class ParseTimeout(NoItemsFound):
    """Parsing one notice took longer than its limit; the message says what to do."""

    def __init__(self, seconds: float):
        super().__init__(seconds)  # args = (seconds,): the exception pickles back from a worker process
        self.seconds = seconds

    def __str__(self) -> str:
        return (f"took longer than {self.seconds:g} s of CPU time to parse, the limit for one notice (a 5 MB notice "
                "takes about 7 s): it holds more than one notice, or is made to be slow; split it into one file "
                "per notice (or save the notice's own text as .txt) and put that in raw/")


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """`check()` raises ParseTimeout once this thread has used `seconds` of CPU time inside the block.
    None or a value <= 0: no limit. Inside another limit, the sooner deadline holds."""
    current = _DEADLINE.get()
    me = threading.get_ident()
    at = time.thread_time() + seconds if seconds and seconds > 0 else None
    if at is None or (current is not None and current[0] == me and current[1] <= at):
        yield
        return
    token = _DEADLINE.set((me, at, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check() -> None:
    """Raise ParseTimeout if this thread is past its deadline (about 0.5 µs: call it per line or item)."""
    d = _DEADLINE.get()
    if d is not None and time.thread_time() > d[1] and d[0] == threading.get_ident():
        raise ParseTimeout(d[2])

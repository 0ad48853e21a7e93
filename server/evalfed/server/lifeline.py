"""Acting when another process ends: a node's checking workers end with their node, and a
node started by a test, the demo or the benchmark ends with the process that started it."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable

WATCH_S = 1.0
"""Where the OS cannot signal a process's end (no pidfd), how often to look."""


def when_ended(pid: int, then: Callable[[], None]) -> None:
    """Calls `then`, in a daemon thread, as soon as process `pid` has ended."""

    def watch() -> None:
        try:
            ended = os.pidfd_open(pid)
        except ProcessLookupError:
            then()  # it is already gone
            return
        except (AttributeError, OSError):
            ended = -1  # no pidfd here: look now and then
        try:
            if ended >= 0:
                select.select([ended], [], [])  # readable once the process has exited
            else:
                while True:
                    os.kill(pid, 0)
                    time.sleep(WATCH_S)
        except OSError:
            pass  # it is gone
        then()

    threading.Thread(target=watch, name=f"end with {pid}", daemon=True).start()

"""Server state: active requests, idle exit, shutdown."""

from . import chconfig
from .chconfig import *  # noqa: F401,F403 (one namespace, as in the single script)
from .errors import *  # noqa: F401,F403
from .sqltext import *  # noqa: F401,F403
from .policy import *  # noqa: F401,F403
from .formats import *  # noqa: F401,F403
from .bodies import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403


# Server state: active requests, idle exit, shutdown


class State:
    def __init__(self):
        self.cond = threading.Condition()
        self.active = 0
        self.last = time.monotonic()
        self.stopping = False
        self.stop_event = threading.Event()
        self.stop_reason = None

    def begin(self):
        with self.cond:
            if self.stopping:
                return False
            self.active += 1
            self.last = time.monotonic()
            return True

    def end(self):
        with self.cond:
            self.active -= 1
            self.last = time.monotonic()
            self.cond.notify_all()

    def request_stop(self, reason):
        if self.stop_reason is None:
            self.stop_reason = reason
        self.stop_event.set()

    def idle_for(self):
        with self.cond:
            return 0.0 if self.active else time.monotonic() - self.last

    def quiesce(self, timeout):
        """Refuse new requests and wait for the running ones to finish."""
        deadline = time.monotonic() + timeout
        with self.cond:
            self.stopping = True
            while self.active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

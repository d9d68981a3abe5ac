"""Worker processes that die with their parent.

A process pool's workers block reading their job queue, whose write end they hold
themselves: when the parent is killed (SIGKILL, the out-of-memory killer) they never see
end-of-file and live on as orphans, each with its models loaded. On Linux the kernel can
signal a process when its parent dies (prctl PR_SET_PDEATHSIG); `die_with_parent` asks for
that in the worker's initializer, then checks the parent did not die before it could.

Note: the kernel sends the signal when the *thread* that started the child ends. The pools
here start their workers from the event loop's thread, which lives as long as the process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int, signum: int = signal.SIGKILL) -> bool:
    """Have `signum` sent to this process when its parent dies (Linux; elsewhere nothing),
    and exit now if the parent, `parent_pid`, is already gone. True when the kernel took it."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
        except (OSError, AttributeError):  # no libc prctl: rely on the check below alone
            armed = False
    if os.getppid() != parent_pid:  # died before the request took effect: we were re-parented
        os._exit(1)
    return armed

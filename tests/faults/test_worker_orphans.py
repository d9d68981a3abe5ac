"""Worker processes die with the bot: after a SIGKILL of the parent, neither the face workers
nor multiprocessing's resource tracker live on as orphans."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) from /proc, None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[1]), fields[19]


def _children(parent: int) -> dict[int, str]:
    """pid -> start time of every direct child of `parent`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == parent:
            found[int(entry.name)] = stat[2]
    return found


def _alive(pid: int, started: str) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[2] == started and stat[0] not in ("Z", "X")  # a zombie is dead


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def test_face_workers_and_the_resource_tracker_die_with_a_killed_parent():
    parent = subprocess.Popen(
        [sys.executable, "-m", "tests.faults._orphan_parent", "2"],
        cwd=REPO_ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    children: dict[int, str] = {}
    try:
        ready, _, _ = select.select([parent.stdout], [], [], 60)
        assert ready, "the pool never started"
        assert parent.stdout.readline().strip() == str(parent.pid).encode()
        children = _children(parent.pid)
        # Two workers and the resource tracker, each having run a job (or started).
        assert len(children) == 3, children
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid, t) for pid, t in children.items()):
            time.sleep(0.05)
        survivors = [pid for pid, started in children.items() if _alive(pid, started)]
        assert survivors == [], f"orphans left behind: {survivors}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        for pid, started in children.items():  # never leave an orphan behind, even on failure
            if _alive(pid, started):
                os.kill(pid, signal.SIGKILL)


def test_a_worker_whose_parent_is_already_gone_exits_at_once():
    check = (
        "import ctypes, os, sys\n"
        "from kernel.parent_death import die_with_parent\n"
        "assert die_with_parent(os.getppid())\n"
        "value = ctypes.c_int()\n"
        "ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG\n"
        "print(value.value, flush=True)\n"
        "die_with_parent(int(sys.argv[1]))\n"
        "print('still here')\n"
    )
    # The "parent" named is not ours (as after a re-parenting): the second call exits.
    result = subprocess.run(
        [sys.executable, "-c", check, "-1"], cwd=REPO_ROOT, env=_env(), capture_output=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stdout.decode().split() == [str(int(signal.SIGKILL))]

"""The local executor on real processes: exit codes, environment, cancel, re-attach by handle or pid file."""

from __future__ import annotations

import time
from pathlib import Path

from aidc.executors.base import LaunchRequest
from aidc.executors.local import LocalExecutor


def _wait_event(ex: LocalExecutor, timeout_s: float = 10.0):  # noqa: ANN202
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        events = ex.poll()
        if events:
            return events
        time.sleep(0.02)
    raise AssertionError("no event")


def _req(tmp: Path, command: str, job_id: int = 1, **kw) -> LaunchRequest:  # noqa: ANN003
    return LaunchRequest(job_id=job_id, name="t", command=command, workdir=tmp / f"job{job_id}",
                         placement=(("n1", (2, 3)),), **kw)


def test_exit_code_and_environment(tmp_path: Path) -> None:
    ex = LocalExecutor()
    handle = ex.launch(_req(tmp_path, "echo $CUDA_VISIBLE_DEVICES $AIDC_NODES; exit 7"))
    [event] = _wait_event(ex)
    assert (event.kind, event.exit_code) == ("failed", 7)
    assert Path(handle["log"]).read_text() == "2,3 n1\n"


def test_reattach_from_a_new_executor_sees_the_end(tmp_path: Path) -> None:
    first = LocalExecutor()
    handle = first.launch(_req(tmp_path, "sleep 0.5"))
    second = LocalExecutor()  # a restarted server
    assert second.reattach(1, handle)
    [event] = _wait_event(second)
    assert event.kind == "succeeded"


def test_reattach_by_pid_file_when_the_handle_was_never_saved(tmp_path: Path) -> None:
    first = LocalExecutor()
    handle = first.launch(_req(tmp_path, "sleep 0.5"))
    time.sleep(0.1)  # the wrapper writes its pid first thing
    second = LocalExecutor()
    assert second.reattach(1, {"workdir": handle["workdir"]})
    assert _wait_event(second)[0].kind == "succeeded"


def test_a_recycled_pid_is_not_mistaken_for_the_job(tmp_path: Path) -> None:
    ex = LocalExecutor()
    handle = ex.launch(_req(tmp_path, "sleep 5"))
    fake = {**handle, "start_ticks": handle["start_ticks"] + 1}
    assert not LocalExecutor().reattach(1, {**fake, "workdir": str(tmp_path / "elsewhere")})
    ex.cancel(1, handle, grace_s=0.0)
    ex.stopping()


def _gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split()[2] == "Z"


def test_cancel_is_idempotent_and_kills_the_group(tmp_path: Path) -> None:
    ex = LocalExecutor()
    handle = ex.launch(_req(tmp_path, "sleep 30 & sleep 30; wait"))
    time.sleep(0.1)
    t0 = time.monotonic()
    ex.cancel(1, handle, grace_s=1.0)
    ex.cancel(1, handle, grace_s=1.0)
    assert time.monotonic() - t0 < 0.5  # cancel never waits for the job
    deadline = time.time() + 10
    while ex.stopping() and time.time() < deadline:
        time.sleep(0.02)
    assert _gone(handle["pid"])
    assert ex.poll() == []


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    ex = LocalExecutor()
    handle = ex.launch(_req(tmp_path, "trap '' TERM; sleep 30"))
    time.sleep(0.2)
    ex.cancel(1, handle, grace_s=0.5)
    time.sleep(0.2)
    assert ex.stopping() == 1  # its `sleep` ignores SIGTERM: still in the grace period
    deadline = time.time() + 10
    while ex.stopping() and time.time() < deadline:
        time.sleep(0.05)
    assert ex.stopping() == 0 and _gone(handle["pid"])

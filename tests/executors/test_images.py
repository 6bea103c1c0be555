"""Jobs in a directory root filesystem (`image: dir:/path`) through bubblewrap: the image's files, the same
identity, volumes and limits, and the same escapes closed (the host's runtime and data stay out of sight)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aidc.executors.base import LaunchRequest, VolumeMount
from aidc.executors.local import LocalExecutor
from aidc.executors.sandbox import SandboxError
from tests.executors.rootfs import build_rootfs

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None or os.geteuid() != 0,
                                reason="needs bubblewrap, run as root (the uid drop)")


@pytest.fixture(scope="module")
def world() -> Iterator[Path]:
    top = Path(tempfile.mkdtemp(prefix="aidc-image-"))
    top.chmod(0o755)
    build_rootfs(top / "image", marker="inside-the-image")
    (top / "data").mkdir()
    (top / "data" / "admin.token").write_text("aidc_secret-of-the-server\n")
    (top / "vol").mkdir(mode=0o777)
    (top / "vol").chmod(0o777)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def _run(world: Path, command: str, job_id: int, **kw) -> tuple[str, str, int | None]:  # noqa: ANN003
    ex = LocalExecutor(sandbox={"hidden_paths": [str(world / "data")]})
    request = LaunchRequest(job_id=job_id, name="img", command=command, workdir=world / "data" / "jobs" / str(job_id),
                            placement=(("n1", ()),), tenant="team-x", tenant_id=7, image=f"dir:{world / 'image'}",
                            volumes=(VolumeMount("vol", str(world / "vol"), "/vol", read_only=False),), **kw)
    handle = ex.launch(request)
    deadline = time.time() + 30
    while time.time() < deadline:
        for ev in ex.poll():
            return ev.kind, Path(handle["log"]).read_text(), ev.exit_code
        time.sleep(0.05)
    raise AssertionError("the image job did not end")


def test_the_job_runs_the_image_as_its_tenant_with_its_volume(world: Path) -> None:
    kind, log, _ = _run(world, "id -u; grep MARKER /etc/os-release; echo hi > /vol/out; ls /usr/bin | wc -l", 1)
    assert kind == "succeeded", log
    lines = log.split()
    assert lines[0] == str(200_000 + 1 + 7) and 'MARKER="inside-the-image"' in log
    assert (world / "vol" / "out").read_text() == "hi\n" and (world / "vol" / "out").stat().st_uid == 200_008


ESCAPES = [
    "ls /usr/bin/python3",  # the host's runtime is not in the image
    "cat {data}/admin.token",  # the launcher's data dir
    "ls {data}/jobs | grep -vx $AIDC_JOB_ID",  # other jobs' folders (its own is the mount point of its work dir)
    "cat /proc/1/environ",  # bwrap's init, as root
    "/.aidc/ld.so --library-path /.aidc/lib /.aidc/setpriv --reuid=0 --regid=0 --clear-groups id -u",  # host setpriv
    "echo x > /.aidc/setpriv",  # the host helpers are read-only
    "echo x > /usr/bin/pwned",  # the image is read-only
    "ls /sys/fs/cgroup",  # no /sys
]


@pytest.mark.parametrize("attempt", ESCAPES)
def test_escapes_from_an_image_fail(world: Path, attempt: str) -> None:
    command = attempt.format(data=world / "data") + " && echo ESCAPE"
    kind, log, _ = _run(world, command, 10 + ESCAPES.index(attempt))
    assert "ESCAPE" not in log and "aidc_secret" not in log, log
    assert not (world / "image" / "usr" / "bin" / "pwned").exists()


def test_the_memory_limit_holds_in_an_image(world: Path) -> None:
    kind, log, code = _run(world, 'x=$(head -c 400000000 /dev/zero | tr "\\0" a); echo ESCAPE ${#x}', 2, memory_gib=0.25)
    assert kind == "failed" and "ESCAPE" not in log, log


def test_an_image_that_is_not_a_directory_root_fs_is_refused_clearly(world: Path) -> None:
    ex = LocalExecutor()
    for image, says in (("docker.io/library/debian:12", "only directory root filesystems"),
                        (f"dir:{world / 'nope'}", "is not a directory"), ("dir:relative/x", "absolute plain path"),
                        (f"dir:{world / 'vol'}", "no shell in it")):
        request = LaunchRequest(job_id=3, name="bad", command="id", workdir=world / "data" / "jobs" / "3",
                                placement=(("n1", ()),), image=image)
        with pytest.raises(SandboxError, match=says):
            ex.launch(request)

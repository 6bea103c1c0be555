"""The sandbox's pieces on this host: the prlimit fallback, the environment allow-list, volume sources,
and the refusals a launcher gets when it cannot isolate as asked."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from aidc.executors.base import LaunchRequest, VolumeMount
from aidc.executors.local import LocalExecutor
from aidc.executors.sandbox import Sandbox, SandboxConfig, SandboxError
from aidc.executors.sandbox.environment import job_environment
from aidc.executors.sandbox.mounts import MountError, volume_source

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None or os.geteuid() != 0, reason="needs bubblewrap as root")


def _run(ex: LocalExecutor, tmp: Path, command: str, job_id: int = 1, **kw) -> tuple[str, str]:  # noqa: ANN003
    handle = ex.launch(LaunchRequest(job_id=job_id, name="t", command=command, workdir=tmp / str(job_id),
                                     placement=(("n", ()),), tenant="t", tenant_id=3, **kw))
    deadline = time.time() + 30
    while time.time() < deadline:
        for ev in ex.poll():
            return ev.kind, Path(handle["log"]).read_text()
        time.sleep(0.05)
    raise AssertionError("job did not end")


@needs_bwrap
def test_without_a_cgroup_prlimit_caps_the_processes_and_says_so(tmp_path: Path) -> None:
    ex = LocalExecutor(sandbox={"use_cgroups": False, "max_processes": 30})
    assert "prlimit (no writable cgroup here" in ex.describe_isolation()
    code = ("import os, time\nn = 0\ntry:\n    while n < 500:\n        if os.fork() == 0:\n            time.sleep(5)\n"
            "            os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint('forked', n)")
    kind, log = _run(ex, tmp_path, f"python3 -c \"{code}\"")
    assert kind == "succeeded" and 0 < int(log.split()[-1]) < 30, log


def test_the_environment_is_an_allow_list() -> None:
    launcher = {"AIDC_DATABASE_URL": "postgresql://u:pw@h/db", "AIDC_TOKEN": "aidc_x", "LANG": "C.UTF-8",
                "OMP_NUM_THREADS": "1", "PATH": "/root/bin"}
    env = job_environment(launcher=launcher, job_env={"HOME": "/root", "AIDC_JOB_TOKEN": "forged", "MY_VAR": "1",
                                                      "BAD-NAME": "x", "NUL": "a\0b"},
                          fixed={"HOME": "/work", "PATH": "/usr/bin"})
    assert env == {"LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "MY_VAR": "1", "HOME": "/work", "PATH": "/usr/bin"}


def test_a_volume_sub_path_never_follows_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "vol" / "real").mkdir(parents=True)
    (tmp_path / "vol" / "file").write_text("x")
    (tmp_path / "outside").mkdir()
    (tmp_path / "vol" / "link").symlink_to(tmp_path / "outside")
    (tmp_path / "vol" / "real" / "inner-link").symlink_to(tmp_path / "outside")
    vol = lambda sub: VolumeMount("v", str(tmp_path / "vol"), "/v", True, sub)  # noqa: E731
    assert volume_source(vol("real")) == (tmp_path / "vol" / "real").resolve()
    for sub, says in (("link", "symlink"), ("real/inner-link", "symlink"), ("missing", "does not exist"),
                      ("file", "not a directory")):
        with pytest.raises(MountError, match=says):
            volume_source(vol(sub))
    with pytest.raises(MountError, match="not a directory on this node"):
        volume_source(VolumeMount("v", str(tmp_path / "nope"), "/v"))


def test_refusals_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="expected 'bwrap'"):
        SandboxConfig(mode="docker")
    off = LocalExecutor(sandbox={"mode": "off"})
    with pytest.raises(SandboxError, match="requires isolated jobs"):
        off.launch(LaunchRequest(job_id=1, name="t", command="id", workdir=tmp_path / "1", placement=(),
                                 tenant="t", isolation="required"))
    missing = Sandbox(SandboxConfig())
    missing.bwrap = None  # as on a host without the package
    assert "install the Debian package 'bubblewrap'" in missing.describe()
    with pytest.raises(SandboxError, match="bubblewrap"):
        missing.wrap(LaunchRequest(job_id=1, name="t", command="id", workdir=tmp_path, placement=()),
                     work=tmp_path / "w", cgroup_name="x")


@needs_bwrap
def test_a_job_cannot_set_what_the_sandbox_fixes(tmp_path: Path) -> None:
    ex = LocalExecutor()
    kind, log = _run(ex, tmp_path, 'echo "$HOME $AIDC_JOB_TOKEN $USER"', env={"HOME": "/root", "AIDC_JOB_TOKEN": "x",
                                                                           "USER": "root"}, job_token="aidcjob_1_real")
    assert kind == "succeeded" and log.split() == [str(tmp_path / "1" / "work"), "aidcjob_1_real", "aidc-t"]

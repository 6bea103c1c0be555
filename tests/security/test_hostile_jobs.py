"""The hostile-job corpus, each attempt a real job a member submits through the API, on the embedded default
(local executor) and through a node agent: every attempt must fail, be recorded, and harm nothing."""

from __future__ import annotations

import json
import os
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.cluster import AgentCluster
from tests.executors.rootfs import build_rootfs
from tests.security.corpus import Attempt, Outcome, World, attempts
from tests.server.live import Server

pytestmark = pytest.mark.slow
ATTEMPTS = attempts()
TERMINAL = {"succeeded", "failed", "cancelled"}


def fake_gpus(dev: Path) -> bool:
    """/dev/nvidia0..3 and nvidiactl as real character devices (major 195, no driver behind them)."""
    dev.mkdir()
    try:
        for minor, name in [(0, "nvidia0"), (1, "nvidia1"), (2, "nvidia2"), (3, "nvidia3"), (255, "nvidiactl")]:
            os.mknod(dev / name, 0o666 | stat.S_IFCHR, os.makedev(195, minor))
    except PermissionError:
        return False
    return True


def host_pid_of(marker: bytes, timeout_s: float = 30.0) -> int:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and (proc / "cmdline").read_bytes().rstrip(b"\0") == marker:
                    return int(proc.name)
            except OSError:
                continue
        time.sleep(0.1)
    raise AssertionError(f"no process {marker!r}")


class Scene:
    """Tenants team-x (the attacker's) and team-y (the victim's), their volumes, users and a running victim job."""

    def __init__(self, tmp: Path, url: str, admin: str) -> None:
        self.tmp, self.url, self.admin_token = tmp, url, admin
        self.admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30)
        self.y_secret = "y-secret-" + secrets.token_hex(8)
        self.victim_secret = "victim-says-" + secrets.token_hex(8)

    def build(self) -> None:
        x_data, x_scratch, y_ckpt = self.tmp / "x-data", self.tmp / "x-scratch", self.tmp / "y-ckpt"
        for d, mode in ((x_data, 0o755), (x_scratch, 0o777), (y_ckpt, 0o777)):
            d.mkdir()
            d.chmod(mode)
        (x_data / "hello").write_text("x data\n")
        (y_ckpt / "secret").write_text(self.y_secret + "\n")
        (y_ckpt / "secret").chmod(0o644)  # readable by anyone who can reach it: only the sandbox keeps team-x out
        (x_scratch / "link").symlink_to(y_ckpt)  # as if planted by an earlier job of team-x
        build_rootfs(self.tmp / "image")  # a directory root filesystem for `image: dir:...`
        for name, vols in (("team-x", [{"name": "data-x", "host_path": str(x_data), "access": "ro"},
                                       {"name": "scratch-x", "host_path": str(x_scratch), "access": "rw"}]),
                           ("team-y", [{"name": "ckpt-y", "host_path": str(y_ckpt), "access": "rw"}])):
            r = self.admin.post("/api/v1/tenants", json={"name": name, "sandbox": {"volumes": vols}})
            assert r.status_code == 201, r.text
        self.member = httpx.Client(base_url=self.url, timeout=30,
                                   headers={"Authorization": f"Bearer {self.token_for('mallory', 'team-x')}"})
        victim = {"name": "victim", "gpus": 0, "command": f"echo {self.victim_secret}; exec sleep 6071"}
        r = self.admin.post("/api/v1/jobs", json={"spec": victim, "tenant": "team-y"})
        assert r.status_code == 201, r.text
        self.victim_id = r.json()["id"]
        self.victim_pid = host_pid_of(b"sleep\x006071")

    def token_for(self, user: str, tenant: str) -> str:
        assert self.admin.post("/api/v1/users", json={"name": user, "role": "member", "tenant": tenant}).status_code == 201
        return self.admin.post("/api/v1/tokens", json={"user": user, "ttl_days": 1}).json()["token"]

    def world(self, kind: str, *, data_dir: Path, server_pid: int, agent_dir: Path | None, agent_pid: int | None,
              canary: str, gpus: bool) -> World:
        victim_dirs = [data_dir / "jobs" / str(self.victim_id) / "attempt-1"]
        if agent_dir is not None:
            victim_dirs.append(agent_dir / "jobs" / str(self.victim_id) / "attempt-1-rank0")
        return World(kind=kind, url=self.url, tmp=self.tmp, data_dir=data_dir, db_path=data_dir / "aidc.db",
                     server_pid=server_pid, agent_dir=agent_dir, agent_pid=agent_pid, x_data=self.tmp / "x-data",
                     x_scratch=self.tmp / "x-scratch", y_ckpt=self.tmp / "y-ckpt", y_secret=self.y_secret,
                     canary=canary, admin_token=self.admin_token, victim_id=self.victim_id, victim_pid=self.victim_pid,
                     victim_secret=self.victim_secret, victim_dirs=victim_dirs, gpu_devices=gpus)

    def run(self, world: World, settle_s: float) -> dict[str, Outcome]:
        """Submit every attempt as mallory, wait until each ended, read its log."""
        out: dict[str, Outcome] = {}
        for a in ATTEMPTS:
            r = self.member.post("/api/v1/jobs", json={"spec": a.spec_for(world)})
            out[a.name] = Outcome(r.status_code, r.json())
        ids = {name: o.body["id"] for name, o in out.items() if o.status_code == 201}
        deadline = time.time() + 240
        while ids and time.time() < deadline:
            jobs = {name: self.admin.get(f"/api/v1/jobs/{i}").json() for name, i in ids.items()}
            if all(j["status"] in TERMINAL for j in jobs.values()):
                break
            time.sleep(0.5)
        time.sleep(settle_s)  # node agents ship the last lines of a log with the next heartbeat
        for name, i in ids.items():
            out[name].job = self.admin.get(f"/api/v1/jobs/{i}").json()
            out[name].log = self.admin.get(f"/api/v1/jobs/{i}/logs").text
        return out


@pytest.fixture(scope="module", params=["local", "agents"])
def scene(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict]]:
    tmp = tmp_path_factory.mktemp(request.param)
    canary = "canary-" + secrets.token_hex(8)
    gpus = fake_gpus(tmp / "dev")
    env = {"AIDC_CANARY_SECRET": canary, "AIDC_SANDBOX_MAX_PROCESSES": "64", "AIDC_SANDBOX_DEVICE_DIR": str(tmp / "dev"),
           "AIDC_SANDBOX": "bwrap"}  # never off here: the corpus is hostile code and the tests run as root
    if request.param == "local":
        server = Server(tmp, AIDC_EXECUTOR_OPTIONS=json.dumps({"sandbox": {"device_dir": str(tmp / "dev")}}), **env)
        server.start()
        try:
            s = Scene(tmp, f"http://127.0.0.1:{server.port}", server.token())
            s.build()
            assert server.proc is not None
            world = s.world("local", data_dir=tmp / "data", server_pid=server.proc.pid, agent_dir=None, agent_pid=None,
                            canary=canary, gpus=gpus)
            outcomes = s.run(world, settle_s=0.5)
            yield world, {"outcomes": outcomes, "alive": _alive(world, s)}
        finally:
            server.stop()
        return
    cluster = AgentCluster(tmp, nodes=1)
    cluster.server.env.update(env)
    cluster.start()
    try:
        s = Scene(tmp, f"http://127.0.0.1:{cluster.server.port}", cluster.server.token())
        s.build()
        assert cluster.server.proc is not None
        world = s.world("agents", data_dir=tmp / "data", server_pid=cluster.server.proc.pid,
                        agent_dir=cluster.work_dir("n1"), agent_pid=cluster.agents["n1"].pid, canary=canary, gpus=gpus)
        outcomes = s.run(world, settle_s=2.0)
        yield world, {"outcomes": outcomes, "alive": _alive(world, s)}
    finally:
        cluster.stop()


def _alive(world: World, scene: Scene) -> dict[str, bool]:
    """After the corpus: the server answers, the victim job still runs (same process), the agent lives."""
    victim = scene.admin.get(f"/api/v1/jobs/{world.victim_id}").json()
    return {"server": httpx.get(f"{world.url}/healthz", timeout=5).status_code == 200,
            "victim": victim["status"] == "running" and Path(f"/proc/{world.victim_pid}").exists(),
            "agent": world.agent_pid is None or Path(f"/proc/{world.agent_pid}").exists()}


def verdict(attempt: Attempt, world: World, out: Outcome) -> str | None:
    """Why the attempt counts as an escape (None: contained and recorded)."""
    if attempt.refused_at_submit:
        if out.status_code < 400 or out.status_code >= 500:
            return f"submit accepted it ({out.status_code}); it should be refused"
    else:
        if out.status_code != 201:
            return f"submit refused a job that should run and be contained: {out.status_code} {out.body}"
        if out.job is None or out.job["status"] not in TERMINAL:
            return f"the job did not end: {out.job}"
        if not (out.log.strip() or out.job.get("reason")):
            return "nothing recorded: empty log and no reason"
        if "ESCAPE" in out.log:
            return "the job printed ESCAPE:\n" + out.log[-2000:]
        leaked = [s for s in world.secrets if s in out.log]
        if leaked:
            return f"secrets in the job's log: {leaked}"
    return attempt.check(world, out) if attempt.check else None


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
def test_hostile_job_is_contained(scene: tuple[World, dict], attempt: Attempt) -> None:
    world, result = scene
    out = result["outcomes"][attempt.name]
    why = verdict(attempt, world, out)
    assert why is None, f"[{world.kind}] {attempt.name}: {why}\nlog:\n{out.log[-3000:]}\njob: {out.job}"


def test_the_server_the_agent_and_the_victim_survive_the_corpus(scene: tuple[World, dict]) -> None:
    world, result = scene
    assert result["alive"] == {"server": True, "victim": True, "agent": True}
    assert len(ATTEMPTS) >= 25

"""The Slurm executor against a real loopback Slurm (munged, slurmctld, 4 slurmd x 8 fake GPUs, slurmrestd)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from aidc.core.errors import AidcError
from aidc.executors import get_executor
from aidc.executors.base import ExecutorEvent, LaunchRequest
from aidc.executors.slurm import SlurmExecutor
from tests.executors.slurm_cluster import SlurmCluster


def _cli(slurm: SlurmCluster, **kw) -> SlurmExecutor:  # noqa: ANN003
    return SlurmExecutor(conf=str(slurm.conf), bin_dir=slurm.bin_dir, poll_interval_s=0.2, **kw)


def _rest(slurm: SlurmCluster, **kw) -> SlurmExecutor:  # noqa: ANN003
    return SlurmExecutor(rest_url=slurm.rest_url, jwt=slurm.token(), conf=str(slurm.conf), bin_dir=slurm.bin_dir,
                         poll_interval_s=0.2, **kw)


def _req(tmp: Path, command: str, job_id: int = 1, placement=(("node1", (0,)),), **kw) -> LaunchRequest:  # noqa: ANN001, ANN003
    return LaunchRequest(job_id=job_id, name="t", command=command, workdir=tmp / f"job{job_id}", placement=placement, **kw)


_LEFT: dict[int, list[ExecutorEvent]] = {}  # executor -> events polled while waiting for another job


def _events(ex: SlurmExecutor, job_id: int, until: set[str], timeout_s: float = 20.0) -> list[ExecutorEvent]:
    """Poll until the job has an event of a kind in `until`; every event of that job on the way."""
    buffered = _LEFT.setdefault(id(ex), [])
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        buffered += ex.poll()
        got = [e for e in buffered if e.job_id == job_id]
        if any(e.kind in until for e in got):
            buffered[:] = [e for e in buffered if e.job_id != job_id]
            return got
        time.sleep(0.05)
    raise AssertionError(f"job {job_id}: no {until} event within {timeout_s} s; got {got}")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def _wait_file(path: Path, timeout_s: float = 20.0) -> str:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def test_discover_imports_partitions_nodes_and_gres(slurm: SlurmCluster) -> None:
    for ex in (_cli(slurm), _rest(slurm)):
        nodes = sorted(ex.discover(), key=lambda n: n.name)
        assert [(n.name, n.gpus, n.partition, n.state) for n in nodes] == [
            (f"node{i}", 8, "gpu", "active") for i in range(1, 5)]
        assert nodes[0].cpu_cores == 32 and nodes[0].ram_gib == 64.0


def test_aidc_placement_runs_on_the_named_node_with_its_gpus(slurm: SlurmCluster, tmp_path: Path) -> None:
    ex = _cli(slurm)
    cmd = "echo node=$SLURMD_NODENAME cuda=$CUDA_VISIBLE_DEVICES aidc=$AIDC_NODES job=$AIDC_JOB_ID x=$X"
    handle = ex.launch(_req(tmp_path, cmd, placement=(("node3", (4, 5)),), env={"X": "a b"}))
    assert json.loads(json.dumps(handle)) == handle and handle["submit"] == "cli" and handle["pinned"] == ["node3"]
    events = _events(ex, 1, {"succeeded", "failed"})
    assert [e.kind for e in events] == ["running", "succeeded"] and events[0].nodes == ("node3",)
    assert ex.log_path(handle).read_text() == "node=node3 cuda=0,1 aidc=node3 job=1 x=a b\n"


@pytest.mark.parametrize("path", ["rest", "cli"])
def test_exit_codes_map_to_succeeded_and_failed(slurm: SlurmCluster, tmp_path: Path, path: str) -> None:
    ex = _rest(slurm) if path == "rest" else _cli(slurm)
    ok = ex.launch(_req(tmp_path, "echo fine", job_id=1))
    bad = ex.launch(_req(tmp_path, "echo oops >&2; exit 3", job_id=2, placement=(("node2", (0, 1)),)))
    assert ok["submit"] == bad["submit"] == path
    first = _events(ex, 1, {"succeeded", "failed"})[-1]
    assert (first.kind, first.exit_code, first.attempt) == ("succeeded", 0, 1)
    last = _events(ex, 2, {"succeeded", "failed"})[-1]
    assert (last.kind, last.exit_code, last.reason) == ("failed", 3, "exit code 3")
    assert Path(bad["log"]).read_text() == "oops\n"


def test_rest_failure_falls_back_to_the_cli(slurm: SlurmCluster, tmp_path: Path) -> None:
    from tests.server.pg import free_port

    ex = SlurmExecutor(rest_url=f"http://127.0.0.1:{free_port()}", jwt="x", conf=str(slurm.conf),
                       bin_dir=slurm.bin_dir, poll_interval_s=0.2, command_timeout_s=2)
    handle = ex.launch(_req(tmp_path, "true"))
    assert handle["submit"] == "cli"
    assert _events(ex, 1, {"succeeded", "failed"})[-1].kind == "succeeded"
    bad_token = SlurmExecutor(rest_url=slurm.rest_url, jwt="not-a-token", conf=str(slurm.conf), bin_dir=slurm.bin_dir)
    assert bad_token.launch(_req(tmp_path, "true", job_id=2))["submit"] == "cli"


def test_cancel_stops_a_running_job_without_waiting(slurm: SlurmCluster, tmp_path: Path) -> None:
    ex = _rest(slurm)
    handle = ex.launch(_req(tmp_path, "echo $$ > cmd.pid; exec sleep 300"))
    assert _events(ex, 1, {"running"})[0].nodes == ("node1",)
    pid = int(_wait_file(Path(handle["workdir"]) / "cmd.pid"))
    assert _alive(pid)
    t0 = time.monotonic()
    ex.cancel(1, handle, grace_s=2.0)
    ex.cancel(1, handle, grace_s=2.0)  # idempotent
    assert time.monotonic() - t0 < 1.0  # never waits for the job to end
    deadline = time.time() + 20
    while (_alive(pid) or ex.stopping()) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(pid) and ex.watched() == []
    assert ex.poll() == []  # a job aidc cancelled is not reported


def test_cancel_of_a_pending_job_is_immediate(slurm: SlurmCluster, tmp_path: Path) -> None:
    ex = _cli(slurm)
    blocker = ex.launch(_req(tmp_path, "sleep 300", job_id=1, placement=(("node4", tuple(range(8))),)))
    waiting = ex.launch(_req(tmp_path, "echo never", job_id=2, placement=(("node4", (0,)),)))
    _events(ex, 1, {"running"})
    t0 = time.monotonic()
    ex.cancel(2, waiting, grace_s=5.0)
    ex.cancel(1, blocker, grace_s=0.0)
    assert time.monotonic() - t0 < 2.0
    states = {j["job_id"]: j["job_state"] for j in slurm.squeue_json()}
    assert states[waiting["slurm_job_id"]] == "CANCELLED"


def test_max_runtime_is_enforced(slurm: SlurmCluster, tmp_path: Path) -> None:
    ex = _cli(slurm)
    ex.launch(_req(tmp_path, "sleep 120", max_runtime_s=1.5))
    last = _events(ex, 1, {"failed", "succeeded"}, timeout_s=20)[-1]
    assert last.kind == "failed" and "max_runtime_s exceeded" in last.reason
    squeue = {j["job_id"]: j for j in slurm.squeue_json()}
    assert any(j["time_limit"] == 1 for j in squeue.values())  # --time passed too (whole minutes)


def test_reattach_from_a_new_executor(slurm: SlurmCluster, tmp_path: Path) -> None:
    first = _cli(slurm)
    handle = first.launch(_req(tmp_path, "sleep 1; exit 4"))
    second = _rest(slurm)  # a restarted server
    assert second.reattach(1, handle)
    last = _events(second, 1, {"failed", "succeeded"})[-1]
    assert (last.kind, last.exit_code) == ("failed", 4)
    third = _cli(slurm)  # the handle was never saved: the wrapper's slurm_job_id file is enough
    assert third.reattach(1, {"workdir": handle["workdir"]})
    assert _events(third, 1, {"failed"})[-1].exit_code == 4
    (tmp_path / "gone").mkdir()
    assert not _cli(slurm).reattach(2, {"slurm_job_id": 99999999, "workdir": str(tmp_path / "gone")})


def test_slurm_placement_reports_the_nodes_it_chose(slurm: SlurmCluster, tmp_path: Path) -> None:
    ex = _cli(slurm, placement="slurm")
    handle = ex.launch(_req(tmp_path, "echo $CUDA_VISIBLE_DEVICES", placement=(("node1", (0, 1, 2)),)))
    assert handle["pinned"] == []
    events = _events(ex, 1, {"succeeded", "failed"})
    assert events[0].kind == "running" and len(events[0].nodes) == 1 and events[0].nodes[0].startswith("node")
    assert events[-1].kind == "succeeded" and Path(handle["log"]).read_text() == "0,1,2\n"


def test_a_two_node_job_gets_both_nodes(slurm: SlurmCluster, tmp_path: Path) -> None:
    ex = _rest(slurm)
    cmd = "echo $AIDC_NODES; srun bash -c 'echo step on $SLURMD_NODENAME gpus $CUDA_VISIBLE_DEVICES' | sort"
    handle = ex.launch(_req(tmp_path, cmd, placement=(("node1", (0, 1)), ("node2", (0, 1)))))
    events = _events(ex, 1, {"succeeded", "failed"})
    assert events[0].nodes == ("node1", "node2") and events[-1].kind == "succeeded", Path(handle["log"]).read_text()
    assert Path(handle["log"]).read_text().splitlines() == [
        "node1,node2", "step on node1 gpus 0,1", "step on node2 gpus 0,1"]


def test_drain_and_resume_show_in_sinfo(slurm: SlurmCluster) -> None:
    ex = _rest(slurm)

    def state() -> str:
        return subprocess.run(["sinfo", "-h", "-n", "node4", "-o", "%T"], env=slurm.env, capture_output=True,
                              text=True).stdout.strip()

    ex.set_node_state("node4", "drain", "aidc: xid 79")
    assert state() == "drained"
    assert {n.name: n.state for n in ex.discover()}["node4"] == "draining"
    assert "xid 79" in slurm.scontrol("show", "node", "node4").stdout
    ex.set_node_state("node4", "resume", "")
    assert state().startswith("idle")  # "idle*" until slurmctld's next ping of the node
    assert {n.name: n.state for n in ex.discover()}["node4"] == "active"
    with pytest.raises(AidcError, match="nodeX"):
        ex.set_node_state("nodeX", "drain", "no such node")


def test_bad_options_are_named() -> None:
    with pytest.raises(AidcError, match="placement"):
        SlurmExecutor(placement="anywhere")
    with pytest.raises(AidcError, match="jwt"):
        SlurmExecutor(rest_url="http://127.0.0.1:1")
    with pytest.raises(AidcError, match="rest_url"):
        SlurmExecutor(rest_url="127.0.0.1:6820", jwt="x")
    with pytest.raises(AidcError, match="conf"):
        SlurmExecutor(conf="/nonexistent/slurm.conf")
    with pytest.raises(AidcError, match="bad options"):
        get_executor("slurm", partitions="gpu")


@pytest.mark.slow
def test_a_killed_slurmd_loses_its_job_and_the_next_launch_goes_elsewhere(slurm: SlurmCluster, tmp_path: Path) -> None:
    ex = _cli(slurm, unavailable_after_s=5)
    handle = ex.launch(_req(tmp_path, "sleep 300", placement=(("node2", (0,)),)))
    assert _events(ex, 1, {"running"})[0].nodes == ("node2",)
    try:
        t0 = time.monotonic()
        slurm.kill_slurmd("node2")
        last = _events(ex, 1, {"lost", "failed", "succeeded"}, timeout_s=60)[-1]
        lost_after_s = time.monotonic() - t0
        assert last.kind == "lost" and "node_fail" in last.reason, last
        assert lost_after_s < 45  # SlurmdTimeout=6 s; slurmctld pings every few s and waits MessageTimeout
        # aidc still places the retry on node2: Slurm says it is down, so Slurm places it elsewhere
        retry = ex.launch(_req(tmp_path, "echo retry on $SLURMD_NODENAME", job_id=2, placement=(("node2", (0,)),)))
        events = _events(ex, 2, {"succeeded", "failed", "lost"})
        assert retry["pinned"] == [] and events[0].kind == "running" and events[0].nodes != ("node2",)
        assert events[-1].kind == "succeeded"
    finally:
        slurm.revive("node2")
    assert Path(handle["log"]).exists()




def _tail(tmp: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in tmp.glob("server-*.log"))


def _job(server, job_id: int) -> dict:  # noqa: ANN001
    return json.loads(server.aidc("job", "show", str(job_id), "--json").stdout)


def _wait_job(server, job_id: int, statuses: set[str], timeout_s: float = 30) -> dict:  # noqa: ANN001
    deadline = time.time() + timeout_s
    while True:
        job = _job(server, job_id)
        if job["status"] in statuses or time.time() > deadline:
            return job
        time.sleep(0.2)


@pytest.mark.slow
def test_end_to_end_through_a_real_aidc_server(slurm: SlurmCluster, tmp_path: Path) -> None:
    from tests.conftest import aidc_bin
    from tests.server.live import Server
    from tests.specs import named_nodes_yaml

    spec = tmp_path / "dc.yaml"
    spec.write_text(named_nodes_yaml("loopback-slurm", slurm.nodes))
    options = {"rest_url": slurm.rest_url, "jwt": slurm.token(), "conf": str(slurm.conf), "bin_dir": slurm.bin_dir,
               "poll_interval_s": 0.2}
    server = Server(tmp_path, spec=spec, aidc=aidc_bin(), AIDC_EXECUTOR="slurm",
                    AIDC_EXECUTOR_OPTIONS=json.dumps(options)).start()
    try:
        ids = []
        for i in range(3):
            (tmp_path / f"j{i}.yaml").write_text(f"name: hello{i}\ncommand: 'echo hello {i} on $SLURMD_NODENAME'\ngpus: 2\n")
            res = server.aidc("submit", str(tmp_path / f"j{i}.yaml"), "--json")
            assert res.returncode == 0, res.stderr
            ids.append(json.loads(res.stdout)["id"])
        for i, job_id in enumerate(ids):
            assert _wait_job(server, job_id, {"succeeded", "failed"})["status"] == "succeeded"
            assert server.aidc("job", "logs", str(job_id)).stdout.startswith(f"hello {i} on node")

        (tmp_path / "long.yaml").write_text("name: long\ncommand: 'sleep 300'\ngpus: 1\n")
        long_id = json.loads(server.aidc("submit", str(tmp_path / "long.yaml"), "--json").stdout)["id"]
        assert _wait_job(server, long_id, {"running"})["status"] == "running"
        assert server.aidc("job", "cancel", str(long_id)).returncode == 0
        assert _wait_job(server, long_id, {"cancelled"})["status"] == "cancelled"

        marker = tmp_path / "first-attempt"
        (tmp_path / "victim.yaml").write_text(
            f"name: victim\ncommand: 'if [ -e {marker} ]; then echo retried on $SLURMD_NODENAME; "
            f"else touch {marker}; sleep 300; fi'\ngpus: 8\n")
        victim = json.loads(server.aidc("submit", str(tmp_path / "victim.yaml"), "--json").stdout)["id"]
        running = _wait_job(server, victim, {"running"})
        deadline = time.time() + 20
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert marker.exists(), ("the victim never started in Slurm", slurm.squeue_json())
        node = running["placement"][0][0]
        slurm.kill_slurmd(node)
        try:
            t_kill = time.monotonic()
            done = _wait_job(server, victim, {"succeeded", "failed"}, timeout_s=120)
            events = json.loads(server.aidc("job", "events", str(victim), "--json").stdout)
            seen = [(round(e["at_s"] - events[0]["at_s"], 1), e.get("to_status"), e.get("reason")) for e in events]
            print(f"victim done {time.monotonic() - t_kill:.1f} s after the kill: {seen}")
            assert done["status"] == "succeeded" and done["attempts"] == 2, (
                done["status"], done["attempts"], seen, _tail(tmp_path)[-1500:])
            events = json.loads(server.aidc("job", "events", str(victim), "--json").stdout)
            assert any("requeued" in (e.get("reason") or "") for e in events)
            out = server.aidc("job", "logs", str(victim)).stdout
            assert out.startswith("retried on node") and f"on {node}\n" not in out
            assert done["placement"][0][0] != node
            # aidc asks Slurm which nodes are down and takes the dead one out of service too, with a repair
            deadline = time.time() + 30
            while time.time() < deadline:
                mine = next(n for n in json.loads(server.aidc("nodes", "--json").stdout) if n["name"] == node)
                if mine["status"] == "down":
                    break
                time.sleep(0.5)
            assert (mine["status"], mine["status_reason"]) == ("down", "engine: slurm reports the node down")
        finally:
            slurm.revive(node)
    finally:
        server.stop()


def test_a_tenant_job_runs_as_its_mapped_user_with_a_clean_environment(slurm: SlurmCluster, monkeypatch) -> None:  # noqa: ANN001
    """Slurm's own isolation applies: the job is the tenant's uid on the node (sbatch --uid), and none of
    the server's environment reaches it (--export=NIL)."""
    import tempfile

    from aidc.executors.base import JobIdentity

    monkeypatch.setenv("AIDC_DATABASE_URL", "postgresql://aidc:server-secret@127.0.0.1/aidc")
    top = Path(tempfile.mkdtemp(prefix="aidc-slurm-uid-"))
    top.chmod(0o755)  # slurmd opens the log as the job's user, who must reach the folder
    try:
        ex = _cli(slurm)
        nobody = JobIdentity(uid=65534, gid=65534, user="aidc-team-x")
        req = _req(top, "echo uid=$(id -u) user=$USER; env | grep -c server-secret; touch ~/made-by-job",
                   identity=nobody, tenant="team-x", job_token="aidcjob_1_abc", server_url="http://127.0.0.1:1")
        handle = ex.launch(req)
        assert _events(ex, 1, {"succeeded", "failed"})[-1].kind == "succeeded"
        assert ex.log_path(handle).read_text() == "uid=65534 user=aidc-team-x\n0\n"
        assert (top / "job1" / "made-by-job").stat().st_uid == 65534
        required = _req(top, "id", job_id=2, tenant="team-y", isolation="required")
        with pytest.raises(AidcError, match="requires isolated jobs: give it a unix_uid"):
            ex.launch(required)
    finally:
        subprocess.run(["rm", "-rf", str(top)], check=False)

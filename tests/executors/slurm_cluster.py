"""A real Slurm 22.05 on loopback for tests and benchmarks: munged, slurmctld, N slurmd, slurmrestd; stopped by PID."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.server.pg import free_port

DAEMONS = ("munged", "slurmctld", "slurmd", "slurmrestd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "sinfo")
GPUS_PER_NODE = 8


def slurm_missing() -> str | None:
    """Why a loopback Slurm cannot start here (a skip message), or None when it can."""
    missing = [b for b in DAEMONS + CLIENTS if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]
    if missing:
        return f"Slurm binaries absent ({', '.join(missing)}): apt-get install slurmctld slurmd slurm-client munge slurmrestd slurm-wlm-jwt-plugin"
    if os.geteuid() != 0:
        return "a loopback Slurm needs root (munged runs as user munge, slurmd as root, mknod for fake GPUs)"
    return None


def _bin(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _wait_for(check, timeout_s: float, what: str, interval_s: float = 0.1) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval_s)
    raise RuntimeError(f"loopback Slurm: {what} not ready after {timeout_s:.0f} s")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


class SlurmCluster:
    """`start()` brings up munged, slurmctld, `nodes` slurmd (8 fake GPUs each) and slurmrestd in a temp dir."""

    def __init__(self, nodes: int = 4, *, slurmd_timeout_s: int = 6, partition: str = "gpu") -> None:
        self.nodes = [f"node{i}" for i in range(1, nodes + 1)]
        self.partition = partition
        self.slurmd_timeout_s = slurmd_timeout_s
        self.dir = Path(tempfile.mkdtemp(prefix="aidc-slurm-"))
        self.dir.chmod(0o755)  # munge and nobody (slurmrestd) walk through it
        self.conf = self.dir / "slurm.conf"
        self.ctld_port = free_port()
        self.node_ports = {n: free_port() for n in self.nodes}
        self.rest_port = free_port()
        self.pids: dict[str, int] = {}  # daemon name ("slurmd:node1") -> pid
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- configuration ------------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Environment for the Slurm client commands: this cluster's slurm.conf."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def bin_dir(self) -> str:
        return str(Path(_bin("sbatch")).parent)

    def _write_config(self) -> None:
        d = self.dir
        for sub in ("state", "spool", "log", "dev", "munge", "run"):
            (d / sub).mkdir(exist_ok=True)
        for i in range(GPUS_PER_NODE):  # gres.conf refuses plain files: character devices like /dev/null
            dev = d / "dev" / f"gpu{i}"
            if not dev.exists():
                os.mknod(dev, 0o666 | 0o020000, os.makedev(1, 3))
        key = d / "jwt.key"
        key.write_bytes(os.urandom(32))
        key.chmod(0o400)
        host = "localhost"
        node_lines = "\n".join(
            f"NodeName={n} NodeHostname={host} NodeAddr=127.0.0.1 Port={p} CPUs=32 RealMemory=65536 "
            f"Gres=gpu:{GPUS_PER_NODE} State=UNKNOWN" for n, p in self.node_ports.items())
        self.conf.write_text(f"""# written by tests/executors/slurm_cluster.py
ClusterName=aidc-loopback
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={self.ctld_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={d}/munge/munge.socket
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key={key}
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool/%n
SlurmctldPidFile={d}/run/slurmctld.pid
SlurmdPidFile={d}/run/slurmd-%n.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
SlurmdParameters=config_overrides
SlurmdTimeout={self.slurmd_timeout_s}
SlurmctldTimeout=30
ReturnToService=2
MinJobAge=600
KillWait=5
InactiveLimit=0
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
{node_lines}
PartitionName={self.partition} Nodes={",".join(self.nodes)} Default=YES MaxTime=INFINITE State=UP
""")
        (d / "gres.conf").write_text(
            f"AutoDetect=off\nNodeName={','.join(self.nodes)} Name=gpu File={d}/dev/gpu[0-{GPUS_PER_NODE - 1}]\n")
        munge_dir = d / "munge"
        (munge_dir / "munge.key").write_bytes(os.urandom(1024))
        for path in (munge_dir, munge_dir / "munge.key"):
            shutil.chown(path, "munge", "munge")
        munge_dir.chmod(0o755)
        (munge_dir / "munge.key").chmod(0o400)
        for path in (self.conf, d / "gres.conf"):
            path.chmod(0o644)

    # -- lifecycle ----------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None, user: str | None = None) -> int:
        log = open(self.dir / "log" / f"{name.replace(':', '-')}.out", "ab")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env or self.env, cwd=self.dir, start_new_session=True,
                                user=user, group=user, extra_groups=[] if user else None)
        log.close()
        self._procs[name] = proc
        self.pids[name] = proc.pid
        return proc.pid

    def start(self) -> "SlurmCluster":
        try:
            self._write_config()
            self._start_munged()
            self._spawn("slurmctld", [_bin("slurmctld"), "-D", "-i", "-f", str(self.conf)])
            _wait_for(lambda: self.scontrol("ping").returncode == 0 and "UP" in self.scontrol("ping").stdout,
                      30, "slurmctld")
            for node in self.nodes:
                self.start_slurmd(node)
            _wait_for(self._all_idle, 60, "slurmd nodes idle", 0.2)
            self._start_slurmrestd()
        except RuntimeError as exc:
            logs = self.log_tails()
            self.stop()
            raise RuntimeError(f"{exc}\n{logs}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def log_tails(self, lines: int = 15) -> str:
        """The last lines of every daemon log (for an error message when a start fails)."""
        out = []
        for path in sorted((self.dir / "log").glob("*")) + sorted((self.dir / "munge").glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def _start_munged(self) -> None:
        m = self.dir / "munge"
        cmd = [_bin("munged"), "-F", f"--socket={m}/munge.socket",
               f"--key-file={m}/munge.key", f"--pid-file={m}/munged.pid", f"--log-file={m}/munged.log",
               f"--seed-file={m}/munged.seed", "--num-threads=2"]
        self._spawn("munged", cmd, user="munge")
        _wait_for(lambda: (m / "munge.socket").exists(), 15, "munged")

    def start_slurmd(self, node: str) -> int:
        """(Re)start one node's slurmd; returns its pid."""
        return self._spawn(f"slurmd:{node}", [_bin("slurmd"), "-D", "-N", node, "-f", str(self.conf)])

    def _start_slurmrestd(self) -> None:
        env = {**self.env, "SLURM_JWT": "daemon"}
        cmd = [_bin("slurmrestd"), "-u", "nobody", "-g", "nogroup", "-a", "rest_auth/jwt", "-s", "openapi/v0.0.38",
               "-f", str(self.conf), f"127.0.0.1:{self.rest_port}"]
        self._spawn("slurmrestd", cmd, env)

        def up() -> bool:
            import httpx

            try:
                return httpx.get(f"{self.rest_url}/openapi/v3", timeout=1).status_code < 500
            except httpx.HTTPError:
                return False

        _wait_for(up, 20, "slurmrestd", 0.1)

    def _all_idle(self) -> bool:
        out = subprocess.run([_bin("sinfo"), "-h", "-N", "-o", "%N %t"], env=self.env, capture_output=True, text=True)
        states = dict(line.split() for line in out.stdout.splitlines() if line.strip())
        return all(states.get(n, "").startswith("idle") or states.get(n, "").startswith("mix") for n in self.nodes)

    def kill_slurmd(self, node: str, sig: int = signal.SIGKILL) -> None:
        """A node failure: kill its slurmd by the PID this cluster started it with, then its job steps."""
        name = f"slurmd:{node}"
        proc = self._procs[name]
        proc.send_signal(sig)
        proc.wait(10)
        self._kill_steps(node)

    def _kill_steps(self, node: str | None = None) -> None:
        """SIGKILL the slurmstepd processes this cluster's slurmd started (they hold its slurmd log open; one
        node's or all) and every process under them: a dead node's jobs die with it; nothing outlives stop()."""
        marker = f"{self.dir}/log/slurmd-{node or ''}"
        ours = set(self.pids.values())
        parents: dict[int, int] = {}
        steps: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                parents[pid] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if pid in ours:
                    continue
                if any(os.readlink(fd).startswith(marker) for fd in (entry / "fd").iterdir()):
                    steps.append(pid)
            except (OSError, IndexError, ValueError):
                continue
        doomed, frontier = set(steps), list(steps)
        while frontier:
            parent = frontier.pop()
            children = [p for p, pp in parents.items() if pp == parent and p not in doomed]
            doomed.update(children)
            frontier.extend(children)
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def revive(self, node: str, timeout_s: float = 60.0) -> None:
        """Restart a killed node's slurmd and wait until Slurm has it idle again."""
        name = f"slurmd:{node}"
        if self._procs[name].poll() is not None:
            self.start_slurmd(node)
        self.scontrol("update", f"nodename={node}", "state=resume")

        def idle() -> bool:
            out = subprocess.run([_bin("sinfo"), "-h", "-n", node, "-o", "%t"], env=self.env, capture_output=True,
                                 text=True)
            return out.stdout.strip() in ("idle", "mix", "alloc")

        _wait_for(idle, timeout_s, f"{node} back", 0.2)

    def token(self, user: str = "root", lifespan_s: int = 3600) -> str:
        """A JWT for slurmrestd, minted by `scontrol token`."""
        out = self.scontrol("token", f"username={user}", f"lifespan={lifespan_s}")
        if out.returncode != 0:
            raise RuntimeError(f"scontrol token failed: {out.stderr.strip()}")
        return out.stdout.strip().split("=", 1)[1]

    def scontrol(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([_bin("scontrol"), *args], env=self.env, capture_output=True, text=True, timeout=30)

    def squeue_json(self) -> list[dict]:
        out = subprocess.run([_bin("squeue"), "--json", "--states=all"], env=self.env, capture_output=True, text=True,
                             timeout=30)
        return json.loads(out.stdout).get("jobs", [])

    def cancel_all(self) -> None:
        """Cancel every job of this cluster (its own slurm.conf) and wait briefly for them to end."""
        subprocess.run([_bin("scancel"), "--full", "--state=PENDING,RUNNING,SUSPENDED,REQUEUED"] +
                       [], env=self.env, capture_output=True, timeout=30)
        subprocess.run([_bin("scancel"), "--full", "-u", pwd.getpwuid(os.geteuid()).pw_name], env=self.env,
                       capture_output=True, timeout=30)

    def reset(self, timeout_s: float = 60.0) -> None:
        """Between tests: kill every job of every user (a test may leave one ending, or one of another uid), put
        every node back in service and wait until all are idle with no job left: each test starts on an
        empty cluster, so GPU indices and node choices do not depend on what ran before."""
        ids = [str(j["job_id"]) for j in self.squeue_json() if j.get("job_state") not in ("COMPLETED", "CANCELLED",
                                                                                         "FAILED", "TIMEOUT")]
        if ids:
            subprocess.run([_bin("scancel"), *ids], env=self.env, capture_output=True, timeout=30)
        for node in self.nodes:
            if self._procs[f"slurmd:{node}"].poll() is not None:
                self.start_slurmd(node)

        def settled() -> bool:
            busy = [j for j in self.squeue_json() if j.get("job_state") in ("PENDING", "RUNNING", "COMPLETING",
                                                                              "SUSPENDED", "CONFIGURING")]
            if busy:
                return False
            if not self._all_idle():
                self.scontrol("update", f"nodename={','.join(self.nodes)}", "state=resume")
                return False
            return True

        _wait_for(settled, timeout_s, "an empty, idle cluster", 0.2)

    def stop(self) -> None:
        """Cancel the jobs, then stop every daemon this cluster started, by PID (TERM, then KILL)."""
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            try:
                self.cancel_all()
                _wait_for(lambda: not any(j.get("job_state") in ("RUNNING", "COMPLETING")
                                          for j in self.squeue_json()), 15, "jobs cancelled", 0.2)
            except Exception:  # noqa: BLE001 (best effort: the daemons are stopped below anyway)
                pass
        order = ["slurmrestd"] + [f"slurmd:{n}" for n in self.nodes] + ["slurmctld", "munged"]
        for name in order:
            proc = self._procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._kill_steps()
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":  # python -m tests.executors.slurm_cluster: start one and keep it up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop() runs on kill PID too
    cluster = SlurmCluster().start()
    print(json.dumps({"SLURM_CONF": str(cluster.conf), "rest_url": cluster.rest_url, "pids": cluster.pids,
                      "token": cluster.token()}))
    try:
        signal.pause()
    finally:
        cluster.stop()

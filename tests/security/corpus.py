"""The hostile-job corpus: each attempt is a real job a member of team-x submits, trying one way out.

A command prints ESCAPE when its attempt worked; `check` also looks from outside (files written, processes
left, secrets in the log, the server or the victim job killed). Adding one: docs/security.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class World:
    """What the attempts aim at: the server's and agent's files and processes, team-y's data and job."""

    kind: str  # "local" (the embedded default) or "agents" (node agents)
    url: str  # the server
    tmp: Path
    data_dir: Path  # the server's
    db_path: Path
    server_pid: int
    agent_dir: Path | None  # the agent's work dir (agents only)
    agent_pid: int | None
    x_data: Path  # team-x, read-only volume
    x_scratch: Path  # team-x, read-write volume
    y_ckpt: Path  # team-y's checkpoints (holds y_secret)
    y_secret: str
    canary: str  # in the server's (and agent's) environment
    admin_token: str
    victim_id: int  # team-y's running job
    victim_pid: int  # its process on the host
    victim_secret: str  # what it printed to its log
    victim_dirs: list[Path]  # its control and work dirs (server side, and agent side)
    gpu_devices: bool  # fake /dev/nvidia0..3 exist for the sandbox

    @property
    def secrets(self) -> list[str]:
        return [self.admin_token, self.canary, self.y_secret, self.victim_secret]


@dataclass
class Outcome:
    status_code: int  # of the submit
    body: Any  # the submit's JSON answer
    job: dict | None = None  # the job once it ended
    log: str = ""


Check = Callable[[World, Outcome], str | None]


@dataclass
class Attempt:
    name: str
    command: str | Callable[[World], str]
    spec: dict | Callable[[World], dict] = field(default_factory=dict)  # more spec fields (gpus, volumes, image ...)
    check: Check | None = None  # extra verdict (None: contained); the default verdict always applies
    refused_at_submit: bool = False  # the API must refuse it (4xx) before anything runs

    def spec_for(self, world: World) -> dict:
        command = self.command(world) if callable(self.command) else self.command
        extra = self.spec(world) if callable(self.spec) else self.spec
        return {"name": f"hostile-{self.name}", "gpus": 0, "command": command, "max_runtime_s": 60, **extra}


def py(code: str) -> str:
    """A python3 one-liner (the job's PATH has this interpreter)."""
    return "python3 -c " + _quote(code)


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"


def try_read(path: str | Path) -> str:
    return f"if cat {_quote(str(path))} 2>&1; then echo ESCAPE; else echo contained; fi"


def try_write(path: str | Path) -> str:
    return f"if (echo pwned > {_quote(str(path))}) 2>&1; then echo ESCAPE; else echo contained; fi"


def absent(*paths: Callable[[World], Path]) -> Check:
    def check(world: World, out: Outcome) -> str | None:
        for p in paths:
            if p(world).exists():
                return f"{p(world)} was written"
        return None
    return check


def no_process(marker: str) -> Check:
    def check(world: World, out: Outcome) -> str | None:
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    if marker.encode() in (proc / "cmdline").read_bytes():
                        return f"process {proc.name} ({marker}) outlived its job"
                except OSError:
                    continue
        return None
    return check


def ended(status: str, *, reason_has: str = "") -> Check:
    def check(world: World, out: Outcome) -> str | None:
        job = out.job or {}
        if job.get("status") != status:
            return f"job ended {job.get('status')} ({job.get('reason')}), expected {status}"
        if reason_has and reason_has not in (job.get("reason") or ""):
            return f"reason {job.get('reason')!r} does not say {reason_has!r}"
        return None
    return check


def all_of(*checks: Check) -> Check:
    def check(world: World, out: Outcome) -> str | None:
        for c in checks:
            why = c(world, out)
            if why:
                return why
        return None
    return check


def refused(status: int, says: str) -> Check:
    def check(world: World, out: Outcome) -> str | None:
        text = str(out.body)
        if out.status_code != status or says not in text:
            return f"submit answered {out.status_code} {text[:300]}, expected {status} saying {says!r}"
        return None
    return check


def _api(method: str, path: str, body: str = "None") -> str:
    """python: call the server with the job's own token, print the HTTP status."""
    return ("import os, urllib.request as u\n"
            f"r = u.Request(os.environ['AIDC_SERVER'] + {path!r}, method={method!r}, data={body},"
            " headers={'Authorization': 'Bearer ' + os.environ['AIDC_JOB_TOKEN'], 'Content-Type': 'application/json'})\n"
            "try:\n    code = u.urlopen(r, timeout=10).status\n"
            "except u.HTTPError as e:\n    code = e.code\n")


def job_token_scope(world: World) -> str:
    """Every route but its own job refuses the job's token; its own job answers."""
    lines = []
    for method, path, body in (("POST", "/api/v1/jobs", "b'{\"spec\": {\"name\": \"x\", \"command\": \"id\"}}'"),
                               ("GET", "/api/v1/jobs", "None"), ("GET", f"/api/v1/jobs/{world.victim_id}", "None"),
                               ("GET", "/api/v1/tenants", "None"), ("POST", f"/api/v1/jobs/{world.victim_id}/cancel", "None"),
                               ("GET", "/api/v1/users", "None")):
        lines.append(_api(method, path, body) + f"print({method!r}, {path!r}, code)\n"
                     "if code < 400: print('ESCAPE')\n")
    own_call = ("import os, urllib.request as u\n"
                "r = u.Request(os.environ['AIDC_SERVER'] + '/api/v1/jobs/' + os.environ['AIDC_JOB_ID'],"
                " headers={'Authorization': 'Bearer ' + os.environ['AIDC_JOB_TOKEN']})\n"
                "print('own job', u.urlopen(r, timeout=10).status)\n")
    return py("".join(lines) + own_call)


def own_job_readable(world: World, out: Outcome) -> str | None:
    return None if "own job 200" in out.log else "the job could not read its own job with its token"


def token_dies_with_job(world: World, out: Outcome) -> str | None:
    import httpx

    token = next((line.split("=", 1)[1].strip() for line in out.log.splitlines() if line.startswith("TOKEN=")), "")
    if not token.startswith("aidcjob_"):
        return f"no job token in the log: {out.log[:200]!r}"
    url = f"{world.url}/api/v1/jobs/{out.job['id']}"
    r = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    if r.status_code != 401 or "expired" not in r.text:
        return f"the ended job's token still answers {r.status_code} {r.text[:200]}"
    return None


def gpu_only_own(world: World, out: Outcome) -> str | None:
    if not world.gpu_devices:
        return None
    nodes = [line for line in out.log.splitlines() if line.startswith("/dev/nvidia") and line[11:].isdigit()]
    if len(nodes) != 1:
        return f"the job sees GPU device nodes {nodes}, expected only its own one"
    if "CUDA_VISIBLE_DEVICES=0" not in out.log:
        return "CUDA_VISIBLE_DEVICES is not its one GPU renumbered 0"
    return None


FORK_BOMB = py("import os, time\nn = 0\ntry:\n    while n < 5000:\n        if os.fork() == 0:\n"
               "            time.sleep(30)\n            os._exit(0)\n        n += 1\n"
               "except OSError as e:\n    print('contained after', n, 'forks:', e)\nif n >= 5000: print('ESCAPE')")
PTRACE = ("import ctypes, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
          "for pid in [int(a) for a in sys.argv[1:]]:\n"
          "    r = libc.ptrace(16, pid, 0, 0)\n"
          "    print('ptrace', pid, r, ctypes.get_errno())\n"
          "    if r == 0: print('ESCAPE')\n")


def attempts() -> list[Attempt]:
    prefix = Path(sys.prefix)
    return [
        Attempt("admin-token", lambda w: try_read(w.data_dir / "admin.token")),
        Attempt("database", lambda w: py(f"import sqlite3\ntry:\n    c = sqlite3.connect('file:{w.db_path}?mode=ro', uri=True)\n"
                                         "    print(c.execute('select count(*) from tokens').fetchall()); print('ESCAPE')\n"
                                         "except Exception as e: print('contained', e)")),
        Attempt("data-dir-listing", lambda w: f"ls -laR {w.data_dir} 2>&1 | head -50; "
                f"ls -A {w.data_dir} 2>/dev/null | grep -qvx jobs && echo ESCAPE; "
                f"ls -A {w.data_dir}/jobs 2>/dev/null | grep -qvx \"$AIDC_JOB_ID\" && echo ESCAPE; echo listed"),
        Attempt("server-environ", lambda w: try_read(f"/proc/{w.server_pid}/environ")),
        Attempt("own-environment", "env | sort; echo TOKEN_SET=${AIDC_JOB_TOKEN:+yes}",
                check=lambda w, o: None if "TOKEN_SET=yes" in o.log and "AIDC_DATA_DIR" not in o.log
                and "AIDC_DATABASE_URL" not in o.log and "AIDC_TOKEN=" not in o.log else "environment not scrubbed"),
        Attempt("other-tenant-checkpoint", lambda w: try_read(w.y_ckpt / "secret")),
        Attempt("other-tenant-volume-by-name", "id", spec={"volumes": [{"name": "ckpt-y"}]}, refused_at_submit=True,
                check=refused(422, "has no volume 'ckpt-y'")),
        Attempt("other-job-log", lambda w: "; ".join(try_read(d / "output.log") for d in w.victim_dirs)),
        Attempt("other-job-work-dir", lambda w: "; ".join(try_write(d / "work" / "pwned") for d in w.victim_dirs),
                check=lambda w, o: next((f"{d}/work/pwned written" for d in w.victim_dirs
                                         if (d / "work" / "pwned").exists()), None)),
        Attempt("write-server-data-dir", lambda w: try_write(w.data_dir / "pwned"), check=absent(lambda w: w.data_dir / "pwned")),
        Attempt("write-agent-work-dir", lambda w: try_write((w.agent_dir or w.data_dir) / "pwned-agent") + "; "
                + try_read((w.agent_dir or w.data_dir) / "agent-state.json"),
                check=absent(lambda w: (w.agent_dir or w.data_dir) / "pwned-agent")),
        Attempt("write-system", "; ".join(try_write(p) for p in ("/usr/bin/pwned", "/etc/pwned", "/root/pwned")),
                check=absent(lambda w: Path("/usr/bin/pwned"), lambda w: Path("/etc/pwned"))),
        Attempt("write-python-runtime", try_write(prefix / "pwned"), check=absent(lambda w: prefix / "pwned")),
        Attempt("shadow", try_read("/etc/shadow")),
        Attempt("signal-server", lambda w: f"kill -9 {w.server_pid} {w.agent_pid or w.server_pid} 2>&1 && echo ESCAPE || echo contained"),
        Attempt("signal-other-job", lambda w: f"kill -9 {w.victim_pid} 2>&1 && echo ESCAPE || echo contained; "
                "pkill -9 -f 'sleep 6071' && echo ESCAPE; kill -9 -1 2>/dev/null; echo done"),
        Attempt("ptrace", lambda w: f"python3 -c {_quote(PTRACE)} {w.server_pid} {w.victim_pid} 1"),
        Attempt("see-other-processes", py("import os\npids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
                                          "print('processes', len(pids))\nfor p in pids:\n    try:\n"
                                          "        c = open(f'/proc/{p}/cmdline', 'rb').read()\n"
                                          "    except OSError: continue\n"
                                          "    if c.startswith(b'sleep\\x006071') or b'aidc' in c.split(b'\\0')[0]: print('ESCAPE', c)\n"
                                          "if len(pids) >= 20: print('ESCAPE')")),
        Attempt("proc-1-root", lambda w: try_read(f"/proc/1/root{w.data_dir}/admin.token") + "; " + try_read("/proc/1/environ")),
        Attempt("fork-bomb-python", FORK_BOMB),
        Attempt("fork-bomb-shell", ":(){ :|:& };:; sleep 3; echo the host still answers", spec={"max_runtime_s": 20},
                check=no_process(":(){ :|:& }")),
        Attempt("memory-over-limit", py("b = bytearray(1 << 30)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('ESCAPE')"),
                spec={"memory_gib": 0.25}, check=ended("failed", reason_has="memory limit")),
        Attempt("unassigned-gpu", "ls /dev/nvidia* 2>&1; echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES; "
                "for i in 0 1 2 3; do [ -e /dev/nvidia$i ] && echo present $i; done",
                spec={"gpus": 1}, check=gpu_only_own),
        Attempt("volume-symlink-planted", lambda w: f"ln -sfn {w.y_ckpt} {w.x_scratch}/planted && "
                + try_read(f"{w.x_scratch}/planted/secret")),
        Attempt("volume-sub-path-through-symlink", "id", spec={"volumes": [{"name": "scratch-x", "sub_path": "link"}]},
                check=ended("failed", reason_has="symlink")),
        Attempt("volume-sub-path-dotdot", "id", spec={"volumes": [{"name": "scratch-x", "sub_path": "../../y-ckpt"}]},
                refused_at_submit=True, check=refused(422, "sub_path")),
        Attempt("checkpoint-outside-volumes", "id", spec={"checkpoint_dir": "/var/lib/aidc-pwned"}, refused_at_submit=True,
                check=refused(422, "not inside a read-write volume")),
        Attempt("write-read-only-volume", lambda w: try_write(w.x_data / "pwned"), check=absent(lambda w: w.x_data / "pwned")),
        Attempt("background-process", "(setsid sleep 6093 > /dev/null 2>&1 &); nohup sleep 6094 > /dev/null 2>&1 & "
                "echo started; sleep 0.2", check=all_of(no_process("sleep 6093"), no_process("sleep 6094"))),
        Attempt("setuid-root", py("import os\ntry:\n    os.setuid(0); print('ESCAPE')\nexcept OSError as e: print('contained', e)")
                + "; su -c id root < /dev/null 2>&1 | grep -q 'uid=0' && echo ESCAPE; echo done"),
        Attempt("mount", "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m 2>&1 && echo ESCAPE || echo contained; "
                "umount /tmp 2>&1 && echo ESCAPE || echo contained"),
        Attempt("cgroup-escape", "ls /sys/fs/cgroup 2>&1; for f in /sys/fs/cgroup/memory/cgroup.procs "
                "/sys/fs/cgroup/cgroup.procs; do (echo $$ > $f) 2>/dev/null && echo ESCAPE; done; echo done"),
        Attempt("shared-memory", lambda w: f"echo x > /dev/shm/aidc-pwned-{w.kind} && echo written",
                check=absent(lambda w: Path(f"/dev/shm/aidc-pwned-{w.kind}"))),
        Attempt("job-token-scope", job_token_scope, check=own_job_readable),
        Attempt("image-reads-server-data", lambda w: try_read(w.data_dir / "admin.token") + "; "
                + try_read(w.y_ckpt / "secret") + "; grep -q aidc-test /etc/os-release && echo in-the-image",
                spec=lambda w: {"image": f"dir:{w.tmp / 'image'}"},
                check=lambda w, o: None if "in-the-image" in o.log else "the job did not run in its image"),
        Attempt("job-token-expires", "echo TOKEN=$AIDC_JOB_TOKEN", check=token_dies_with_job),
    ]

"""The Ray executor: each job part is a detached, named Ray actor in a placement group that runs the command.

Design note. A job of N parts (one per node of its placement) becomes one placement group of N
bundles `{"CPU": cpus_per_part, "GPU": g}` (STRICT_PACK for one part, STRICT_SPREAD for a gang, so
a gang's parts are on distinct nodes and Ray reserves all bundles or none: a gang that cannot fit
stays pending, never half started) and N actors named `aidc-job-<id>-<attempt>-<rank>`, one per
bundle. Actors and placement group are *detached*: they outlive the driver, so a restarted server
finds them again by name (`reattach`). An actor starts the command in its constructor, as
`bash -c` in a new session (a cancel signals the whole process group), with
`CUDA_VISIBLE_DEVICES` from `ray.get_gpu_ids()`, `AIDC_JOB_ID`, `AIDC_NODE_RANK`, `AIDC_NNODES`,
`AIDC_NODES`, `AIDC_MASTER_ADDR`/`AIDC_MASTER_PORT` (rank 0's node and a free port there). Output
goes to `<workdir>/output.log` (rank > 0: `output-rank<N>.log`) and the exit code to
`<workdir>/exit_code` (`exit_code-rank<N>`), so the workdir must be on storage the Ray nodes share
with the server (one host, or a shared filesystem). A small watchdog in the wrapper kills the
process group when the actor's worker process disappears (ray.kill, node failure), so no job
process outlives its actor.

Placement: with `placement="aidc"` each bundle is pinned to the Ray node aidc chose (aidc node
names map to Ray nodes by a custom resource `aidc_node:<name>`, then the Ray node name
(`ray start --node-name`), then the hostname, then the node IP); a chosen node that Ray does not
know alive is left to Ray and the "running" event says where the part went. With
`placement="ray"` Ray places every bundle and the "running" event reports the nodes.

Watching never blocks: each part has two outstanding object refs, `info()` (resolves once the
process started: all parts started -> "running") and `wait()` (resolves with the exit code); `poll`
checks them all with one `ray.wait(timeout=0)`. A part whose actor died (its node failed, it was
killed outside aidc) makes the job "lost", and the other parts are stopped. A non-zero exit of any
part fails the job (the others are stopped); the job succeeds when every part exited 0.
`cancel` sends `stop(grace_s)` to each started actor (SIGTERM the group, SIGKILL after grace) and
returns; a later `poll` kills the actors and removes the placement group once the stops returned.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aidc.core.errors import AidcError
from aidc.executors.base import Capabilities, DiscoveredNode, ExecutorEvent, LaunchRequest
from aidc.executors.ray_part import JobPart
from aidc.executors.ray_support import (
    NODE_RESOURCE_PREFIX, _attempt, _check_options, _connect, _creation_failed, _deadline, _gpu_model, _node_names,
    _part_names, _pg_name, _short, _stop_key,
)

log = logging.getLogger("aidc.executors.ray")

NODE_CHECK_INTERVAL_S = 2.0  # how often pending, pinned jobs check that their nodes are still alive
NODE_CACHE_TTL_S = 1.0
STOP_MARGIN_S = 10.0  # a stop() that has not returned grace_s + this after the cancel is forced (ray.kill)


# -- the executor (runs in the aidc server, a Ray driver) -------------------------------------------
@dataclass
class _Job:
    """What the executor watches of one job."""

    job_id: int
    handle: dict[str, Any]
    actors: list[Any]
    info_refs: dict[int, Any]  # rank -> ref of info(), until it resolved
    wait_refs: dict[int, Any]  # rank -> ref of wait(), until it resolved
    pinned_node_ids: list[str] = field(default_factory=list)
    infos: dict[int, dict[str, Any]] = field(default_factory=dict)
    codes: dict[int, int] = field(default_factory=dict)
    deadline_s: float | None = None
    announce: bool = True  # send a "running" event when all parts started (not after a re-attach)
    announced: bool = False

    def event(self, kind: str, **fields: Any) -> ExecutorEvent:
        """An event of this job, tagged with its attempt (the scheduler drops events of older attempts)."""
        attempt = str(self.handle.get("attempt", ""))
        number = int(attempt) if attempt.isdigit() else None
        return ExecutorEvent(self.job_id, kind, attempt=number, **fields)  # type: ignore[arg-type]


@dataclass
class _Stopping:
    job_id: int
    actors: list[Any]
    stop_refs: list[Any]
    pg_name: str
    force_at_s: float


class RayExecutor:
    """Runs aidc jobs on a Ray cluster (see the module's design note). Options come from AIDC_EXECUTOR_OPTIONS."""

    name = "ray"
    capabilities = Capabilities(multi_node=True, preemption=True, checkpoint_restore=True, fractional_gpus=False)

    def __init__(self, *, address: str = "auto", namespace: str = "aidc", placement: str = "aidc",
                 node_ip_address: str | None = None, cpus_per_part: float = 1.0,
                 connect_timeout_s: float = 10.0) -> None:
        _check_options(address=address, namespace=namespace, placement=placement, cpus_per_part=cpus_per_part,
                       connect_timeout_s=connect_timeout_s)
        self.address, self.namespace, self.placement = address, namespace, placement
        self.cpus_per_part = float(cpus_per_part)
        self._ray = _connect(address, namespace, node_ip_address, connect_timeout_s)
        self._actor_cls = self._ray.remote(JobPart)
        self._lock = threading.Lock()
        self._jobs: dict[int, _Job] = {}
        self._stopping: dict[str, _Stopping] = {}  # by placement group name: one per job attempt
        self._nodes: list[dict[str, Any]] = []
        self._nodes_at_s = 0.0
        self._next_node_check_s = 0.0

    # -- launch -----------------------------------------------------------------------------------
    def launch(self, request: LaunchRequest) -> dict[str, Any]:
        from ray.util.placement_group import placement_group

        if not request.placement:
            raise AidcError(f"job {request.job_id}: empty placement")
        workdir = request.workdir
        workdir.mkdir(parents=True, exist_ok=True)
        for old in workdir.glob("exit_code*"):
            old.unlink(missing_ok=True)
        attempt = str(getattr(request, "attempt", None) or _attempt(workdir))
        names = _part_names(request.job_id, attempt, len(request.placement))
        pg_name = _pg_name(request.job_id, attempt)
        nnodes = len(request.placement)
        bundles, selectors, pinned_node_ids = self._bundles(request)
        strategy = "STRICT_PACK" if nnodes == 1 else "STRICT_SPREAD"
        try:
            pg = placement_group(bundles, strategy=strategy, name=pg_name, lifetime="detached",
                                 **({"bundle_label_selector": selectors} if selectors else {}))
        except Exception as exc:  # noqa: BLE001 (Ray raises a system error for a taken name)
            if "already exists" in str(exc):
                raise AidcError(f"job {request.job_id} attempt {attempt} is already on Ray "
                                f"(placement group {pg_name} exists): not started twice") from None
            raise
        aidc_nodes = ",".join(node for node, _ in request.placement)
        actors: list[Any] = []
        try:
            self._create_parts(request, pg, names, nnodes, aidc_nodes, actors)
        except Exception:  # e.g. an actor of this attempt already exists: undo ours, then report the launch failed
            from ray.util import remove_placement_group

            for actor in actors:
                self._ray.kill(actor, no_restart=True)
            remove_placement_group(pg)  # this group object, not by name: a same-named one may be another's
            raise
        handle = {"engine": "ray", "namespace": self.namespace, "actors": names, "pg": pg_name, "attempt": attempt,
                  "workdir": str(workdir), "log": str(workdir / "output.log"), "started_s": time.time(),
                  "nodes": [node for node, _ in request.placement]}
        job = _Job(request.job_id, handle, actors, {r: a.info.remote() for r, a in enumerate(actors)},
                   {r: a.wait.remote() for r, a in enumerate(actors)}, pinned_node_ids=pinned_node_ids,
                   deadline_s=_deadline(handle["started_s"], request.max_runtime_s))
        with self._lock:
            self._jobs[request.job_id] = job
        return handle

    def _create_parts(self, request: LaunchRequest, pg: Any, names: list[str], nnodes: int, aidc_nodes: str,
                      actors: list[Any]) -> None:
        """One detached actor per part, each in its bundle of the placement group (appended to `actors`)."""
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        workdir = request.workdir
        for rank, (node, gpus) in enumerate(request.placement):
            suffix = "" if rank == 0 else f"-rank{rank}"
            env = {**request.env, "AIDC_JOB_ID": str(request.job_id), "AIDC_JOB_NAME": request.name,
                   "AIDC_NODE_RANK": str(rank), "AIDC_NNODES": str(nnodes), "AIDC_NODES": aidc_nodes,
                   "AIDC_NODE": node}
            spec = {"command": request.command, "workdir": str(workdir), "env": env, "rank": rank,
                    "rank0": names[0], "namespace": self.namespace, "log": str(workdir / f"output{suffix}.log"),
                    "exit_file": str(workdir / f"exit_code{suffix}"), "pid_file": str(workdir / f"pid{suffix}")}
            options: dict[str, Any] = {
                "name": names[rank], "namespace": self.namespace, "lifetime": "detached", "max_restarts": 0,
                "max_concurrency": 4, "num_cpus": self.cpus_per_part, "num_gpus": len(gpus),
                "scheduling_strategy": PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=rank)}
            actors.append(self._actor_cls.options(**options).remote(spec))

    def _bundles(self, request: LaunchRequest) -> tuple[list[dict[str, float]], list[dict[str, str]], list[str]]:
        """One bundle per part; with placement "aidc", a label selector pins each to its Ray node.

        Returns the bundles, their label selectors ([] when none is pinned) and the pinned Ray node ids.
        """
        bundles: list[dict[str, float]] = []
        selectors: list[dict[str, str]] = []
        node_ids: list[str] = []
        by_name = self._node_ids_by_name() if self.placement == "aidc" else {}
        for node, gpus in request.placement:
            bundle = {"CPU": self.cpus_per_part, "GPU": float(len(gpus))}
            bundles.append({k: v for k, v in bundle.items() if v > 0} or {"CPU": 0.01})  # Ray refuses empty bundles
            node_id = by_name.get(node)
            selectors.append({"ray.io/node-id": node_id} if node_id else {})
            if node_id:
                node_ids.append(node_id)
            elif self.placement == "aidc":
                log.warning("job %s: aidc node %s is not a live Ray node; Ray places that part", request.job_id, node)
        return bundles, (selectors if any(selectors) else []), node_ids

    # -- watch ------------------------------------------------------------------------------------
    def poll(self) -> list[ExecutorEvent]:
        try:
            self._escalate()
            return self._poll()
        except Exception:  # noqa: BLE001 (a Ray hiccup must not stop the scheduling loop; retried next poll)
            log.exception("polling Ray failed")
            return []

    def _poll(self) -> list[ExecutorEvent]:
        ray = self._ray
        with self._lock:
            jobs = list(self._jobs.values())
        owner: dict[Any, tuple[_Job, str, int]] = {}
        for job in jobs:
            for rank, ref in job.info_refs.items():
                owner[ref] = (job, "info", rank)
            for rank, ref in job.wait_refs.items():
                owner[ref] = (job, "wait", rank)
        if owner:
            ready, _ = ray.wait(list(owner), num_returns=len(owner), timeout=0, fetch_local=True)
        else:
            ready = []
        outcome: dict[int, ExecutorEvent] = {}
        for ref in ready:
            job, kind, rank = owner[ref]
            event = self._take(job, kind, rank, ref)
            if event is not None and job.job_id not in outcome:
                outcome[job.job_id] = event
        events: list[ExecutorEvent] = []
        now = time.time()
        for job in jobs:
            event = outcome.get(job.job_id) or self._judge(job, now)
            if (event is not None and event.kind == "succeeded" and job.announce and not job.announced
                    and len(job.infos) < len(job.actors) and job.info_refs):
                continue  # "running" (with its nodes) comes first: the parts' infos resolve in a later poll
            if job.announce and not job.announced and len(job.infos) == len(job.actors):  # before its end, if both
                job.announced = True
                nodes = tuple(self._node_name_of(job.infos[rank]) for rank in range(len(job.actors)))
                events.append(job.event("running", reason="all parts started on Ray", nodes=nodes))
            if event is not None:
                events.append(event)
                self._finish(job, stop_others=event.kind != "succeeded")
        events.extend(self._check_pending_nodes(jobs, outcome))
        return events

    def _take(self, job: _Job, kind: str, rank: int, ref: Any) -> ExecutorEvent | None:
        """Fold one resolved ref into the job; an event when it decides the job's end."""
        from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError

        try:
            value = self._ray.get(ref, timeout=0)
        except ActorUnavailableError:  # a transient loss of contact: ask again
            actor = job.actors[rank]
            if kind == "info":
                job.info_refs[rank] = actor.info.remote()
            else:
                job.wait_refs[rank] = actor.wait.remote()
            return None
        except RayActorError as exc:
            job.info_refs.pop(rank, None)
            job.wait_refs.pop(rank, None)
            if _creation_failed(exc):
                return job.event("failed", reason=f"part {rank} could not start: {_short(exc)}")
            return job.event("lost", reason=f"Ray actor of part {rank} died: {_short(exc)}")
        except RayTaskError as exc:
            job.info_refs.pop(rank, None)
            job.wait_refs.pop(rank, None)
            return job.event("failed", reason=f"part {rank}: {_short(exc)}")
        if kind == "info":
            job.info_refs.pop(rank, None)
            job.infos[rank] = value
            return None
        job.wait_refs.pop(rank, None)
        job.codes[rank] = int(value)
        return None

    def _judge(self, job: _Job, now: float) -> ExecutorEvent | None:
        """The job's end from its parts' exit codes, or its max runtime."""
        failed = sorted((rank, code) for rank, code in job.codes.items() if code != 0)
        if failed:
            rank, code = failed[0]
            return job.event("failed", exit_code=code,
                                 reason=f"exit code {code}" + (f" (part {rank})" if len(job.actors) > 1 else ""))
        if len(job.codes) == len(job.actors):
            return job.event("succeeded", exit_code=0)
        if job.deadline_s is not None and now > job.deadline_s:
            return job.event("failed", reason="max_runtime_s exceeded: killed")
        return None

    def _check_pending_nodes(self, jobs: list[_Job], decided: dict[int, ExecutorEvent]) -> list[ExecutorEvent]:
        """A job still waiting for a node aidc pinned it to, when that node died: lost (aidc requeues it)."""
        waiting = [j for j in jobs if j.pinned_node_ids and len(j.infos) < len(j.actors) and j.job_id not in decided
                   and self._jobs.get(j.job_id) is j]
        now = time.monotonic()
        if not waiting or now < self._next_node_check_s:
            return []
        self._next_node_check_s = now + NODE_CHECK_INTERVAL_S
        alive = {n["NodeID"] for n in self._ray_nodes(refresh=True) if n["Alive"]}
        events = []
        for job in waiting:
            dead = [nid for nid in job.pinned_node_ids if nid not in alive]
            if dead:
                events.append(job.event("lost", reason=f"Ray node {dead[0][:12]} died before the job started"))
                self._finish(job, stop_others=True)
        return events

    def _finish(self, job: _Job, *, stop_others: bool) -> None:
        """Forget the job; stop what still runs (a failed or lost gang), then drop actors and placement group."""
        with self._lock:
            if self._jobs.get(job.job_id) is job:
                del self._jobs[job.job_id]
        running = [a for rank, a in enumerate(job.actors) if rank not in job.codes]
        self._begin_stop(job.job_id, job.handle, job.actors, grace_s=5.0 if stop_others else 0.0,
                         started=bool(job.infos) and stop_others and bool(running), ask=running)

    # -- cancel -----------------------------------------------------------------------------------
    def cancel(self, job_id: int, handle: dict[str, Any], *, grace_s: float = 10.0) -> None:
        """Ask each started part to stop (SIGTERM, SIGKILL after grace_s); a later poll removes actors and group."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
            if job is None and _stop_key(job_id, handle) in self._stopping:
                return  # asked already
        if not handle.get("actors") and job is None:
            return
        try:
            actors = job.actors if job is not None else self._find_actors(handle)
            # parts may run once the placement group is reserved: ask them to stop; before that, remove at once
            started = bool(job is not None and job.infos) or self._group_reserved(handle.get("pg", ""))
            self._begin_stop(job_id, handle, actors, grace_s=grace_s, started=started)
        except Exception:  # noqa: BLE001 (cancel never raises into the loop; the group is removed later)
            log.exception("cancelling job %s on Ray failed", job_id)

    def _group_reserved(self, pg_name: str) -> bool:
        """The placement group holds its resources (its actors may be running), or its state is unknown."""
        from ray.util import get_placement_group, placement_group_table

        try:
            return placement_group_table(get_placement_group(pg_name)).get("state") != "PENDING"
        except Exception:  # noqa: BLE001 (no such group: nothing reserved)
            return False

    def _begin_stop(self, job_id: int, handle: dict[str, Any], actors: list[Any], *, grace_s: float,
                    started: bool, ask: list[Any] | None = None) -> None:
        """Ask the parts (`ask`, default all) to stop; remove actors and group when they did (or at once)."""
        asked = (actors if ask is None else ask) if started and grace_s > 0 else []
        stop_refs = [a.stop.remote(grace_s) for a in asked]
        entry = _Stopping(job_id, actors, stop_refs, handle.get("pg", ""), time.monotonic() + grace_s + STOP_MARGIN_S)
        key = _stop_key(job_id, handle)
        with self._lock:
            self._stopping[key] = entry
        if not stop_refs:
            self._release(key)

    def _escalate(self) -> None:
        """Remove actors and placement groups of stops that returned or ran past their deadline."""
        with self._lock:
            stopping = list(self._stopping.items())
        now = time.monotonic()
        for key, entry in stopping:
            ready = self._ray.wait(entry.stop_refs, num_returns=len(entry.stop_refs), timeout=0)[0] \
                if entry.stop_refs else []
            if len(ready) == len(entry.stop_refs) or now >= entry.force_at_s:
                self._release(key)

    def _release(self, key: str) -> None:
        from ray.util import get_placement_group, remove_placement_group

        with self._lock:
            entry = self._stopping.pop(key, None)
        if entry is None:
            return
        for actor in entry.actors:
            try:
                self._ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 (already gone)
                pass
        if entry.pg_name:
            try:
                remove_placement_group(get_placement_group(entry.pg_name))
            except Exception:  # noqa: BLE001 (already removed)
                pass

    def stopping(self) -> int:
        """Jobs asked to stop whose actors are not removed yet."""
        self._escalate()
        with self._lock:
            return len(self._stopping)

    def finish_stops(self, timeout_s: float = 10.0) -> None:
        """Before the server exits: let stops finish, then remove what is left (running jobs stay running)."""
        deadline = time.monotonic() + timeout_s
        while self.stopping() and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            left = list(self._stopping)
        for key in left:
            self._release(key)

    # -- restart ----------------------------------------------------------------------------------
    def reattach(self, job_id: int, handle: dict[str, Any], max_runtime_s: float | None = None) -> bool:
        """Find the job's detached actors by name (from the handle, or derived from its workdir)."""
        handle = dict(handle)
        if not handle.get("actors") and handle.get("workdir"):  # launched, but the handle was never saved
            handle = {**handle, **self._handle_from_workdir(job_id, Path(handle["workdir"]))}
        if not handle.get("actors"):
            return False
        try:
            actors = self._find_actors(handle, strict=True)
        except LookupError:
            self._cleanup_leftovers(job_id, handle)
            return False
        job = _Job(job_id, handle, actors, {r: a.info.remote() for r, a in enumerate(actors)},
                   {r: a.wait.remote() for r, a in enumerate(actors)}, announce=False,
                   deadline_s=_deadline(handle.get("started_s", time.time()), max_runtime_s))
        with self._lock:
            self._jobs[job_id] = job
        return True

    def _handle_from_workdir(self, job_id: int, workdir: Path) -> dict[str, Any]:
        names = []
        attempt = _attempt(workdir)
        for rank in range(10_000):
            name = _part_names(job_id, attempt, rank + 1)[rank]
            try:
                self._ray.get_actor(name, namespace=self.namespace)
            except ValueError:
                break
            names.append(name)
        if not names:
            return {}
        return {"actors": names, "pg": _pg_name(job_id, attempt), "namespace": self.namespace, "attempt": attempt,
                "log": str(workdir / "output.log"), "started_s": time.time()}

    def _find_actors(self, handle: dict[str, Any], strict: bool = False) -> list[Any]:
        namespace = handle.get("namespace", self.namespace)
        found = []
        for name in handle.get("actors", []):
            try:
                found.append(self._ray.get_actor(name, namespace=namespace))
            except ValueError:
                if strict:
                    raise LookupError(name) from None
        return found

    def _cleanup_leftovers(self, job_id: int, handle: dict[str, Any]) -> None:
        """A job that cannot be re-attached (a part is gone): remove its other parts and its placement group."""
        actors = self._find_actors(handle)
        self._begin_stop(job_id, handle, actors, grace_s=5.0, started=bool(actors))

    def log_path(self, handle: dict[str, Any]) -> Path | None:
        return Path(handle["log"]) if handle.get("log") else None

    def watched(self) -> list[int]:
        with self._lock:
            return list(self._jobs)

    # -- nodes ------------------------------------------------------------------------------------
    def discover(self) -> list[DiscoveredNode]:
        """Ray's nodes (the newest record per name) with GPUs, CPUs and memory from their resources."""
        records = self._ray_nodes(refresh=True)
        names = _node_names(records)
        newest: dict[str, dict[str, Any]] = {}
        for rec in records:
            name = names[rec["NodeID"]]
            if name not in newest or (rec["Alive"] and not newest[name]["Alive"]):
                newest[name] = rec
        out = []
        for name, rec in sorted(newest.items()):
            res = rec.get("Resources", {})
            labels = rec.get("Labels") or {}
            out.append(DiscoveredNode(name=name, gpus=int(res.get("GPU", 0)), cpu_cores=int(res.get("CPU", 0)),
                                      ram_gib=round(float(res.get("memory", 0)) / 2**30, 2), gpu_model=_gpu_model(res),
                                      partition=str(labels.get("ray.io/node-group", "")),
                                      state="active" if rec["Alive"] else "down"))
        return out

    def _ray_nodes(self, refresh: bool = False) -> list[dict[str, Any]]:
        now = time.monotonic()
        if refresh or not self._nodes or now - self._nodes_at_s > NODE_CACHE_TTL_S:
            self._nodes = list(self._ray.nodes())
            self._nodes_at_s = now
        return self._nodes

    def _node_ids_by_name(self) -> dict[str, str]:
        """aidc node name -> live Ray node id, by custom resource, Ray node name, hostname and IP."""
        alive = [n for n in self._ray_nodes() if n["Alive"]]
        out: dict[str, str] = {}
        hostnames = [n.get("NodeManagerHostname", "") for n in alive]
        for key in ("ip", "hostname", "node_name", "resource"):  # later keys win
            for rec in alive:
                if key == "ip":
                    out[rec["NodeManagerAddress"]] = rec["NodeID"]
                elif key == "hostname" and hostnames.count(rec.get("NodeManagerHostname", "")) == 1:
                    out[rec["NodeManagerHostname"]] = rec["NodeID"]
                elif key == "node_name" and rec.get("NodeName"):
                    out[rec["NodeName"]] = rec["NodeID"]
                elif key == "resource":
                    for res in rec.get("Resources", {}):
                        if res.startswith(NODE_RESOURCE_PREFIX):
                            out[res[len(NODE_RESOURCE_PREFIX):]] = rec["NodeID"]
        return out

    def _node_name_of(self, info: dict[str, Any]) -> str:
        names = _node_names(self._ray_nodes())
        if info.get("node_id") not in names:
            names = _node_names(self._ray_nodes(refresh=True))
        return names.get(info.get("node_id", ""), info.get("node_ip", "?"))

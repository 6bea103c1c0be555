"""ETAs from the digital twin on hand-made snapshots whose answers can be worked out on paper."""

from __future__ import annotations

from aidc.scheduling import ClusterSnapshot, NodeState, PendingJob, RunningJob
from aidc.server.services.eta import DEFAULT_RUNTIME_S, estimate_starts


def test_fifo_queue_behind_a_running_job() -> None:
    # one 4-GPU node; job 5 runs since t=950 with 100 s left at its start -> ends 1050
    snap = ClusterSnapshot(
        now_s=1000.0, nodes=(NodeState("n1", 4, 0),),
        pending=(PendingJob(7, 4, 990.0, duration_estimate_s=100, remaining_estimate_s=100),
                 PendingJob(8, 2, 995.0, remaining_estimate_s=50)),
        running=(RunningJob(5, 4, 900.0, 950.0, (("n1", 4),), remaining_at_start_s=100),))
    assert estimate_starts(snap, policy="fifo", placement="consolidate") == {7: 1050.0, 8: 1150.0}


def test_unknown_durations_use_the_default_or_the_limit() -> None:
    snap = ClusterSnapshot(now_s=0.0, nodes=(NodeState("n1", 1, 1),),
                           pending=(PendingJob(1, 1, 0.0), PendingJob(2, 1, 0.0), PendingJob(3, 1, 0.0)))
    etas = estimate_starts(snap, policy="fifo", placement="consolidate", max_runtime_s={2: 60.0})
    assert etas == {1: 0.0, 2: DEFAULT_RUNTIME_S, 3: DEFAULT_RUNTIME_S + 60.0}


def test_a_job_too_big_for_the_site_gets_no_eta() -> None:
    snap = ClusterSnapshot(now_s=0.0, nodes=(NodeState("n1", 2, 2),), pending=(PendingJob(1, 8, 0.0, remaining_estimate_s=5),))
    assert estimate_starts(snap, policy="fifo", placement="consolidate") == {}


def test_snapshot_carries_the_run_times_of_similar_finished_jobs(local_api) -> None:  # noqa: ANN001
    """History-based policies (gittins) learn from this cluster's own finished jobs: same tenant and size."""
    from aidc.server.services import snapshot

    ids = [local_api.submit({"name": f"h{i}", "command": "sleep 0.3", "gpus": 2}).json()["id"] for i in range(2)]
    for job_id in ids:
        local_api.wait_status(job_id, {"succeeded"})
    snapshot._history.clear()
    pending = local_api.submit({"name": "next", "command": "sleep 5", "gpus": 2, "max_runtime_s": 1}).json()["id"]
    app = local_api.client.app
    for _ in range(50):  # the live scheduler loop may start the job between build's two reads: read again
        with app.state.sessions() as session:
            snap, _, _ = snapshot.build(session, now_s=0.0)
        seen = [j for j in (*snap.pending, *snap.running) if j.job_id == pending]
        if seen:
            break
    job = seen[0]
    assert len(job.runtime_samples_s) == 2 and all(0.25 < s < 5 for s in job.runtime_samples_s)

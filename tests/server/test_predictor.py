"""The live run-time predictor: trained on the control plane's own finished jobs, served and applied."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from aidc.server.models import JobModel, TenantModel, UserModel
from aidc.server.services import snapshot
from aidc.sim.synthetic import synthetic_history
from tests.server.conftest import LOCAL, make_api


def _fill_history(app, n: int) -> None:  # noqa: ANN001
    """n finished jobs whose run times depend on their name and command (aidc.sim.synthetic)."""
    with app.state.sessions() as session:
        tenant = session.scalars(select(TenantModel)).first()
        user = session.scalars(select(UserModel)).first()
        for k, r in enumerate(synthetic_history(n, users=4, seed=5)):
            spec = {"name": r.name, "command": r.command, "gpus": 4, "estimated_runtime_s": r.requested_s}
            session.add(JobModel(name=r.name, tenant_id=tenant.id, user_id=user.id, kind="custom", spec=spec, gpus=4,
                                 status="succeeded", submitted_s=r.submit_s, queued_s=r.submit_s, started_s=r.submit_s,
                                 finished_s=r.submit_s + r.runtime_s, reason="exit code 0"))
        session.commit()


def test_predictor_learns_from_finished_jobs_and_feeds_the_snapshot(tmp_path: Path) -> None:
    gen = make_api(tmp_path, f"sqlite:///{tmp_path / 'aidc.db'}", LOCAL, policy="srtf")
    api = next(gen)
    try:
        app = api.client.app
        assert api.call("GET", "/api/v1/predictor").json()["ready"] is False
        _fill_history(app, 400)
        with app.state.sessions() as session:
            app.state.predictor.maybe_refit(session, now_s=1e12, wait=True)
        status = api.call("GET", "/api/v1/predictor").json()
        assert status["enabled"] and status["ready"], status
        acc = status["accuracy"]
        assert acc["jobs"] == 400 and acc["scored"] == 100
        assert acc["median_abs_error_s"] < acc["baseline_median_abs_error_s"]
        # a new run of the longest kind waits behind a job holding every GPU: it is predicted long, not unknown
        history = synthetic_history(400, users=4, seed=5)
        by_name: dict[str, list[float]] = {}
        for r in history:
            by_name.setdefault(r.name, []).append(r.runtime_s)
        typical = {n: sorted(v)[len(v) // 2] for n, v in by_name.items()}
        long = next(r for r in reversed(history) if r.name == max(typical, key=typical.get))
        blocker = api.submit({"name": "blocker", "command": "sleep 30", "gpus": 4}).json()["id"]
        api.wait_status(blocker, {"running"})
        job_id = api.submit({"name": long.name, "command": long.command, "gpus": 4,  # the same job file again
                             **({"estimated_runtime_s": long.requested_s} if long.requested_s else {})}).json()["id"]
        with app.state.sessions() as session:
            snap, _, _ = snapshot.build(session, now_s=0.0)
            snap = app.state.predictor.apply(session, snap)
        seen = next(p for p in snap.pending if p.job_id == job_id)
        assert typical[long.name] / 3 < seen.duration_estimate_s < 3 * typical[long.name], (seen, typical[long.name])
        assert seen.runtime_samples_s and seen.remaining_estimate_s == seen.duration_estimate_s
        assert api.call("GET", "/api/v1/predictor", token="nope").status_code == 401
    finally:
        next(gen, None)


def test_predictor_can_be_switched_off(tmp_path: Path) -> None:
    gen = make_api(tmp_path, f"sqlite:///{tmp_path / 'aidc.db'}", LOCAL, runtime_predictor=False)
    api = next(gen)
    try:
        assert api.call("GET", "/api/v1/predictor").json() == {"enabled": False}
    finally:
        next(gen, None)

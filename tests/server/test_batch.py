"""Group commit of submissions: batches, per-submission failure, and refusal once stopping."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from aidc.server.db import create_schema, make_engine, make_session_factory
from aidc.server.errors import Unavailable
from aidc.server.models import EventModel, JobModel, TenantModel, UserModel
from aidc.server.services.batch import SubmitBatcher


def _job(name: str, tenant_id: int = 1) -> JobModel:
    now = time.time()
    return JobModel(name=name, tenant_id=tenant_id, user_id=1, kind="custom", spec={"command": "true"}, gpus=1,
                    status="pending", reason="", submitted_s=now, queued_s=now)


@pytest.fixture
def sessions(tmp_path: Path):  # noqa: ANN201
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    create_schema(engine)
    factory = make_session_factory(engine)
    with factory() as s:
        s.add_all([TenantModel(id=1, name="t", gpu_quota={}, created_s=0.0), UserModel(id=1, name="u", role="admin", created_s=0.0)])
        s.commit()
    yield factory
    engine.dispose()


def test_concurrent_submissions_share_batches_and_each_gets_its_ids(sessions) -> None:  # noqa: ANN001
    batcher = SubmitBatcher(sessions)
    got: list[int] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        rows = batcher.submit([_job(f"j{i}")], actor="u", reasons=["submitted"])
        with lock:
            got.append(rows[0].id)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    batcher.stop()
    assert sorted(got) == list(range(1, 65))
    assert batcher.batches < 64  # some submissions shared a transaction
    with sessions() as s:
        assert s.query(JobModel).count() == 64 and s.query(EventModel).filter_by(entity="job").count() == 64


def test_a_bad_submission_fails_alone(sessions) -> None:  # noqa: ANN001
    batcher = SubmitBatcher(sessions)
    bad = _job("bad", tenant_id=99)  # no such tenant: the foreign key refuses it
    results: dict[str, object] = {}

    def submit(name: str, rows: list[JobModel]) -> None:
        try:
            results[name] = batcher.submit(rows, actor="u", reasons=["submitted"] * len(rows))
        except Exception as exc:  # noqa: BLE001
            results[name] = exc

    threads = [threading.Thread(target=submit, args=(f"ok{i}", [_job(f"ok{i}")])) for i in range(8)]
    threads.insert(4, threading.Thread(target=submit, args=("bad", [bad])))
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    batcher.stop()
    assert isinstance(results["bad"], Exception)
    assert all(isinstance(results[f"ok{i}"], list) for i in range(8))
    with sessions() as s:
        assert sorted(j.name for j in s.query(JobModel)) == sorted(f"ok{i}" for i in range(8))


def test_after_stop_a_submission_is_refused_not_lost(sessions) -> None:  # noqa: ANN001
    batcher = SubmitBatcher(sessions)
    batcher.stop()
    with pytest.raises(Unavailable, match="stopping"):
        batcher.submit([_job("late")], actor="u", reasons=["submitted"])

"""Health rules as pure functions of one heartbeat's GPU telemetry."""

from __future__ import annotations

from aidc.server.services.health import HealthRules, telemetry_findings

RULES = HealthRules(max_gpu_temp_c=90, hot_samples=3)


def gpu(i: int, **kw) -> dict:  # noqa: ANN003
    return {"index": i, "temp_c": 50, "xids": [], "ecc_uncorrected": 0, **kw}


def test_critical_xids_drain_and_harmless_ones_do_not() -> None:
    found, _ = telemetry_findings([gpu(0, xids=[13]), gpu(1, xids=[31, 79])], 0, RULES)
    assert [(f.rule, f.reason) for f in found] == [("xid", "GPU 1: XID 79")]


def test_uncorrected_ecc() -> None:
    found, _ = telemetry_findings([gpu(3, ecc_uncorrected=2)], 0, RULES)
    assert [(f.rule, f.reason) for f in found] == [("ecc", "GPU 3: 2 uncorrected ECC errors")]


def test_heat_needs_several_heartbeats_in_a_row() -> None:
    streak = 0
    for expected in ([], [], ["temperature"]):
        found, streak = telemetry_findings([gpu(0), gpu(1, temp_c=93)], streak, RULES)
        assert [f.rule for f in found] == expected
    assert "GPU 1 at 93 C for 3 heartbeats (limit 90 C)" in found[0].reason
    _, streak = telemetry_findings([gpu(0)], streak, RULES)
    assert streak == 0  # one cool heartbeat resets it


def test_a_node_the_engine_reports_down_goes_down_and_comes_back_with_it(tmp_path) -> None:  # noqa: ANN001
    from aidc.server.models import NodeModel, RepairModel
    from tests.server.conftest import make_api
    from tests.specs import named_nodes_yaml

    gen = make_api(tmp_path, f"sqlite:///{tmp_path / 'e.db'}", named_nodes_yaml("engine-dc", ["e1", "e2"]))
    api = next(gen)
    try:
        app = api.client.app
        with app.state.sessions() as session:
            changed = app.state.monitor.on_engine_states(session, {"e1": "down", "e2": "active"}, "slurm")
            session.commit()
            assert changed == ["e1"]
            node = session.query(NodeModel).filter_by(name="e1").one()
            assert (node.status, node.status_reason) == ("down", "engine: slurm reports the node down")
            assert app.state.monitor.on_engine_states(session, {"e1": "down"}, "slurm") == []  # no second repair
            assert app.state.monitor.on_engine_states(session, {"e1": "active"}, "slurm") == ["e1"]
            session.commit()
            (repair,) = session.query(RepairModel).all()
            assert (node.status, repair.rule, repair.status) == ("active", "engine", "passed")
    finally:
        gen.close()

"""What the agent measures and injects: virtual GPUs, host stats, fault drills."""

from __future__ import annotations

import json
from pathlib import Path

from aidc.agent.telemetry import Drills, HostProbe, VirtualProbe, machine_facts, probe_gpus


def test_virtual_gpus_read_busy_when_a_job_holds_them() -> None:
    probe = probe_gpus(4, "VGPU")
    assert isinstance(probe, VirtualProbe) and probe.count == 4
    gpus = probe.sample({1, 2})
    assert [g["util_pct"] for g in gpus] == [0, 100, 100, 0]
    assert gpus[1]["power_w"] > gpus[0]["power_w"] and gpus[1]["temp_c"] > gpus[0]["temp_c"]


def test_host_probe_and_facts(tmp_path: Path) -> None:
    host = HostProbe(tmp_path)
    host.sample()
    second = host.sample()
    assert 0.0 <= second["cpu_pct"] <= 100.0 and 0 < second["mem_used_gib"] < second["mem_total_gib"]
    facts = machine_facts(tmp_path)
    assert facts["cpu_cores"] >= 1 and facts["ram_gib"] > 0 and facts["disks"][0]["total_gib"] > 0


def test_drills_inject_once_and_are_consumed(tmp_path: Path) -> None:
    path = tmp_path / "drill.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in [
        {"gpu": 2, "xid": 79}, {"gpu": 0, "temp_c": 95, "heartbeats": 2}, {"gpu": 1, "ecc_uncorrected": 3},
        {"check": "fail"}, {"pause_heartbeats_s": 4}]))
    drills = Drills(path)
    drills.read()
    assert not path.exists()  # consumed: a restarted agent does not replay it
    probe = VirtualProbe(4)
    first = drills.apply(probe.sample(set()))
    assert first[2]["xids"] == [79] and first[0]["temp_c"] == 95 and first[1]["ecc_uncorrected"] == 3
    second = drills.apply(probe.sample(set()))
    assert second[2]["xids"] == [] and second[0]["temp_c"] == 95 and second[1]["ecc_uncorrected"] == 3
    third = drills.apply(probe.sample(set()))
    assert third[0]["temp_c"] == 30.0  # heat lasted its two heartbeats
    assert drills.pause_s == 4 and drills.take_check_failure() and not drills.take_check_failure()


def test_without_a_gpu_driver_the_agent_reports_no_gpus_instead_of_failing() -> None:
    import pytest

    from aidc.agent.telemetry import NvmlProbe

    try:
        NvmlProbe()
    except Exception:  # noqa: BLE001 (no driver here: the probe refuses, and probe_gpus falls back)
        probe = probe_gpus(None, None)
        assert isinstance(probe, VirtualProbe) and probe.count == 0 and probe.sample(set()) == []
    else:
        pytest.skip("this machine has NVIDIA GPUs")

"""Session fixtures for executor tests: one real loopback Slurm, started once, stopped by PID at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.executors.slurm_cluster import SlurmCluster, slurm_missing


@pytest.fixture(scope="session")
def slurm() -> Iterator[SlurmCluster]:
    why = slurm_missing()
    if why:
        pytest.skip(why)
    cluster = SlurmCluster(nodes=4).start()
    try:
        yield cluster
    finally:
        cluster.stop()

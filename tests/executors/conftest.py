"""Fixtures for executor tests: one real loopback Slurm per session, stopped by PID at the end, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.executors.slurm_cluster import SlurmCluster, slurm_missing


@pytest.fixture(scope="session")
def slurm_session() -> Iterator[SlurmCluster]:
    why = slurm_missing()
    if why:
        pytest.skip(why)
    cluster = SlurmCluster(nodes=4).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def slurm(slurm_session: SlurmCluster) -> SlurmCluster:
    """The session's cluster with no job left from an earlier test and every node idle."""
    slurm_session.reset()
    return slurm_session

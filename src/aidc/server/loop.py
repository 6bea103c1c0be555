"""The background scheduling loop: runs `Scheduler.cycle` on one thread, woken early by submissions."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from aidc.server.metrics import Metrics
from aidc.server.services.scheduler import Scheduler

log = logging.getLogger("aidc.loop")


class SchedulingLoop:
    def __init__(self, scheduler: Scheduler, sessions: sessionmaker[Session], interval_s: float, metrics: Metrics) -> None:
        self.scheduler = scheduler
        self.sessions = sessions
        self.interval_s = interval_s
        self.metrics = metrics
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0

    def start(self) -> None:
        with self.sessions() as session:
            counts = self.scheduler.recover(session)
        log.info("recovered jobs after start: %s", counts)
        self._thread = threading.Thread(target=self._run, name="aidc-scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something changed (a submit, cancel, node action): decide in the next cycle, soon."""
        self.scheduler.mark_dirty()
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def run_once(self) -> None:
        with self.sessions() as session:
            stats = self.scheduler.cycle(session)
        self.metrics.cycle_s.observe(stats.duration_s)
        self.cycles += 1
        for err in stats.errors:
            log.warning(err)
        if stats.started or stats.preempted or stats.finished:
            log.info("cycle", extra={"started": stats.started, "preempted": stats.preempted, "finished": stats.finished,
                                     "pending": stats.pending, "cycle_s": round(stats.duration_s, 4)})

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 (the loop must survive a bad cycle; it is logged)
                log.exception("scheduling cycle failed")
                time.sleep(self.interval_s)
            self._wake.wait(self.interval_s)
            self._wake.clear()

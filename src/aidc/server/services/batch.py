"""Group commit for submissions: one writer thread inserts queued jobs in batches, one transaction each.

Design note. With one transaction per request, concurrent submitters queue on SQLite's write lock,
and SQLite's busy handler waits by sleeping (1, 2, 5 ... 100 ms), which is where the long tail of
submit latency came from. Here a request validates on its own thread (reads only), hands its rows
to the writer and waits; the writer takes everything queued (up to `max_batch`), inserts it with its
events in one transaction and wakes each waiter with its rows. A batch that fails is retried one
submission at a time, so one bad submission fails alone and every submission stays all-or-nothing.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from aidc.server.errors import Unavailable
from aidc.server.models import JobModel
from aidc.server.services.jobs import add_submitted

@dataclass
class Queued:
    """One submission waiting for the writer, and the future its request waits on."""

    rows: list[JobModel]
    actor: str
    reasons: list[str]
    done: Future = field(default_factory=Future)


class SubmitBatcher:
    def __init__(self, sessions: sessionmaker[Session], max_batch: int = 256) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._queue: queue.Queue[Queued | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="aidc-submit-writer", daemon=True)
        self._thread.start()
        self.batches = 0
        self._stopping = False

    def submit(self, rows: list[JobModel], *, actor: str, reasons: list[str], timeout_s: float = 60.0) -> list[JobModel]:
        """Insert these jobs (and a 'submitted' event each) in the next batch; returns them with ids."""
        item = self._enqueue(Queued(rows, actor, reasons))
        return item.done.result(timeout=timeout_s)

    async def submit_async(self, rows: list[JobModel], *, actor: str, reasons: list[str],
                           timeout_s: float = 60.0) -> list[JobModel]:
        """As `submit`, awaited on the event loop: no request thread waits for the batch."""
        import asyncio

        item = self._enqueue(Queued(rows, actor, reasons))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(item.done), timeout_s)
        except TimeoutError:
            raise Unavailable(f"the database did not take the submission within {timeout_s:g} s; "
                              "it was not accepted, submit again") from None

    def _enqueue(self, item: Queued) -> Queued:
        if not self._thread.is_alive() or self._stopping:
            raise Unavailable("the server is stopping: submission not accepted, submit again")
        self._queue.put(item)
        return item

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then end the writer; later submissions get 503."""
        self._stopping = True
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._write(batch)
                    return
                batch.append(nxt)
            self._write(batch)

    def _write(self, batch: list[Queued]) -> None:
        try:
            self._insert(batch)
            return
        except Exception as exc:  # noqa: BLE001 (handed to the submitter; with several, find the culprit)
            if len(batch) == 1:
                batch[0].done.set_exception(exc)
                return
        for item in batch:
            try:
                self._insert([item])
            except Exception as exc:  # noqa: BLE001
                item.done.set_exception(exc)

    def _insert(self, batch: list[Queued]) -> None:
        with self.sessions() as session:
            for item in batch:
                for row in item.rows:
                    row.id = None  # a retry after a rolled-back batch asks for fresh ids
            add_submitted(session, [(item.rows, item.reasons, item.actor) for item in batch])
            session.commit()
        self.batches += 1
        for item in batch:
            item.done.set_result(item.rows)

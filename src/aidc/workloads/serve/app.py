"""The FastAPI app: /v1/models, /v1/completions, /v1/chat/completions (streaming as server-sent events).

Routes are thin: they turn a body into token ids and sampling parameters, submit them to the
batcher, and shape the result (or the token stream) as the OpenAI API does.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, AsyncIterator, Callable

from aidc.workloads.generate.sampling import SamplingParams
from aidc.workloads.serve.api import ChatRequest, CompletionRequest, chat_body, completion_body, new_id, usage
from aidc.workloads.serve.batcher import DynamicBatcher

DEFAULT_MAX_TOKENS = 64


def _params(body, max_tokens: int | None) -> SamplingParams:
    return SamplingParams(max_new_tokens=max_tokens or DEFAULT_MAX_TOKENS, temperature=body.temperature,
                          top_k=body.top_k, top_p=body.top_p)


def _cut_at_stop(text: str, stop: str | list[str] | None) -> tuple[str, bool]:
    stops = [stop] if isinstance(stop, str) else (stop or [])
    cuts = [text.find(s) for s in stops if s and s in text]
    return (text[:min(cuts)], True) if cuts else (text, False)


class TextStream:
    """Incremental detokenisation: the new text after each token, holding back incomplete characters."""

    def __init__(self, decode: Callable[[list[int]], str]) -> None:
        self.decode, self.ids, self.sent = decode, [], ""

    def push(self, token: int) -> str:
        self.ids.append(token)
        text = self.decode(self.ids)
        if text.endswith("\ufffd"):
            return ""
        delta, self.sent = text[len(self.sent):], text
        return delta


def create_app(backend, batcher: DynamicBatcher):
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    app = FastAPI(title="aidc serve", version="1")
    model_name = backend.name

    async def run(prompt: list[int], params: SamplingParams) -> Any:
        return await asyncio.wrap_future(batcher.submit(prompt, params))

    async def stream_tokens(prompt: list[int], params: SamplingParams) -> AsyncIterator[tuple[str, str | None]]:
        """(text delta, finish reason or None) pairs as tokens arrive from the worker thread."""
        loop, q = asyncio.get_running_loop(), asyncio.Queue()
        future = batcher.submit(prompt, params, on_token=lambda t: loop.call_soon_threadsafe(q.put_nowait, t))
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(q.put_nowait, None))
        text = TextStream(backend.decode)
        while (token := await q.get()) is not None:
            if delta := text.push(token):
                yield delta, None
        exc = future.exception()
        yield "", ("error" if exc else future.result().finish_reason)

    def sse(events: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
        async def body() -> AsyncIterator[str]:
            async for event in events:
                yield f"data: {json.dumps(event)}\n\n"
            yield "data: [DONE]\n\n"
        return StreamingResponse(body(), media_type="text/event-stream")

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_name, "object": "model", "created": int(time.time()), "owned_by": "aidc"}]}

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": model_name, "batches": len(batcher.batch_sizes)}

    @app.post("/v1/completions")
    async def completions(req: CompletionRequest):
        prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
        params, rid = _params(req, req.max_tokens), new_id("cmpl")
        if req.stream:
            async def events() -> AsyncIterator[dict[str, Any]]:
                async for delta, reason in stream_tokens(backend.encode(prompts[0]), params):
                    yield completion_body(rid, model_name, [{"index": 0, "text": delta, "logprobs": None, "finish_reason": reason}], None)
            return sse(events())
        ids = [backend.encode(p) for p in prompts]
        results = await asyncio.gather(*(run(p, params) for p in ids))
        choices = []
        for i, g in enumerate(results):
            text, stopped = _cut_at_stop(backend.decode(g.tokens), req.stop)
            choices.append({"index": i, "text": text, "logprobs": None, "finish_reason": "stop" if stopped else g.finish_reason})
        return completion_body(rid, model_name, choices, usage(sum(map(len, ids)), sum(len(g.tokens) for g in results)))

    @app.post("/v1/chat/completions")
    async def chat(req: ChatRequest):
        prompt = backend.encode_chat([m.model_dump() for m in req.messages])
        params, rid = _params(req, req.max_completion_tokens or req.max_tokens), new_id("chatcmpl")
        if req.stream:
            async def events() -> AsyncIterator[dict[str, Any]]:
                yield chat_body(rid, model_name, [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}], None, chunk=True)
                async for delta, reason in stream_tokens(prompt, params):
                    yield chat_body(rid, model_name, [{"index": 0, "delta": {"content": delta} if delta else {}, "finish_reason": reason}], None, chunk=True)
            return sse(events())
        g = await run(prompt, params)
        text, stopped = _cut_at_stop(backend.decode(g.tokens), req.stop)
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop" if stopped else g.finish_reason}
        return chat_body(rid, model_name, [choice], usage(len(prompt), len(g.tokens)))

    return app


def serve(spec: str, *, host: str = "127.0.0.1", port: int = 8000, max_batch_size: int = 16,
          max_wait_ms: float = 10.0, name: str | None = None, log_level: str = "info") -> None:
    """Load the model, start the batcher and run uvicorn until interrupted."""
    import uvicorn

    from aidc.workloads.serve.backends import load_backend

    backend = load_backend(spec, name)
    batcher = DynamicBatcher(backend, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms)
    try:
        uvicorn.run(create_app(backend, batcher), host=host, port=port, log_level=log_level)
    finally:
        batcher.close()

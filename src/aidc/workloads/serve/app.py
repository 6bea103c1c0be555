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
from aidc.workloads.serve.api import (ApiError, ChatRequest, CompletionRequest, EmbeddingRequest, chat_body,
                                      completion_body, new_id, usage)
from aidc.workloads.serve.batcher import DynamicBatcher

DEFAULT_MAX_TOKENS = 64


def _params(body, max_tokens: int | None, choice: int = 0) -> SamplingParams:
    """Sampling of one choice; with a seed, choice i samples from seed + i (n choices differ, and repeat)."""
    seed = None if body.seed is None else body.seed + choice
    return SamplingParams(max_new_tokens=max_tokens or DEFAULT_MAX_TOKENS, temperature=body.temperature,
                          top_k=body.top_k, top_p=body.top_p, seed=seed, logprobs=body.logprobs_k,
                          ignore_eos=body.ignore_eos)


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

    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    app = FastAPI(title="aidc serve", version="1")
    model_name = backend.name

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {}
        param = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        message = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
                            for e in errs)[:2000]
        return JSONResponse(ApiError(400, message, param=param).body(), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return JSONResponse(ApiError(exc.status_code, str(exc.detail), kind=kind).body(), status_code=exc.status_code)

    def check_model(name: str) -> None:
        if name and name != model_name:
            raise ApiError(404, f"The model {name[:100]!r} does not exist (this server serves {model_name!r})",
                           param="model", code="model_not_found")

    embeds = getattr(backend, "serves", "") == "embeddings"

    def generates() -> None:
        if embeds:
            raise ApiError(400, f"model {model_name!r} serves embeddings only: use /v1/embeddings", param="model")

    def one_stream(req) -> None:  # noqa: ANN001
        if req.n != 1:
            raise ApiError(400, "n > 1 with stream: true is not supported by this server", param="n",
                           code="unsupported_parameter")
        if req.logprobs_k is not None:
            raise ApiError(400, "logprobs with stream: true is not supported by this server", param="logprobs",
                           code="unsupported_parameter")

    def kept(g, text: str) -> list:  # noqa: ANN001 (a Generation)
        """The logprobs of the tokens whose text is inside `text` (a stop string may have cut the rest)."""
        if g.logprobs is None:
            raise ApiError(400, f"logprobs are not available for model {model_name!r}", param="logprobs")
        out, seen = [], ""
        for token, lp in zip(g.tokens, g.logprobs):
            if len(seen) >= len(text) and text:
                break
            piece = backend.decode([token])
            out.append((token, piece, lp, len(seen)))
            seen += piece
        return out

    def chat_logprobs(g, text: str) -> dict[str, Any]:  # noqa: ANN001
        def entry(token_text: str, lp: float) -> dict[str, Any]:
            return {"token": token_text, "logprob": lp, "bytes": list(token_text.encode())}
        content = [{**entry(piece, lp), "top_logprobs": [entry(backend.decode([t]), v) for t, v in alts]}
                   for _, piece, (lp, alts), _ in kept(g, text)]
        return {"content": content, "refusal": None}

    def completion_logprobs(g, text: str) -> dict[str, Any]:  # noqa: ANN001
        rows = kept(g, text)
        return {"tokens": [piece for _, piece, _, _ in rows], "token_logprobs": [lp for _, _, (lp, _), _ in rows],
                "top_logprobs": [{backend.decode([t]): v for t, v in alts} for _, _, (_, alts), _ in rows],
                "text_offset": [offset for *_, offset in rows]}

    async def run(prompt: list[int], params: SamplingParams) -> Any:
        return await asyncio.wrap_future(batcher.submit(prompt, params))

    async def stream_tokens(prompt: list[int], params: SamplingParams,
                            counted: list[int] | None = None) -> AsyncIterator[tuple[str, str | None]]:
        """(text delta, finish reason or None) pairs as tokens arrive from the worker thread; the number
        of tokens generated is appended to `counted` before the last pair."""
        loop, q = asyncio.get_running_loop(), asyncio.Queue()
        future = batcher.submit(prompt, params, on_token=lambda t: loop.call_soon_threadsafe(q.put_nowait, t))
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(q.put_nowait, None))
        text = TextStream(backend.decode)
        while (token := await q.get()) is not None:
            if delta := text.push(token):
                yield delta, None
        exc = future.exception()
        if counted is not None:
            counted.append(len(text.ids))
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

    @app.post("/v1/embeddings")
    async def embeddings(req: EmbeddingRequest):
        check_model(req.model)
        if not embeds:
            raise ApiError(400, f"model {model_name!r} does not produce embeddings (serve one with `aidc serve minilm`)",
                           param="model")
        if req.dimensions is not None and req.dimensions != backend.dimensions:
            raise ApiError(400, f"dimensions: this model gives {backend.dimensions}", param="dimensions")
        texts = _texts(req.input)
        vectors, tokens = await asyncio.to_thread(backend.embed, texts)
        data = [{"object": "embedding", "index": i, "embedding": _encode_vector(v, req.encoding_format)}
                for i, v in enumerate(vectors)]
        return {"object": "list", "data": data, "model": model_name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    def _texts(given) -> list[str]:  # noqa: ANN001
        if isinstance(given, str):
            return [given]
        if all(isinstance(x, str) for x in given):
            return list(given)
        decode = backend.tokenizer.decode  # token ids (one list, or a list of lists)
        return [decode(given)] if all(isinstance(x, int) for x in given) else [decode(x) for x in given]

    @app.post("/v1/completions")
    async def completions(req: CompletionRequest):
        check_model(req.model)
        generates()
        prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
        if not prompts:
            raise ApiError(400, "prompt: give at least one prompt", param="prompt")
        rid = new_id("cmpl")
        if req.stream:
            one_stream(req)
            if len(prompts) != 1:
                raise ApiError(400, "a list of prompts with stream: true is not supported", param="prompt")
            prompt = backend.encode(prompts[0])

            async def events() -> AsyncIterator[dict[str, Any]]:
                count: list[int] = []
                async for delta, reason in stream_tokens(prompt, _params(req, req.max_tokens), count):
                    yield completion_body(rid, model_name, [{"index": 0, "text": delta, "logprobs": None, "finish_reason": reason}], None)
                if req.include_usage:
                    yield completion_body(rid, model_name, [], usage(len(prompt), sum(count)))
            return sse(events())
        ids = [backend.encode(p) for p in prompts]
        jobs = [(p, _params(req, req.max_tokens, c)) for p in ids for c in range(req.n)]  # prompt-major, as OpenAI
        results = await asyncio.gather(*(run(p, params) for p, params in jobs))
        choices = []
        for i, g in enumerate(results):
            text, stopped = _cut_at_stop(backend.decode(g.tokens), req.stop)
            lp = completion_logprobs(g, text) if req.logprobs_k is not None else None
            choices.append({"index": i, "text": text, "logprobs": lp, "finish_reason": "stop" if stopped else g.finish_reason})
        return completion_body(rid, model_name, choices, usage(sum(map(len, ids)), sum(len(g.tokens) for g in results)))

    @app.post("/v1/chat/completions")
    async def chat(req: ChatRequest):
        check_model(req.model)
        generates()
        prompt = backend.encode_chat(req.plain_messages())
        limit, rid = req.max_completion_tokens or req.max_tokens, new_id("chatcmpl")
        if req.stream:
            one_stream(req)

            async def events() -> AsyncIterator[dict[str, Any]]:
                yield chat_body(rid, model_name, [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}], None, chunk=True)
                count: list[int] = []
                async for delta, reason in stream_tokens(prompt, _params(req, limit), count):
                    yield chat_body(rid, model_name, [{"index": 0, "delta": {"content": delta} if delta else {}, "finish_reason": reason}], None, chunk=True)
                if req.include_usage:
                    yield chat_body(rid, model_name, [], usage(len(prompt), sum(count)), chunk=True)
            return sse(events())
        results = await asyncio.gather(*(run(prompt, _params(req, limit, c)) for c in range(req.n)))
        choices = []
        for i, g in enumerate(results):
            text, stopped = _cut_at_stop(backend.decode(g.tokens), req.stop)
            choices.append({"index": i, "message": {"role": "assistant", "content": text},
                            "logprobs": chat_logprobs(g, text) if req.logprobs_k is not None else None,
                            "finish_reason": "stop" if stopped else g.finish_reason})
        return chat_body(rid, model_name, choices, usage(len(prompt), sum(len(g.tokens) for g in results)))

    return app


def _encode_vector(vector: list[float], fmt: str) -> list[float] | str:
    """As the OpenAI API gives it: a list of floats, or base64 of little-endian float32."""
    if fmt == "float":
        return vector
    import base64
    import struct

    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def serve(spec: str, *, host: str = "127.0.0.1", port: int = 8000, max_batch_size: int = 16,
          max_wait_ms: float = 10.0, name: str | None = None, log_level: str = "info") -> None:
    """Load the model, start the batcher and run uvicorn until interrupted."""
    import uvicorn

    from aidc.workloads.serve.backends import load_backend

    backend = load_backend(spec, name)
    batcher = DynamicBatcher(backend, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms)  # idle for embeddings
    try:
        uvicorn.run(create_app(backend, batcher), host=host, port=port, log_level=log_level)
    finally:
        batcher.close()

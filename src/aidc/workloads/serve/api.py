"""Request and response bodies of the OpenAI-compatible API, and its error objects.

What aidc serves follows the OpenAI spec; what it does not serve is refused with a 400 naming the
parameter (never silently ignored): `UNSUPPORTED` below, and any key the spec does not have.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# accepted and without effect on generation (request metadata)
METADATA = frozenset({"user", "metadata", "store", "service_tier"})
# in the OpenAI spec, not served here yet: a 400 naming the parameter when given a non-default value
UNSUPPORTED = {"tools": (None, []), "tool_choice": (None, "none"),
               "functions": (None, []), "function_call": (None, "none"), "response_format": (None, {"type": "text"}),
               "logit_bias": (None, {}), "presence_penalty": (None, 0, 0.0), "frequency_penalty": (None, 0, 0.0),
               "parallel_tool_calls": (None,), "prediction": (None,), "audio": (None,), "modalities": (None, ["text"]),
               "reasoning_effort": (None,), "best_of": (None, 1), "echo": (None, False), "suffix": (None,),
               "web_search_options": (None,)}


class ApiError(Exception):
    """An OpenAI error object: status, message, type, param, code."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: bool = False


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")  # checked by _known below, so the error is OpenAI's, naming the key

    model: str = ""
    max_tokens: int | None = Field(None, ge=1, le=4096)
    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: int = Field(0, ge=0, description="extension: keep the k most likely tokens")
    n: int = Field(1, ge=1, le=16)
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    ignore_eos: bool = Field(False, description="extension (as vLLM): generate max_tokens tokens, past end-of-text")

    @model_validator(mode="after")
    def _known(self) -> "_Body":
        for key, value in (self.model_extra or {}).items():
            if key in METADATA:
                continue
            if key in UNSUPPORTED:
                if value in UNSUPPORTED[key]:
                    continue
                raise ApiError(400, f"{key} is not supported by this server", param=key, code="unsupported_parameter")
            raise ApiError(400, f"unrecognized request argument: {key}", param=key, code="unknown_parameter")
        if isinstance(self.stop, list) and len(self.stop) > 4:
            raise ApiError(400, "stop: at most 4 sequences", param="stop")
        if self.stream_options is not None and not self.stream:
            raise ApiError(400, "stream_options is only allowed with stream: true", param="stream_options")
        return self

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class CompletionRequest(_Body):
    prompt: str | list[str]
    logprobs: int | None = Field(None, ge=0, le=5, description="the chosen token's and the k most likely")

    @property
    def logprobs_k(self) -> int | None:
        return self.logprobs


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_call_id, ... change nothing here
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self, index: int) -> str:
        """The message's text: a string, or its text parts joined (other part kinds are refused)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        texts = []
        for j, part in enumerate(self.content):
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ApiError(400, f"messages[{index}].content[{j}]: only text parts are supported "
                                    f"(got type {str(part.get('type'))[:40]!r})", param=f"messages[{index}].content[{j}].type")
            texts.append(part["text"])
        return "".join(texts)


class ChatRequest(_Body):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1, le=4096)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)

    @model_validator(mode="after")
    def _top_needs_logprobs(self) -> "ChatRequest":
        if self.top_logprobs is not None and not self.logprobs:
            raise ApiError(400, "top_logprobs needs logprobs: true", param="top_logprobs")
        return self

    @property
    def logprobs_k(self) -> int | None:
        return (self.top_logprobs or 0) if self.logprobs else None

    def plain_messages(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.text(i)} for i, m in enumerate(self.messages)]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = ""
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _known(self) -> "EmbeddingRequest":
        for key in self.model_extra or {}:
            if key not in METADATA:
                raise ApiError(400, f"unrecognized request argument: {key}", param=key, code="unknown_parameter")
        if isinstance(self.input, list) and not self.input:
            raise ApiError(400, "input: give at least one text", param="input")
        if isinstance(self.input, list) and len(self.input) > 2048:
            raise ApiError(400, "input: at most 2048 inputs", param="input")
        return self


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion_body(rid: str, model: str, choices: list[dict[str, Any]], use: dict[str, int] | None) -> dict[str, Any]:
    return {"id": rid, "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": choices, **({"usage": use} if use else {})}


def chat_body(rid: str, model: str, choices: list[dict[str, Any]], use: dict[str, int] | None, chunk: bool = False) -> dict[str, Any]:
    return {"id": rid, "object": "chat.completion.chunk" if chunk else "chat.completion", "created": int(time.time()),
            "model": model, "choices": choices, **({"usage": use} if use else {})}

"""Model backends the server drives: a local Hugging Face causal LM (SmolLM2 included) or a GPT we trained.

A backend turns text (or chat messages) into token ids, decodes ids back, and runs one batch of
generations; it is called from the batcher's single worker thread only, so it need not be thread-safe.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Protocol

from aidc.core.errors import AidcError
from aidc.workloads.generate.decode import Generation, generate, gpt_stepper, hf_stepper
from aidc.workloads.generate.sampling import SamplingParams


class Backend(Protocol):
    name: str

    def encode(self, text: str) -> list[int]: ...
    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...
    def generate_batch(self, prompts: list[list[int]], params: list[SamplingParams],
                       on_token: Callable[[int, int], None] | None = None) -> list[Generation]: ...


def _plain_chat(messages: list[dict[str, str]]) -> str:
    """A chat rendered as text for models without a chat template."""
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"


class HFBackend:
    """A local Hugging Face causal LM; chats go through its chat template when it has one."""

    def __init__(self, spec: str | Path, name: str | None = None) -> None:
        from aidc.workloads.generate.hf import load_causal_lm

        self.tokenizer, self.model = load_causal_lm(spec)
        self.name = name or Path(str(spec)).name
        self.step = hf_stepper(self.model)
        self.eos_ids = {i for i in (self.tokenizer.eos_token_id,) if i is not None}

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        else:
            text = _plain_chat(messages)
        return self.encode(text)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def generate_batch(self, prompts, params, on_token=None) -> list[Generation]:
        return generate(self.step, prompts, params, pad_id=self.tokenizer.pad_token_id, eos_ids=self.eos_ids,
                        on_token=on_token)


class TrainedGPTBackend:
    """A GPT trained by `aidc train` (a folder with ckpt.pt, model.json and tokenizer.json)."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        from aidc.workloads.data.tokenizer import EOS_ID, PAD_ID
        from aidc.workloads.train.checkpoint import load_trained

        self.model, self.tokenizer, card = load_trained(path)
        if card["task"] != "lm":
            raise AidcError(f"{path} holds a {card['model']['kind']} model; serving needs a causal LM (gpt)")
        self.name = name or Path(path).name
        self.pad_id, self.eos_ids = PAD_ID, {EOS_ID}
        self.step = gpt_stepper(self.model)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids or [self.pad_id]

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        return self.encode(_plain_chat(messages))

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids)

    def generate_batch(self, prompts, params, on_token=None) -> list[Generation]:
        limit = self.model.config.block_size
        prompts = [p[-(limit // 2):] for p in prompts]  # learned positions stop at block_size
        params = [dataclasses.replace(p, max_new_tokens=min(p.max_new_tokens, limit - len(q))) for p, q in zip(params, prompts)]
        return generate(self.step, prompts, params, pad_id=self.pad_id, eos_ids=self.eos_ids, on_token=on_token)


class TrainedSeq2SeqBackend:
    """A translation model trained by `aidc train`: the prompt is the source text, the completion its translation.

    The encoder-decoder decodes a batch with one sampling setting (the first request's, with the
    longest length) and reports tokens when the batch is done, so streaming arrives in one piece.
    """

    def __init__(self, path: Path, name: str | None = None) -> None:
        from aidc.workloads.data.tokenizer import EOS_ID
        from aidc.workloads.train.checkpoint import load_trained

        self.model, self.tokenizer, _ = load_trained(path)
        self.name, self.eos_id = name or Path(path).name, EOS_ID

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids + [self.eos_id]

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        return self.encode(messages[-1]["content"])  # translate the last message

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids)

    def generate_batch(self, prompts, params, on_token=None) -> list[Generation]:
        from aidc.workloads.generate.translate import generate_seq2seq

        first = params[0]
        shared = SamplingParams(max(p.max_new_tokens for p in params), first.temperature, first.top_k, first.top_p)
        outs = []
        for row, (ids, p) in enumerate(zip(generate_seq2seq(self.model, prompts, shared), params)):
            ids = ids[:p.max_new_tokens]
            for token in ids if on_token else ():
                on_token(row, token)
            outs.append(Generation(ids, "length" if len(ids) == p.max_new_tokens else "stop"))
        return outs


def load_backend(spec: str, name: str | None = None) -> Backend:
    """`smollm2`, `minilm` (embeddings), a Hugging Face folder or .gguf, or a training output folder (ckpt.pt)."""
    from aidc.workloads.serve.embeddings import ALIASES, EmbeddingBackend

    if spec in ALIASES:
        return EmbeddingBackend(name)  # type: ignore[return-value]
    if (Path(spec) / "ckpt.pt").is_file():
        import json

        card = json.loads((Path(spec) / "model.json").read_text())
        cls = TrainedSeq2SeqBackend if card["task"] == "translation" else TrainedGPTBackend
        return cls(Path(spec), name)
    return HFBackend(spec, name or ("SmolLM2-135M-Instruct" if spec == "smollm2" else None))

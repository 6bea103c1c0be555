"""Fill the fields a published case leaves null, from what it does give, and say each assumption made.

The cases' format says null where a source did not publish a value. A planner must still answer, so
every null the format allows is filled by one rule here, the same for every case, and each filled value
is returned as an assumption `{"field", "value", "why"}` that the prediction carries:

- MLP kinds by their names and aliases: gelu / relu / 2-matrix (two matrices), swiglu / geglu / reglu /
  gated (three matrices); anything else is refused naming `model.mlp_type`;
- heads from the width (head size 128, or 64 when the width is not a multiple of 128), KV heads = heads;
- the FFN width and the vocabulary solved from `params_b` with the layer count and width (the other one
  at its common value: vocab 32,000, FFN 4h or 8h/3 rounded to 256);
- a missing layer count or width solved from `params_b` (12 L h^2 per dense Transformer);
- training: the global batch (4M tokens, the LLaMA/GPT-3 convention) and the GPU count (2,048, capped at
  eight per sequence of the batch) when unpublished; the layout is then the planner's own search;
- inference: batch 1, no pipeline, 128 input and 128 output tokens when unpublished; tensor parallel
  the smallest power of two at which the weights and the batch's KV caches fit.

A case without a GPU type, or with neither a layer count nor a width, cannot be modelled: CaseError
names the field.
"""

from __future__ import annotations

import math
from typing import Any

from aidc.core.errors import AidcError

GATED = ("swiglu", "geglu", "reglu", "gated", "glu", "silu-glu", "swi-glu")
TWO_MATRIX = ("2-matrix", "gelu", "relu", "mlp", "standard", "dense", "gelu-mlp", "relu-mlp", "squared-relu")
DEFAULT_VOCAB = 32_000
DEFAULT_BATCH_TOKENS = 2 ** 22  # "4M tokens"
DEFAULT_N_GPUS = 2048
DEFAULT_SEQ_LEN = 2048


class CaseError(AidcError):
    """A case that cannot be modelled: says which field is missing or wrong."""


Assumptions = list[dict[str, Any]]


def assume(out: Assumptions, field: str, value: Any, why: str) -> Any:
    out.append({"field": field, "value": value, "why": why})
    return value


def mlp_kind(text: Any) -> str:
    """'gelu', 'SwiGLU', 'gated' ... -> '2-matrix' or 'swiglu'."""
    key = str(text).strip().lower().replace("_", "-").replace(" ", "-")
    if key in GATED:
        return "swiglu"
    if key in TWO_MATRIX:
        return "2-matrix"
    raise CaseError(f"model.mlp_type: unknown MLP kind {text!r} (2-matrix kinds: {', '.join(TWO_MATRIX)}; "
                    f"gated kinds: {', '.join(GATED)})")


def _heads_for(d_model: int) -> int:
    return d_model // 128 if d_model % 128 == 0 else max(1, d_model // 64)


def _round(x: float, step: int) -> int:
    return max(step, int(round(x / step)) * step)


def fill_model(model: dict[str, Any] | None, hints: dict[str, Any], out: Assumptions) -> dict[str, Any]:
    """A complete architecture dict (ModelArch fields) from a case's `model`, its peer hints and rules."""
    m = dict(model or {})
    if not m:
        raise CaseError("model: not given")
    for key in ("n_heads", "n_kv_heads", "ffn_dim", "vocab", "n_layers", "d_model"):
        if m.get(key) is None and isinstance(hints.get(key), int) and hints[key] > 0:
            m[key] = assume(out, f"model.{key}", hints[key], "the value the file's peers were run with")
    mlp = mlp_kind(m["mlp_type"]) if m.get("mlp_type") is not None else \
        assume(out, "model.mlp_type", "2-matrix", "not published: the GPT-style two-matrix MLP")
    params = float(m["params_b"]) * 1e9 if m.get("params_b") else None
    L, h = m.get("n_layers"), m.get("d_model")
    if L is None and h is None:
        raise CaseError("model.n_layers and model.d_model are both null: give at least one (with params_b)")
    if (L is None or h is None) and params is None:
        missing = "n_layers" if L is None else "d_model"
        raise CaseError(f"model.{missing} is null and model.params_b too: one of them is needed to size the model")
    if h is None:
        h = assume(out, "model.d_model", _round(math.sqrt(params / (12 * L)), 128),
                    "solved from params_b = 12 L h^2 (a dense Transformer's weights)")
    if L is None:
        L = assume(out, "model.n_layers", max(1, round(params / (12 * h * h))),
                    "solved from params_b = 12 L h^2 (a dense Transformer's weights)")
    heads = m.get("n_heads") or assume(out, "model.n_heads", _heads_for(h), "head size 128 (64 if the width is not a multiple)")
    if h % heads:
        heads = assume(out, "model.n_heads", _heads_for(h), f"{heads} heads do not divide the width {h}")
    kv = m.get("n_kv_heads") or assume(out, "model.n_kv_heads", heads, "not published: multi-head attention (KV heads = heads)")
    if heads % kv:
        kv = assume(out, "model.n_kv_heads", heads, f"{kv} KV heads do not divide {heads} heads")
    mats = 3 if mlp == "swiglu" else 2
    attn = 2 * h * h + 2 * h * (kv * (h // heads))
    ffn, vocab = m.get("ffn_dim"), m.get("vocab")
    if ffn is None and vocab is None:
        vocab = assume(out, "model.vocab", DEFAULT_VOCAB, "not published: the common 32,000-token vocabulary")
    if ffn is None:
        if params is not None:
            solved = (params - 2 * vocab * h - L * attn) / (L * mats * h)
            if solved > h / 2:
                ffn = assume(out, "model.ffn_dim", _round(solved, 256),
                              "solved from params_b with the layers, width, attention and vocabulary")
        if ffn is None:
            ffn = assume(out, "model.ffn_dim", _round(4 * h if mats == 2 else 8 * h / 3, 256),
                          "not published: 4h (two-matrix) or 8h/3 (gated), rounded to 256")
    if vocab is None:
        solved = (params - L * (attn + mats * h * ffn)) / (2 * h) if params is not None else 0
        vocab = assume(out, "model.vocab", int(round(solved)) if 1_000 <= solved <= 1_000_000 else DEFAULT_VOCAB,
                        "solved from params_b with the layers, width and FFN" if 1_000 <= solved <= 1_000_000
                        else "not published: the common 32,000-token vocabulary")
    seq = m.get("seq_len") or assume(out, "model.seq_len", DEFAULT_SEQ_LEN, "not published: 2,048 tokens")
    return {"n_layers": int(L), "d_model": int(h), "n_heads": int(heads), "n_kv_heads": int(kv), "ffn_dim": int(ffn),
            "mlp_type": mlp, "vocab": int(vocab), "seq_len": int(seq)}


def fill_batch(par: dict[str, Any], seq_len: int, out: Assumptions) -> dict[str, Any]:
    """Parallelism with a global batch (in sequences or tokens) always given."""
    par = dict(par)
    if not par.get("global_batch_seqs") and not par.get("global_batch_tokens"):
        par["global_batch_tokens"] = assume(out, "parallelism.global_batch_tokens", DEFAULT_BATCH_TOKENS,
                                             "not published: 4M tokens (the LLaMA and GPT-3 convention)")
    return par


def fill_n_gpus(case: dict[str, Any], hints: dict[str, Any], batch_seqs: int, model_parallel: int,
                out: Assumptions) -> int:
    """The published GPU count, else the peers' value, else tp x pp x dp, else about 2,048: the model-parallel
    size (when published) times the largest data-parallel degree that divides the batch."""
    if case.get("n_gpus"):
        return int(case["n_gpus"])
    if isinstance(hints.get("n_gpus"), int) and hints["n_gpus"] > 0:
        return assume(out, "n_gpus", hints["n_gpus"], "the value the file's peers were run with")
    par = case.get("parallelism") or {}
    if all(isinstance(par.get(k), int) and par[k] > 0 for k in ("tp", "pp", "dp")):
        return assume(out, "n_gpus", par["tp"] * par["pp"] * par["dp"], "tp x pp x dp as published")
    mp = max(1, model_parallel)
    per_replica = mp if mp > 1 else 8  # unknown model parallelism: whole 8-GPU nodes per replica at most
    cap = max(DEFAULT_N_GPUS // per_replica, 1)
    dp = max(d for d in range(1, min(cap, max(1, batch_seqs)) + 1) if batch_seqs % d == 0)
    n = dp * per_replica if mp > 1 else min(DEFAULT_N_GPUS, dp * 8)
    return assume(out, "n_gpus", max(n, mp), "not published: about 2,048 GPUs (the published LLaMA/OPT clusters), "
                  "the model-parallel size times the largest data-parallel degree dividing the batch; GPU-hours "
                  "depend on it only through efficiency and goodput")


def require(case: dict[str, Any], *fields: str) -> None:
    for f in fields:
        if case.get(f) in (None, ""):
            raise CaseError(f"{f}: not given")


def fill_precision(case: dict[str, Any], out: Assumptions) -> str:
    return case.get("precision") or assume(out, "precision", "bf16 mixed", "not published: bf16 mixed precision")


def fill_inference(case: dict[str, Any], out: Assumptions) -> dict[str, Any]:
    """batch size, tp/pp and sequence lengths of an inference case, assumed where null."""
    c = dict(case)
    for key, value, why in (("batch_size", 1, "not published: one request at a time"),
                            ("pp", 1, "not published: no pipeline"),
                            ("input_len", 128, "not published: 128 prompt tokens"),
                            ("output_len", 128, "not published: 128 generated tokens")):
        if not c.get(key):
            c[key] = assume(out, key, value, why)
    return c

"""Perplexity of a trained model on a split; BLEU/chrF (sacrebleu) of its translations beside the baselines."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from aidc.workloads.evaluate.baselines import build_dictionary, copy_baseline, dictionary_baseline


def bleu_chrf(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    import sacrebleu

    return {"bleu": round(sacrebleu.corpus_bleu(hypotheses, [references]).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2)}


def read_pairs(data_dir: Path, split: str, limit: int | None = None) -> list[tuple[str, str]]:
    lines = (Path(data_dir) / "text" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines[:limit]]
    return [(r["text"], r["target"]) for r in rows]


def translation_scores(model, tokenizer, data_dir: Path, split: str = "test", limit: int | None = 500,
                       console: Any = None) -> dict[str, Any]:
    """BLEU/chrF of the model and of both baselines on the first `limit` pairs of a split."""
    from aidc.workloads.generate.translate import translate

    pairs = read_pairs(data_dir, split, limit)
    sources, refs = [s for s, _ in pairs], [t for _, t in pairs]
    table = build_dictionary(read_pairs(data_dir, "train"))
    hyps = translate(model, tokenizer, sources, console=console)
    return {"pairs": len(pairs), "model": bleu_chrf(hyps, refs),
            "baselines": {"copy": bleu_chrf(copy_baseline(sources), refs),
                          "dictionary": bleu_chrf(dictionary_baseline(sources, table), refs)},
            "examples": [{"source": s, "reference": r, "model": h} for s, r, h in list(zip(sources, refs, hyps))[:5]]}


def perplexity(model, card: dict[str, Any], data_dir: Path, split: str, batch_size: int = 32, max_batches: int = 50) -> dict[str, float]:
    from aidc.workloads.train.batches import make_batches
    from aidc.workloads.train.loop import evaluate_loss

    cfg = model.config
    batches = make_batches(card["task"], data_dir, split, cfg).sequential(batch_size, max_batches)
    loss = evaluate_loss(model, batches, "cpu", "fp32")
    model.eval()
    return {"loss": round(loss, 4), "perplexity": round(math.exp(loss), 3)}


def evaluate_checkpoint(path: Path, *, data_dir: Path | None = None, split: str = "test", limit: int | None = 500,
                        console: Any = None) -> dict[str, Any]:
    """Everything `aidc eval` reports for one training output folder."""
    from aidc.workloads.train.checkpoint import load_trained

    model, tok, card = load_trained(path)
    data_dir = Path(data_dir or card["data"])
    result: dict[str, Any] = {"checkpoint": str(path), "task": card["task"], "split": split,
                              **perplexity(model, card, data_dir, split)}
    if card["task"] == "translation":
        result.update(translation_scores(model, tok, data_dir, split, limit, console))
    return result

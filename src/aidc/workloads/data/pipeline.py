"""`aidc data prepare`: read -> clean -> redact PII -> de-duplicate -> split -> tokenize -> shard, with a report."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aidc.workloads.data import dedup
from aidc.workloads.data.clean import normalize, rejection
from aidc.workloads.data.config import DataConfig
from aidc.workloads.data.pii import find_pii, redact
from aidc.workloads.data.readers import Record, read_source
from aidc.workloads.data.shards import FORMAT, MANIFEST, token_dtype, write_split
from aidc.workloads.data.split import SPLITS, assign_split, group_key
from aidc.workloads.data.tokenizer import BOS_ID, EOS_ID, SPECIAL_TOKENS, encode_batch, train_bpe
from aidc.workloads.progress import track


@dataclass
class Stats:
    """Counts for the report: what came in, what was dropped and why, what PII was found."""

    read: int = 0
    dropped: Counter = field(default_factory=Counter)
    pii: Counter = field(default_factory=Counter)
    findings: list[dict[str, Any]] = field(default_factory=list)


def _clean_record(rec: Record, config: DataConfig, stats: Stats) -> Record | None:
    text = normalize(rec.text, config.clean.unicode_form)
    reason = rejection(text, config.clean, config.clean.source_language)
    target = None
    if rec.target is not None:
        target = normalize(rec.target, config.clean.unicode_form)
        reason = reason or rejection(target, config.clean, config.clean.target_language)
        if not reason and config.clean.drop_identical_pairs and target.lower() == text.lower():
            reason = "identical_pair"
    if reason:
        stats.dropped[reason] += 1
        return None
    return Record(rec.origin, text, target)


def _redact_field(text: str, origin: str, field_name: str, config: DataConfig, stats: Stats) -> str:
    findings = find_pii(text, config.pii.detectors)
    for f in findings:
        stats.pii[f.kind] += 1
        stats.findings.append({"origin": origin, "field": field_name, "kind": f.kind, "start": f.start, "end": f.end})
    return redact(text, findings) if config.pii.redact else text


def clean_and_redact(config: DataConfig, stats: Stats, console: Any = None) -> list[Record]:
    """Every source read, cleaned, filtered and PII-redacted, in input order."""
    out: list[Record] = []
    for source in config.sources:
        for rec in track(read_source(source), f"reading {source.path}", console):
            stats.read += 1
            if (config.task == "translation") != (rec.target is not None):
                stats.dropped["wrong_shape"] += 1
                continue
            cleaned = _clean_record(rec, config, stats)
            if cleaned is None:
                continue
            cleaned.text = _redact_field(cleaned.text, rec.origin, "text", config, stats)
            if cleaned.target is not None:
                cleaned.target = _redact_field(cleaned.target, rec.origin, "target", config, stats)
            out.append(cleaned)
    return out


def deduplicate(records: list[Record], config: DataConfig, stats: Stats) -> list[Record]:
    """Drop exact duplicates of the group key, then near duplicates (MinHash/LSH) of the text."""
    if config.dedup.exact:
        seen: set[str] = set()
        kept = []
        for rec in records:
            key = dedup.exact_key(rec.text)
            if key in seen:
                stats.dropped["exact_duplicate"] += 1
                continue
            seen.add(key)
            kept.append(rec)
        records = kept
    if config.dedup.near:
        d = config.dedup
        dups = dedup.near_duplicates([r.text for r in records], threshold=d.threshold, num_perm=d.num_perm,
                                     bands=d.bands, shingle_chars=d.shingle_chars, seed=d.seed)
        stats.dropped["near_duplicate"] += len(dups)
        records = [r for i, r in enumerate(records) if i not in dups]
    return records


def _encode(tok, records: list[Record], task: str) -> dict[str, list[list[int]]]:
    if task == "lm":
        return {"text": [ids + [EOS_ID] for ids in encode_batch(tok, [r.text for r in records])]}
    src = [ids + [EOS_ID] for ids in encode_batch(tok, [r.text for r in records])]
    tgt = [[BOS_ID] + ids + [EOS_ID] for ids in encode_batch(tok, [r.target or "" for r in records])]
    return {"src": src, "tgt": tgt}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def prepare(config: DataConfig, console: Any = None) -> dict[str, Any]:
    """Run the whole preparation into `config.output_dir`; returns the report (also written as report.json)."""
    out = Path(config.output_dir)
    (out / "text").mkdir(parents=True, exist_ok=True)
    stats = Stats()
    records = deduplicate(clean_and_redact(config, stats, console), config, stats)
    splits: dict[str, list[Record]] = {s: [] for s in SPLITS}
    for rec in records:
        s = config.split
        splits[assign_split(group_key(rec.text), validation=s.validation, test=s.test, seed=s.seed)].append(rec)
    train_texts = [t for r in splits["train"] for t in (r.text, r.target) if t]
    tok = train_bpe(train_texts, vocab_size=config.tokenizer.vocab_size, min_frequency=config.tokenizer.min_frequency)
    tok.save(str(out / "tokenizer.json"))
    dtype = token_dtype(tok.get_vocab_size())
    manifest: dict[str, Any] = {"format": FORMAT, "name": config.name, "task": config.task,
                                "tokenizer": "tokenizer.json", "vocab_size": tok.get_vocab_size(),
                                "dtype": dtype.name, "special_tokens": list(SPECIAL_TOKENS), "splits": {}}
    for split, recs in splits.items():
        manifest["splits"][split] = write_split(out, split, _encode(tok, recs, config.task),
                                                tokens_per_shard=config.shards.tokens_per_shard, dtype=dtype)
        _write_jsonl(out / "text" / f"{split}.jsonl",
                     [{"origin": r.origin, "text": r.text, **({"target": r.target} if r.target is not None else {})}
                      for r in recs])
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    _write_jsonl(out / "pii_findings.jsonl", stats.findings)
    report = {"name": config.name, "task": config.task, "output_dir": str(out), "read": stats.read,
              "kept": len(records), "dropped": dict(stats.dropped), "pii": dict(stats.pii),
              "splits": {s: {"records": m["records"], "tokens": m["tokens"]} for s, m in manifest["splits"].items()},
              "vocab_size": tok.get_vocab_size()}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report

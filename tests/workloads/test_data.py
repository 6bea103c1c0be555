"""Data preparation: cleaning, PII detection and redaction, MinHash near-duplicates, splits, shards, recipes."""

from __future__ import annotations

import gettext
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from aidc.core.spec_io import load_model
from aidc.workloads.data import dedup
from aidc.workloads.data.clean import looks_like, normalize
from aidc.workloads.data.config import DataConfig
from aidc.workloads.data.pii import find_pii, iban_valid, luhn_valid, redact
from aidc.workloads.data.pipeline import prepare
from aidc.workloads.data.readers import read_gettext
from aidc.workloads.data.shards import load_records, verify
from aidc.workloads.data.split import assign_split
from tests.conftest import EXAMPLES
from tests.workloads.conftest import write_pairs_tsv, write_prose


def test_normalize_drops_controls_and_folds_width() -> None:
    assert normalize("ｆｕｌｌ\u200b  wi\x07dth\r\n\n  next ") == "full width\nnext"


def test_language_check() -> None:
    assert looks_like("the file is not in the folder", "en")
    assert not looks_like("le fichier est dans le dossier de la maison", "en")
    assert not looks_like("это не английский текст", "en")


@pytest.mark.parametrize("text,kind", [
    ("write to jane.doe@example.org today", "email"),
    ("call +33 1 23 45 67 89 now", "phone"),
    ("call (555) 123-4567 now", "phone"),
    ("host 10.0.12.7 is down", "ip"),
    ("host 2001:db8::8a2e:370:7334 is down", "ip"),
    ("pay 4111 1111 1111 1111 please", "card"),
    ("iban GB82 WEST 1234 5698 7654 32 ok", "iban"),
    ("key AKIAIOSFODNN7EXAMPLE leaked", "secret"),
    ("export OPENAI=sk-abcdefghijklmnopqrstuvwxyz123456", "secret"),
    ("api_key = 'Zx81-secretvalue'", "secret"),
])
def test_pii_detects(text: str, kind: str) -> None:
    kinds = [f.kind for f in find_pii(text)]
    assert kinds == [kind]
    assert f"<{kind.upper()}>" in redact(text, find_pii(text))


@pytest.mark.parametrize("text", [
    "pay 4111 1111 1111 1112 please",  # fails Luhn
    "iban GB83WEST12345698765432",  # fails mod 97
    "version 1.2.3 released 2024-01-15",
    "ip 999.1.2.3 is not valid",
    "ratio 12:30:45",
    "passwd: password unchanged",
    "  --password=MOT_DE_PASSE  set the password",
])
def test_pii_leaves_lookalikes(text: str) -> None:
    assert find_pii(text) == []


def test_checksums() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE89370400440532013001")


def test_minhash_finds_near_duplicates_only() -> None:
    base = "the quick brown fox jumps over the lazy dog near the river bank today"
    texts = [base, base.replace("today", "tonight"), "completely different words about servers and racks", base + "!"]
    dups = dedup.near_duplicates(texts, threshold=0.7, num_perm=128, bands=32, shingle_chars=5)
    assert dups == {1: 0, 3: 0}


def test_minhash_estimate_tracks_jaccard() -> None:
    a, b = dedup.shingles("abcdefghijklmnopqrstuvwxyz" * 2, 3), dedup.shingles("abcdefghijklmnopqrstuvwxy", 3)
    true = len(set(a.tolist()) & set(b.tolist())) / len(set(a.tolist()) | set(b.tolist()))
    h = dedup.MinHasher(256, seed=1)
    est = float(np.mean(h.signature(a) == h.signature(b)))
    assert abs(est - true) < 0.1


def test_split_is_deterministic_and_near_fractions() -> None:
    keys = [f"sentence {i}" for i in range(4000)]
    splits = [assign_split(k, validation=0.1, test=0.1) for k in keys]
    assert splits == [assign_split(k, validation=0.1, test=0.1) for k in keys]
    assert 300 < splits.count("test") < 500 and 300 < splits.count("validation") < 500


def _pairs_config(tmp_path: Path, **over) -> DataConfig:
    tsv = write_pairs_tsv(tmp_path / "pairs.tsv", 400)
    with tsv.open("a") as fh:
        fh.write("the cat\tle chat\n")  # exact duplicate source of a generated pair, or a new one
        fh.write("mail me at bob@example.com\técrivez à bob@example.com\n")
        fh.write("same\tsame\n")
    data = {"name": "t", "task": "translation", "output_dir": tmp_path / "out",
            "sources": [{"kind": "pairs", "path": tsv}],
            "clean": {"source_language": None, "min_chars": 2},
            "tokenizer": {"vocab_size": 300, "min_frequency": 1},
            "split": {"validation": 0.1, "test": 0.1}, "shards": {"tokens_per_shard": 1000}, **over}
    return DataConfig.model_validate(data)


def test_prepare_pairs_end_to_end(tmp_path: Path) -> None:
    report = prepare(_pairs_config(tmp_path))
    out = tmp_path / "out"
    assert report["pii"] == {"email": 2}
    assert report["dropped"]["identical_pair"] == 1
    findings = [json.loads(line) for line in (out / "pii_findings.jsonl").read_text().splitlines()]
    assert {f["field"] for f in findings} == {"text", "target"} and all("bob" not in json.dumps(f) for f in findings)
    texts = {s: [json.loads(line) for line in (out / "text" / f"{s}.jsonl").read_text().splitlines()]
             for s in ("train", "validation", "test")}
    assert "bob@example.com" not in json.dumps(texts)
    sources = {s: {r["text"].lower() for r in rows} for s, rows in texts.items()}
    assert not (sources["train"] & sources["test"]) and not (sources["train"] & sources["validation"])
    assert all(len(rows) > 10 for rows in texts.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["splits"]["train"]["shards"]) > 1  # 1,000 tokens per shard forces several
    assert verify(out) == []
    src = load_records(out, "test", "src")
    assert len(src) == len(texts["test"]) == len(load_records(out, "test", "tgt"))


def test_tokens_round_trip(tmp_path: Path) -> None:
    from aidc.workloads.data.tokenizer import EOS_ID, load_tokenizer

    prepare(_pairs_config(tmp_path))
    tok = load_tokenizer(tmp_path / "out" / "tokenizer.json")
    first = json.loads((tmp_path / "out" / "text" / "train.jsonl").read_text().splitlines()[0])
    ids = load_records(tmp_path / "out", "train", "src")[0].tolist()
    assert ids[-1] == EOS_ID and tok.decode(ids[:-1]) == first["text"]


def test_verify_catches_a_corrupted_shard(tmp_path: Path) -> None:
    prepare(_pairs_config(tmp_path))
    shard = next((tmp_path / "out").glob("train-00000.src.tokens.npy"))
    raw = bytearray(shard.read_bytes())
    raw[-1] ^= 0xFF
    shard.write_bytes(bytes(raw))
    assert any("checksum" in p for p in verify(tmp_path / "out"))


def test_prepare_prose_with_near_duplicates(tmp_path: Path) -> None:
    prose = write_prose(tmp_path / "prose.txt", 60)
    docs = prose.read_text().split("\n\n")
    with prose.open("a") as fh:
        fh.write("\n" + docs[3].replace(".", " indeed.") + "\n\nContact 192.168.1.20 for access.\n")
    cfg = DataConfig.model_validate({
        "name": "p", "task": "lm", "output_dir": tmp_path / "out", "sources": [{"kind": "text", "path": prose}],
        "clean": {"source_language": None}, "tokenizer": {"vocab_size": 300, "min_frequency": 1}, "split": {"validation": 0.2, "test": 0.2}})
    report = prepare(cfg)
    assert report["dropped"].get("near_duplicate") == 1
    assert report["pii"] == {"ip": 1}
    assert report["splits"]["train"]["records"] + report["splits"]["test"]["records"] + \
        report["splits"]["validation"]["records"] == report["kept"] == 61


def _write_mo(path: Path, messages: dict[str, str]) -> None:
    """A minimal GNU .mo catalog (the format msgfmt writes), so the gettext reader is tested without Debian files."""
    keys = sorted(messages)
    ids, strs = b"", b""
    offsets = []
    for k in keys:
        offsets.append((len(ids), len(k.encode()), len(strs), len(messages[k].encode())))
        ids += k.encode() + b"\0"
        strs += messages[k].encode() + b"\0"
    n = len(keys)
    key_start = 7 * 4 + 16 * n
    value_start = key_start + len(ids)
    koffsets, voffsets = [], []
    for o1, l1, o2, l2 in offsets:
        koffsets += [l1, o1 + key_start]
        voffsets += [l2, o2 + value_start]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, n, 7 * 4, 7 * 4 + n * 8, 0, 0)
    path.write_bytes(header + struct.pack(f"{2 * n}i", *koffsets) + struct.pack(f"{2 * n}i", *voffsets) + ids + strs)


def test_gettext_reader(tmp_path: Path) -> None:
    _write_mo(tmp_path / "demo.mo", {"": "Content-Type: text/plain; charset=UTF-8\n", "Open file": "Ouvrir le fichier"})
    assert gettext.GNUTranslations((tmp_path / "demo.mo").open("rb")).gettext("Open file") == "Ouvrir le fichier"
    records = list(read_gettext(tmp_path, "*"))
    assert [(r.text, r.target) for r in records] == [("Open file", "Ouvrir le fichier")]


@pytest.mark.parametrize("name", ["data-en-fr.yaml", "data-shakespeare.yaml"])
def test_recipes_validate(name: str) -> None:
    cfg, _ = load_model(EXAMPLES / "workloads" / name, DataConfig)
    assert cfg.sources

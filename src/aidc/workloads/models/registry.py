"""Model kinds by name: build a model from its typed config (adding a model = one entry here)."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from aidc.workloads.models.gpt import GPT, GPTConfig
from aidc.workloads.models.seq2seq import Seq2Seq, Seq2SeqConfig

ModelConfig = Annotated[Union[GPTConfig, Seq2SeqConfig], Field(discriminator="kind")]
BUILDERS = {"gpt": GPT, "seq2seq": Seq2Seq}


def build_model(cfg: GPTConfig | Seq2SeqConfig):  # -> torch.nn.Module
    return BUILDERS[cfg.kind](cfg)

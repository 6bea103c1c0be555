"""Attention against the naive formula, causality, grouped-query attention, KV-cache consistency."""

from __future__ import annotations

import math

import pytest
import torch

from aidc.workloads.models.gpt import GPT, GPTConfig
from aidc.workloads.models.layers import attention, causal_mask
from aidc.workloads.models.seq2seq import Seq2Seq, Seq2SeqConfig


def naive_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def test_attention_matches_naive_formula() -> None:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g) for _ in range(3))
    assert torch.allclose(attention(q, k, v), naive_attention(q, k, v), atol=1e-5)


def test_causal_attention_matches_naive_with_triangular_mask() -> None:
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, 6, 8, generator=g) for _ in range(3))
    tri = torch.tril(torch.ones(6, 6, dtype=torch.bool))
    assert torch.allclose(attention(q, k, v, causal=True), naive_attention(q, k, v, tri), atol=1e-5)
    mask = causal_mask(torch.ones(2, 6, dtype=torch.bool), 6)
    assert torch.allclose(attention(q, k, v, mask), naive_attention(q, k, v, mask), atol=1e-5)


@pytest.mark.parametrize("n_kv_head,norm", [(None, "layernorm"), (2, "rmsnorm"), (1, "layernorm")])
def test_gpt_is_causal(n_kv_head, norm) -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=4, n_kv_head=n_kv_head, d_model=32, norm=norm)).eval()
    idx = torch.randint(0, 50, (2, 10))
    changed = idx.clone()
    changed[:, 6:] = (changed[:, 6:] + 7) % 50
    a, _, _ = model(idx)
    b, _, _ = model(changed)
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-5)
    assert not torch.allclose(a[:, 6:], b[:, 6:], atol=1e-3)


def test_gpt_kv_cache_equals_full_forward() -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=4, n_kv_head=2, d_model=32)).eval()
    idx = torch.randint(0, 50, (2, 9))
    full, _, _ = model(idx)
    logits, _, past = model(idx[:, :5])
    steps = [logits[:, -1]]
    for t in range(5, 9):
        logits, _, past = model(idx[:, t:t + 1], past=past)
        steps.append(logits[:, -1])
    assert torch.allclose(torch.stack(steps[:-1], 1), full[:, 4:8], atol=1e-5)


def test_gpt_loss_near_log_vocab_at_init() -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=64, block_size=16, n_layer=1, n_head=2, d_model=32))
    idx = torch.randint(0, 64, (4, 16))
    _, loss, _ = model(idx, torch.randint(0, 64, (4, 16)))
    assert abs(loss.item() - math.log(64)) < 0.3


def test_seq2seq_decoder_is_causal_and_cache_matches() -> None:
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(vocab_size=40, max_len=16, n_encoder_layer=2, n_decoder_layer=2, n_head=4,
                                  d_model=32, dropout=0.0)).eval()
    src = torch.randint(4, 40, (2, 7))
    src[1, 5:] = 0  # padding
    tgt = torch.randint(4, 40, (2, 6))
    full, _ = model(src, tgt)
    changed = tgt.clone()
    changed[:, 4:] = 5
    assert torch.allclose(full[:, :4], model(src, changed)[0][:, :4], atol=1e-5)
    memory = model.encode(src)
    logits, past = model.decode(tgt[:, :3], memory, src)
    for t in range(3, 6):
        logits, past = model.decode(tgt[:, t:t + 1], memory, src, past)
        assert torch.allclose(logits[:, -1], full[:, t], atol=1e-5)


def test_seq2seq_source_padding_does_not_change_output() -> None:
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(vocab_size=40, max_len=16, n_encoder_layer=1, n_decoder_layer=1, n_head=2,
                                  d_model=16, dropout=0.0)).eval()
    src = torch.randint(4, 40, (1, 5))
    tgt = torch.randint(4, 40, (1, 4))
    padded = torch.cat([src, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    assert torch.allclose(model(src, tgt)[0], model(padded, tgt)[0], atol=1e-5)


def test_bad_head_count_is_a_validation_error() -> None:
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPTConfig(d_model=30, n_head=4)

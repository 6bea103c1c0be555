"""Learning rate at a step: linear warmup to the peak, then cosine decay to min_lr_ratio of it."""

from __future__ import annotations

import math


def lr_at(step: int, *, lr: float, warmup_steps: int, max_steps: int, min_lr_ratio: float) -> float:
    """Step is 0-based; warmup reaches `lr` at step warmup_steps - 1, the end reaches lr * min_lr_ratio."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    decay_steps = max(1, max_steps - warmup_steps - 1)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    min_lr = lr * min_lr_ratio
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)

"""Training: AdamW with warmup + cosine, clipping, accumulation, checkpoints with exact resume, DDP."""

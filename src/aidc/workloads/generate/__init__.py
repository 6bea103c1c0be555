"""Generation: KV-cache decoding (greedy, temperature, top-k, top-p), batched; local Hugging Face models."""

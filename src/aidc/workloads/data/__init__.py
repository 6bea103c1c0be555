"""Data preparation: read, clean, de-duplicate, redact personal data, tokenize, split and shard."""

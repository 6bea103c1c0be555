"""Transformer models from typed configs: a decoder-only GPT and an encoder-decoder for translation."""

"""Serving: an OpenAI-compatible HTTP API over a model backend, with dynamic batching and streaming."""

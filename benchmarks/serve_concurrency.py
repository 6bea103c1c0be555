"""Benchmark: `aidc serve` with 16 concurrent openai clients against sequential `transformers` generate(); prints JSON.

Same model (SmolLM2-135M by default), same chat prompts, greedy, same token budget. The peer runs
`model.generate()` one prompt after another; the server (in this process, on 127.0.0.1) receives
all prompts at once from client threads and batches them. Output tokens per second are compared.
`python benchmarks/serve_concurrency.py [--model smollm2] [--clients 16] [--max-tokens 32]`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import socket
import statistics
import threading
import time

import torch

QUESTIONS = ["What is the capital of France?", "Name three colours.", "What is 2 + 2?", "Why is the sky blue?",
             "What do bees make?", "Say hello in Spanish.", "What is a GPU?", "Name a planet.",
             "What is water made of?", "Who wrote Hamlet?", "What is the largest ocean?", "How many legs has a spider?",
             "What is the boiling point of water?", "Name a fruit.", "What language is spoken in Brazil?", "What is a data center?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sequential_generate(backend, messages: list[list[dict]], max_tokens: int) -> float:
    """Output tokens/s of plain transformers generate(), one prompt at a time."""
    t0, produced = time.perf_counter(), 0
    for m in messages:
        ids = torch.tensor([backend.encode_chat(m)])
        out = backend.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_tokens, do_sample=False,
                                     pad_token_id=backend.tokenizer.pad_token_id)
        produced += out.shape[1] - ids.shape[1]
    return produced / (time.perf_counter() - t0)


def served(url: str, model: str, messages: list[list[dict]], max_tokens: int) -> float:
    """Output tokens/s with every prompt sent at once by its own client thread."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=600)

    def ask(m: list[dict]) -> int:
        r = client.chat.completions.create(model=model, messages=m, max_tokens=max_tokens, temperature=0)
        return r.usage.completion_tokens

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(messages)) as pool:
        produced = sum(pool.map(ask, messages))
    return produced / (time.perf_counter() - t0)


def start(backend, max_batch: int, max_wait_ms: float) -> tuple[object, object, threading.Thread, str]:
    import uvicorn

    from aidc.workloads.serve.app import create_app
    from aidc.workloads.serve.batcher import DynamicBatcher

    port = free_port()
    batcher = DynamicBatcher(backend, max_batch_size=max_batch, max_wait_ms=max_wait_ms)
    server = uvicorn.Server(uvicorn.Config(create_app(backend, batcher), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, batcher, thread, f"http://127.0.0.1:{port}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="smollm2")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--max-wait-ms", type=float, default=50.0, help="how long the server lets a batch fill")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from aidc.workloads.serve.backends import load_backend

    backend = load_backend(args.model)
    messages = [[{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}] for i in range(args.clients)]
    server, batcher, thread, url = start(backend, args.clients, args.max_wait_ms)
    seq, conc = [], []
    for _ in range(args.runs):
        seq.append(sequential_generate(backend, messages, args.max_tokens))
        conc.append(served(url, backend.name, messages, args.max_tokens))
    server.should_exit = True
    thread.join(timeout=10)
    ratio = statistics.median(conc) / statistics.median(seq)
    print(json.dumps({"benchmark": "serve_concurrency", "model": backend.name, "clients": args.clients,
                      "max_tokens": args.max_tokens, "runs": args.runs,
                      "served_tokens_per_s": round(statistics.median(conc), 1),
                      "sequential_generate_tokens_per_s": round(statistics.median(seq), 1),
                      "served_all": [round(x, 1) for x in conc], "sequential_all": [round(x, 1) for x in seq],
                      "server_batch_sizes": batcher.batch_sizes, "max_wait_ms": args.max_wait_ms,
                      "ratio": round(ratio, 2), "target": ">= 3", "met": ratio >= 3}, indent=2))


if __name__ == "__main__":
    main()

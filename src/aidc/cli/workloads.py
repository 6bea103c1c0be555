"""`aidc data|train|eval|sweep|generate|serve`: the large-model lifecycle as commands (and later as jobs).

Only typer is imported here; torch, transformers and the workloads package load inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from aidc.cli.common import console, print_json, reports_errors

data_app = typer.Typer(no_args_is_help=True, help="Prepare corpora: clean, de-duplicate, redact PII, tokenize, shard.")

JSON = typer.Option(False, "--json", help="Print the report as JSON.")


def _threads() -> None:
    """Honour OMP_NUM_THREADS for torch (two busy threads on two cores run far slower than one)."""
    import os

    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@data_app.command("prepare")
@reports_errors
def data_prepare(config: Path = typer.Argument(..., help="A data config (examples/workloads/data-*.yaml)."),
                 as_json: bool = JSON) -> None:
    """Read, clean, redact, de-duplicate, split, train a BPE tokenizer and write shards with a manifest."""
    from aidc.core.spec_io import load_model
    from aidc.workloads.data.config import DataConfig
    from aidc.workloads.data.pipeline import prepare

    cfg, _ = load_model(config, DataConfig)
    report = prepare(cfg, console=None if as_json else console())
    if as_json:
        return print_json(report)
    out = console()
    out.print(f"[green]prepared[/] {report['name']}: {report['read']:,} read, {report['kept']:,} kept -> {report['output_dir']}")
    out.print(f"dropped: {report['dropped']}")
    out.print(f"PII found (redacted; see pii_findings.jsonl): {report['pii'] or 'none'}")
    for split, s in report["splits"].items():
        out.print(f"  {split:<10} {s['records']:>8,} records  tokens {s['tokens']}")


@data_app.command("verify")
@reports_errors
def data_verify(folder: Path = typer.Argument(..., help="A folder written by `aidc data prepare`."), as_json: bool = JSON) -> None:
    """Check every shard against the manifest's sha256; exit 1 on any problem."""
    from aidc.workloads.data.shards import verify

    problems = verify(folder)
    if as_json:
        print_json({"folder": str(folder), "ok": not problems, "problems": problems})
    else:
        for p in problems:
            console(stderr=True).print(f"[red]{p}[/]")
        if not problems:
            console().print(f"[green]ok[/] {folder}: every shard matches its checksum")
    if problems:
        raise typer.Exit(1)


@reports_errors
def train(config: Path = typer.Argument(..., help="A training config (examples/workloads/train-*.yaml)."),
          no_resume: bool = typer.Option(False, "--no-resume", help="Start over even if a checkpoint exists."),
          stop_after: Optional[int] = typer.Option(None, "--stop-after", min=1, help="Checkpoint and stop after this step."),
          nproc: int = typer.Option(1, "--nproc", min=1, help="Processes (DDP through torchrun)."),
          as_json: bool = JSON) -> None:
    """Train a model with AdamW, warmup + cosine; resumes from the checkpoint in out_dir."""
    if nproc > 1:
        return _torchrun(config, nproc, no_resume)
    _threads()
    from aidc.workloads.train.config import load_train_config
    from aidc.workloads.train.loop import train as run

    cfg = load_train_config(config)
    summary = run(cfg, resume=not no_resume, stop_after=stop_after, console=None if as_json else console())
    if as_json:
        return print_json(summary)
    console().print(f"[green]trained[/] {summary['steps']} steps: loss {summary['final_loss']}, val {summary['val_loss']}, "
                    f"{summary['tokens_per_s']} tokens/s, MFU {summary['mfu']}; {summary['checkpoint']}, {summary['loss_png']}")


def _torchrun(config: Path, nproc: int, no_resume: bool) -> None:
    import subprocess
    import sys

    from aidc.workloads.train.config import load_train_config

    load_train_config(config)  # located errors before any process starts
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "aidc.workloads.train", str(config), *(["--no-resume"] if no_resume else [])]
    raise typer.Exit(subprocess.call(cmd))


@reports_errors
def evaluate(checkpoints: list[Path] = typer.Argument(..., help="Training output folders to evaluate (several: a comparison)."),
             data: Optional[Path] = typer.Option(None, "--data", help="Prepared data (default: the one it trained on)."),
             split: str = typer.Option("test", "--split", help="train, validation or test."),
             limit: int = typer.Option(500, "--limit", min=1, help="Translation: pairs to translate."),
             as_json: bool = JSON) -> None:
    """Perplexity; for translation also BLEU and chrF beside the copy and dictionary baselines."""
    _threads()
    from aidc.workloads.evaluate.metrics import evaluate_checkpoint

    results = [evaluate_checkpoint(c, data_dir=data, split=split, limit=limit, console=None if as_json else console())
               for c in checkpoints]
    if as_json:
        return print_json(results[0] if len(results) == 1 else {"checkpoints": results,
                                                                 "best": min(results, key=lambda r: r["loss"])["checkpoint"]})
    from rich.table import Table

    table = Table("checkpoint", "loss", "perplexity", "BLEU", "chrF", title=f"{split} split")
    for r in results:
        table.add_row(r["checkpoint"], str(r["loss"]), str(r["perplexity"]),
                      str(r.get("model", {}).get("bleu", "-")), str(r.get("model", {}).get("chrf", "-")))
        for name, s in r.get("baselines", {}).items():
            table.add_row(f"  baseline: {name}", "", "", str(s["bleu"]), str(s["chrf"]))
    console().print(table)


@reports_errors
def sweep(config: Path = typer.Argument(..., help="A sweep config: base training config and the fields to vary."),
          submit: bool = typer.Option(False, "--submit", help="Run the trials as control-plane jobs (AIDC_URL)."),
          gpus: int = typer.Option(1, "--gpus", min=0, help="With --submit: GPUs per trial job."),
          tenant: Optional[str] = typer.Option(None, "--tenant", help="With --submit: the tenant to submit for."),
          as_json: bool = JSON) -> None:
    """Grid or random search; every trial trains (here, or as jobs with --submit), the best validation loss wins."""
    _threads()
    from aidc.core.spec_io import load_model
    from aidc.workloads.sweep import LocalRunner, SweepConfig, run_sweep

    cfg, _ = load_model(config, SweepConfig)
    if submit:
        from aidc.cli.sweep_jobs import ControlPlaneRunner

        runner = ControlPlaneRunner(sweep_name=config.stem, gpus=gpus, tenant=tenant)
    else:
        runner = LocalRunner(console=None if as_json else console())
    report = run_sweep(cfg, config, runner)
    if as_json:
        return print_json(report)
    for t in report["trials"]:
        console().print(f"{t['trial']}: {t['params']} -> val_loss {t['val_loss']}")
    console().print(f"[green]best[/] {report['best']}")


@reports_errors
def generate(model: str = typer.Argument(..., help="A training output folder, a Hugging Face folder, or 'smollm2'."),
             prompts: list[str] = typer.Argument(..., help="Prompts (for a translation model: source sentences)."),
             max_tokens: int = typer.Option(64, "--max-tokens", min=1),
             temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="0 = greedy."),
             top_k: int = typer.Option(0, "--top-k", min=0),
             top_p: float = typer.Option(1.0, "--top-p", min=0.0, max=1.0),
             chat: bool = typer.Option(False, "--chat", help="Wrap each prompt as a user message (chat template)."),
             as_json: bool = JSON) -> None:
    """Generate from prompts, batched, with the KV cache."""
    _threads()
    import torch

    from aidc.workloads.generate.sampling import SamplingParams

    from aidc.core.errors import AidcError

    torch.manual_seed(0)
    params = SamplingParams(max_tokens, temperature, top_k, top_p)
    if (Path(model) / "model.json").is_file() and '"translation"' in (Path(model) / "model.json").read_text():
        from aidc.workloads.generate.translate import translate
        from aidc.workloads.train.checkpoint import load_trained

        m, tok, _ = load_trained(Path(model))
        texts = translate(m, tok, prompts, max_new_tokens=max_tokens)
    elif Path(model).is_dir() and _hf_seq2seq(Path(model)):
        from aidc.workloads.generate.hf import load_seq2seq, seq2seq_generate

        tok, m = load_seq2seq(model)
        if tok is None:
            raise AidcError(f"{model} has weights but no tokenizer files")
        texts = seq2seq_generate(tok, m, prompts, max_new_tokens=max_tokens)
    else:
        from aidc.workloads.serve.backends import load_backend

        backend = load_backend(model)
        ids = [backend.encode_chat([{"role": "user", "content": p}]) if chat else backend.encode(p) for p in prompts]
        texts = [backend.decode(g.tokens) for g in backend.generate_batch(ids, [params] * len(ids))]
    if as_json:
        return print_json([{"prompt": p, "output": t} for p, t in zip(prompts, texts)])
    for p, t in zip(prompts, texts):
        console().print(f"[bold]{p}[/]\n  -> {t}")


def _hf_seq2seq(folder: Path) -> bool:
    from aidc.workloads.generate.hf import is_seq2seq

    return is_seq2seq(folder)


@reports_errors
def serve(model: str = typer.Argument(..., help="'smollm2', 'minilm' (embeddings), a Hugging Face folder or .gguf, or a trained GPT folder."),
          host: str = typer.Option("127.0.0.1", "--host"),
          port: int = typer.Option(8000, "--port", min=1, max=65535),
          max_batch: int = typer.Option(16, "--max-batch", min=1, help="Most requests in one batch."),
          max_wait_ms: float = typer.Option(10.0, "--max-wait-ms", min=0.0, help="How long a batch waits to fill."),
          name: Optional[str] = typer.Option(None, "--name", help="Model id in the API (default: from the model)."),
          ) -> None:
    """Serve an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions, streaming)."""
    _threads()
    from aidc.workloads.serve.app import serve as run

    run(model, host=host, port=port, max_batch_size=max_batch, max_wait_ms=max_wait_ms, name=name)


def register(app: typer.Typer) -> None:
    """Add the workload commands to the top-level `aidc` app."""
    app.add_typer(data_app, name="data", help="Prepare corpora: clean, de-duplicate, redact PII, tokenize, shard.")
    app.command("train", help="Train a model from a config (AdamW, warmup + cosine, checkpoints, DDP).")(train)
    app.command("eval", help="Perplexity, BLEU and chrF against baselines; compare checkpoints.")(evaluate)
    app.command("sweep", help="Grid or random search over training settings; the best trial wins.")(sweep)
    app.command("generate", help="Generate or translate with a trained or local Hugging Face model.")(generate)
    app.command("serve", help="Serve a model behind an OpenAI-compatible API.")(serve)

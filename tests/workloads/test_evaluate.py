"""Evaluation: baselines, BLEU/chrF wiring, perplexity of a trained model, sweep planning and picking."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aidc.core.errors import SpecError
from aidc.workloads.evaluate.baselines import build_dictionary, copy_baseline, dictionary_baseline
from aidc.workloads.evaluate.metrics import bleu_chrf, evaluate_checkpoint
from aidc.workloads.sweep import SweepConfig, plan_trials, run_sweep, trial_settings
from aidc.workloads.train.config import TrainConfig
from aidc.workloads.train.loop import train
from tests.workloads.conftest import gpt_train_config, make_pairs, write_yaml


def test_dictionary_learns_word_pairs_and_keeps_format_codes() -> None:
    table = build_dictionary(make_pairs(300))
    assert table["cat"] == "chat" and table["folder"] == "dossier"
    assert dictionary_baseline(["the red cat %s"], table) == ["le rouge chat %s"]
    assert copy_baseline(["x"]) == ["x"]


def test_bleu_chrf_perfect_and_wrong() -> None:
    assert bleu_chrf(["le chat rouge est ici"], ["le chat rouge est ici"]) == {"bleu": 100.0, "chrf": 100.0}
    bad = bleu_chrf(["xyz"], ["le chat rouge est ici"])
    assert bad["bleu"] < 5 and bad["chrf"] < 10


def test_dictionary_beats_copy_on_word_for_word_pairs() -> None:
    pairs = make_pairs(400)
    train_pairs, test_pairs = pairs[:350], pairs[350:]
    table = build_dictionary(train_pairs)
    src, ref = [s for s, _ in test_pairs], [t for _, t in test_pairs]
    assert bleu_chrf(dictionary_baseline(src, table), ref)["bleu"] > 90 > bleu_chrf(copy_baseline(src), ref)["bleu"]


def test_eval_of_a_gpt_reports_perplexity(prose_data: Path, tmp_path: Path) -> None:
    train(TrainConfig.model_validate(gpt_train_config(prose_data, tmp_path / "g")))
    result = evaluate_checkpoint(tmp_path / "g", split="validation")
    assert result["task"] == "lm" and math.isclose(result["perplexity"], math.exp(result["loss"]), rel_tol=1e-3)


def test_random_sweep_draws_distinct_points() -> None:
    cfg = SweepConfig(base=Path("x.yaml"), out_dir=Path("o"), mode="random", trials=3, params={"optim.lr": [1, 2, 3, 4], "seed": [0, 1]})
    settings = trial_settings(cfg)
    assert len(settings) == 3 and len({tuple(s.items()) for s in settings}) == 3


def test_sweep_picks_the_lowest_validation_loss(prose_data: Path, tmp_path: Path) -> None:
    base = write_yaml(tmp_path / "base.yaml", gpt_train_config(prose_data, tmp_path / "unused"))
    sweep_path = tmp_path / "sweep.yaml"
    cfg = SweepConfig(base=base, out_dir=tmp_path / "sw", params={"optim.lr": [0.01, 1e-5]})

    class FakeRunner:  # the interface a control-plane runner implements
        def __init__(self) -> None:
            self.seen: list[Path] = []

        def run(self, name: str, config_path: Path) -> dict:
            self.seen.append(config_path)
            lr = TrainConfig.model_validate(__import__("yaml").safe_load(config_path.read_text())).optim.lr
            return {"val_loss": 1.0 / lr, "out_dir": name}

    runner = FakeRunner()
    report = run_sweep(cfg, sweep_path, runner)
    assert report["best"]["params"] == {"optim.lr": 0.01} and len(runner.seen) == 2
    assert (tmp_path / "sw" / "sweep.json").is_file()


def test_sweep_value_of_the_wrong_type_is_a_located_error(tmp_path: Path) -> None:
    base = write_yaml(tmp_path / "base.yaml", gpt_train_config(tmp_path / "d", tmp_path / "o"))
    cfg = SweepConfig(base=base, out_dir=tmp_path / "sw", params={"batch_size": ["big"]})
    with pytest.raises(SpecError) as err:
        plan_trials(cfg, tmp_path / "sweep.yaml")
    assert err.value.issues[0].path == "batch_size"


@pytest.mark.slow
def test_demo_loop_without_the_question(tmp_path: Path) -> None:
    from rich.console import Console

    from aidc.workloads.demo import LOCALE, run_demo

    if not any(LOCALE.glob("*.mo")):
        pytest.skip("no French gettext catalogs on this machine")
    console = Console(record=True, width=120)
    result = run_demo(console, tmp_path, max_pairs=1500, steps=5, ask=False)
    text = console.export_text()
    assert "BLEU" in text and "baseline: dictionary" in text
    assert result["data"]["kept"] > 500 and result["train"]["steps"] == 5


@pytest.mark.parametrize("name", ["serve-smollm2.yaml", "prepare-en-fr.yaml", "train-en-fr.yaml"])
def test_example_jobs_are_valid_job_specs(name: str) -> None:
    from aidc.core.jobs import JobSpec
    from aidc.core.spec_io import load_model
    from tests.conftest import EXAMPLES

    spec, _ = load_model(EXAMPLES / "workloads" / "jobs" / name, JobSpec)
    assert spec.command and spec.command.startswith("aidc ")


@pytest.mark.parametrize("name", ["train-en-fr.yaml", "train-shakespeare.yaml"])
def test_example_training_configs_validate(name: str) -> None:
    from aidc.core.spec_io import load_model
    from tests.conftest import EXAMPLES

    cfg, _ = load_model(EXAMPLES / "workloads" / name, TrainConfig)
    assert cfg.optim.max_steps > cfg.optim.warmup_steps


def test_example_sweep_validates() -> None:
    from aidc.core.spec_io import load_model
    from tests.conftest import EXAMPLES

    cfg, _ = load_model(EXAMPLES / "workloads" / "sweep-en-fr.yaml", SweepConfig)
    assert len(trial_settings(cfg)) == 6

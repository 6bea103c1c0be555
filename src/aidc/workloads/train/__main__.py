"""`python -m aidc.workloads.train CONFIG [--no-resume]`: the entry point torchrun starts in each process."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from aidc.workloads.train.config import load_train_config
from aidc.workloads.train.loop import train


def main(argv: list[str]) -> None:
    if os.environ.get("OMP_NUM_THREADS"):
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    summary = train(load_train_config(Path(argv[0])), resume="--no-resume" not in argv)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1:])

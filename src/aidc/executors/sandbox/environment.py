"""A job's environment: an allow-list of the launcher's variables plus the job's own, never a secret."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

# variables of the server's or agent's environment a job may inherit (locale, thread counts, offline
# switches); everything else, AIDC_DATABASE_URL and tokens included, is dropped
INHERITED = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "NO_COLOR", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "OPENBLAS_NUM_THREADS", "PYTHONUNBUFFERED", "PYTHONHASHSEED", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
             "HF_DATASETS_OFFLINE", "TOKENIZERS_PARALLELISM", "TQDM_DISABLE", "CUBLAS_WORKSPACE_CONFIG")
# names a job's own env may not set: the sandbox sets them, or they change how the sandbox's helpers run
RESERVED = frozenset({"HOME", "USER", "LOGNAME", "TMPDIR", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
                      "AIDC_JOB_ID", "AIDC_JOB_NAME", "AIDC_NODES", "AIDC_JOB_TOKEN", "AIDC_GPUS",
                      "AIDC_SERVER"})
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRET_HINT = re.compile(r"(TOKEN|PASSWORD|SECRET|DATABASE_URL|API_KEY)", re.IGNORECASE)


def job_environment(*, launcher: Mapping[str, str], job_env: Mapping[str, str], fixed: Mapping[str, str]) -> dict[str, str]:
    """The whole environment a job starts with: allow-listed launcher variables, then the job's own
    (valid names only, reserved ones dropped), then what the sandbox fixes (identity, GPUs, job id)."""
    env = {k: launcher[k] for k in INHERITED if k in launcher}
    env.update({k: v for k, v in job_env.items() if NAME.fullmatch(k) and k not in RESERVED and "\0" not in v})
    env.update(fixed)
    return env


def launcher_secrets(launcher: Mapping[str, str] | None = None) -> dict[str, str]:
    """The launcher's variables that look secret (for tests and the escape corpus: none may reach a job)."""
    launcher = os.environ if launcher is None else launcher
    return {k: v for k, v in launcher.items() if SECRET_HINT.search(k) and len(v) >= 8}

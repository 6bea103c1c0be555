"""Shared CLI plumbing: consoles, JSON output, and turning aidc errors into exit code 2 without a traceback."""

from __future__ import annotations

import functools
import json
import math
import sys
from typing import Any, Callable, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USAGE = 2  # bad input: a spec, a config, an argument


def console(stderr: bool = False):  # -> rich.console.Console, imported lazily to keep --help fast
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or "COLUMNS" in os.environ else 140  # pipes and CI get wide tables
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def finite(data: Any) -> Any:
    """The same data with every NaN or infinite float as None: JSON has no NaN, and a figure that does
    not exist (the mean of no jobs) is null."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def print_json(data: Any) -> None:
    """Machine-readable output for `--json`: one valid JSON document on stdout (no NaN), nothing else."""
    sys.stdout.write(json.dumps(finite(data), indent=2, sort_keys=False, default=str, allow_nan=False) + "\n")


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print an error for a person and exit; never a traceback."""
    console(stderr=True).print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def reports_errors(func: F) -> F:
    """Decorator for commands: AidcError (located spec errors included) -> message on stderr, exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from aidc.core.errors import AidcError, SpecError

        try:
            return func(*args, **kwargs)
        except SpecError as exc:
            err = console(stderr=True)
            for issue in exc.issues:
                style = "red" if issue.severity == "error" else "yellow"
                err.print(issue.format(exc.source), style=style, markup=False, highlight=False, soft_wrap=True)
            n = len(exc.errors)
            err.print(f"{n} error{'s' if n != 1 else ''} in {exc.source or 'input'}", style="bold red")
            raise typer.Exit(EXIT_USAGE) from None
        except AidcError as exc:
            fail(str(exc))
        except FileNotFoundError as exc:
            fail(f"no such file: {exc.filename}")

    return wrapper  # type: ignore[return-value]

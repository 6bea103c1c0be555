"""Located, collectable errors for anything a person typed: specs, catalogs, configs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class SpecIssue:
    """One problem in an input: where (file, line, field path) and what, in words a person can act on."""

    path: str  # field path such as "site.rooms[0].racks[2].power_budget_kw"; "" for the document
    message: str
    line: int | None = None  # 1-based line in the source file, when known
    severity: Severity = "error"

    def format(self, source: str | None = None) -> str:
        where = source or "<spec>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        prefix = "" if self.severity == "error" else "warning: "
        field_part = f"{self.path}: " if self.path else ""
        return f"{where}: {prefix}{field_part}{self.message}"


class AidcError(Exception):
    """Base class of errors aidc reports to a person without a traceback."""


@dataclass
class SpecError(AidcError):
    """A spec (datacenter, GPU catalog, job, config) that failed validation; carries every issue found."""

    source: str | None
    issues: list[SpecIssue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    @property
    def errors(self) -> list[SpecIssue]:
        return [i for i in self.issues if i.severity == "error"]

    def __str__(self) -> str:
        return "\n".join(i.format(self.source) for i in self.issues)


class UnknownNameError(AidcError, KeyError):
    """A name (GPU model, template, tenant) that is not defined; the message suggests close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def did_you_mean(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    """' (did you mean X?)' for the closest candidate, or a short list of what exists."""
    import difflib

    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {lowered[close[0]]}?)"
    shown = ", ".join(sorted(candidates)[:12])
    more = "" if len(candidates) <= 12 else ", ..."
    return f" (known: {shown}{more})" if candidates else ""

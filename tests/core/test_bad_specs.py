"""The bad-spec corpus: every file names, in its trailing `# expect:` lines, each error it must produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from aidc.core.errors import SpecError
from aidc.core.loader import load_datacenter

CORPUS = sorted((Path(__file__).parent / "bad_specs").glob("*.yaml"))


def expected_issues(path: Path) -> list[tuple[int, str, str]]:
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("# expect: "):
            number, field, message = (part.strip() for part in line[len("# expect: "):].split(" | ", 2))
            out.append((int(number), field, message))
    return out


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_bad_spec_reports_every_error_located(path: Path) -> None:
    expected = expected_issues(path)
    assert expected, f"{path.name} declares no expected error"
    with pytest.raises(SpecError) as info:
        load_datacenter(path)
    got = [(i.line, i.path, i.message) for i in info.value.errors]
    assert got == expected
    for issue in info.value.errors:
        rendered = issue.format(str(path))
        assert "\n" not in rendered and rendered.startswith(f"{path}:{issue.line}: ")

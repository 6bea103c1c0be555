"""Text cleaning: Unicode normalisation, control characters, length and a stop-word language check."""

from __future__ import annotations

import re
import unicodedata

from aidc.workloads.data.config import CleanConfig

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Frequent function words; a text is rejected only when another language's words clearly outnumber them.
STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the of and to in is you that it he was for on are as with his they at be this have from "
                    "or by not but what all were we when your can said there use an each which she do how if "
                    "will file files no cannot invalid".split()),
    "fr": frozenset("le la les de des du et un une est en que qui dans pour pas au sur ne se ce il elle nous "
                    "vous ils sont avec par plus son sa ses aux été être fichier fichiers impossible".split()),
    "de": frozenset("der die das und ist nicht ein eine zu den mit von sich auf für dem des im werden kann".split()),
    "es": frozenset("el los las y es en que un una por con para del se no al lo como más pero sus".split()),
}


def drop_control_chars(text: str) -> str:
    """Remove control and format characters (Cc, Cf) except newline and tab."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def normalize(text: str, form: str = "NFKC") -> str:
    """Unicode normal form, no control characters, runs of spaces collapsed, lines stripped."""
    text = drop_control_chars(unicodedata.normalize(form, text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def language_votes(text: str) -> dict[str, int]:
    """How many words of the text are stop words of each known language."""
    words = [w.lower() for w in _WORD.findall(text)]
    return {lang: sum(w in stop for w in words) for lang, stop in STOPWORDS.items()}


def looks_like(text: str, language: str) -> bool:
    """False when the text is mostly non-Latin letters, or another language's stop words clearly win."""
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(ch.isascii() or "LATIN" in unicodedata.name(ch, "") for ch in letters) / len(letters) < 0.7:
        return False
    votes = language_votes(text)
    mine = votes.get(language, 0)
    best_other = max((v for lang, v in votes.items() if lang != language), default=0)
    return best_other <= max(1, 2 * mine)


def rejection(text: str, config: CleanConfig, language: str | None) -> str | None:
    """Why a cleaned text is dropped (a reason for the report), or None to keep it."""
    if len(text) < config.min_chars:
        return "too_short"
    if len(text) > config.max_chars:
        return "too_long"
    if language and not looks_like(text, language):
        return f"not_{language}"
    return None

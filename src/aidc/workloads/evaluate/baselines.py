"""Translation baselines a model must beat: copy the source, and word-by-word from a learned dictionary.

The dictionary pairs each source word with the target word of highest Dice coefficient
2 c(s, t) / (c(s) + c(t)) over the training pairs (c counts pairs containing the words); unknown
words are copied. It is the strongest thing one can build from the pairs without modelling order.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"(?<![%\\&$])[^\W\d_]+", re.UNICODE)  # letters only: numbers and format codes such as %s stay as they are


def words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def copy_baseline(sources: list[str]) -> list[str]:
    return list(sources)


def build_dictionary(pairs: list[tuple[str, str]], min_count: int = 2) -> dict[str, str]:
    """Lower-cased source word -> the target word that co-occurs with it best (Dice)."""
    c_src, c_tgt, c_pair = Counter(), Counter(), defaultdict(Counter)
    for src, tgt in pairs:
        s_words, t_words = {w.lower() for w in words(src)}, set(words(tgt))
        c_src.update(s_words)
        c_tgt.update(t_words)
        for s in s_words:
            c_pair[s].update(t_words)
    table = {}
    for s, targets in c_pair.items():
        if c_src[s] < min_count:
            continue
        best, score = max(((t, 2 * n / (c_src[s] + c_tgt[t])) for t, n in targets.items()), key=lambda x: x[1])
        table[s] = best if score > 0.1 else s
    return table


def dictionary_baseline(sources: list[str], table: dict[str, str]) -> list[str]:
    """Each word replaced in place (spacing and punctuation kept), unknown words copied."""
    return [_WORD.sub(lambda m: table.get(m.group().lower(), m.group()), s) for s in sources]

"""The share of the oracle gap a policy captures, and rolling-origin tuning (choose on the past, score on the next window).

A no-oracle policy is judged against two references replayed on the same window: Tiresias (what a
scheduler that sees only attained service reaches) and SRTF on true durations (what perfect knowledge
of every run time reaches). Its share of the gap is

    share = (JCT_tiresias - JCT_policy) / (JCT_tiresias - JCT_oracle)

1 = as good as the oracle, 0 = no better than Tiresias, negative = worse. The figure is comparable
across windows of very different load, where a percentage gain is not (a light window leaves no gain
to take). Where the oracle gap is under `MIN_GAP_PCT` of Tiresias's JCT the share is noise and is
reported as None.

Rolling origin: a policy's options are chosen on the windows *before* the one scored, never on it
(`rolling_origin`), as a forecaster is backtested; the first window is scored with the defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

BASELINE, ORACLE = "tiresias", "srtf"  # the reference policies (SRTF runs on true durations)
MIN_GAP_PCT = 2.0  # below this oracle gain (% of Tiresias's average JCT) a share is not reported


def oracle_gap_share(policy_s: float, baseline_s: float, oracle_s: float, min_gap_pct: float = MIN_GAP_PCT) -> float | None:
    """(baseline - policy) / (baseline - oracle), or None where the gap is too small to divide by."""
    values = (policy_s, baseline_s, oracle_s)
    if any(v is None or not math.isfinite(v) for v in values) or baseline_s <= 0:
        return None
    gap = baseline_s - oracle_s
    if gap <= baseline_s * min_gap_pct / 100:
        return None
    return (baseline_s - policy_s) / gap


def gap_shares(avg_jct_s: dict[str, float], baseline: str = BASELINE, oracle: str = ORACLE) -> dict[str, float | None]:
    """Share of the oracle gap per policy name, given each one's average JCT ({} without both references)."""
    if baseline not in avg_jct_s or oracle not in avg_jct_s:
        return {}
    b, o = avg_jct_s[baseline], avg_jct_s[oracle]
    return {name: oracle_gap_share(v, b, o) for name, v in avg_jct_s.items()}


def oracle_gap_report(summaries: dict[str, dict], lower_bound_s: float | None = None,
                      baseline: str = BASELINE, oracle: str = ORACLE) -> dict:
    """`_oracle_gap` of `sim compare --json`: the references' average JCT, the gap in % of the baseline,
    and every policy's share (and the lower bound's, the most any policy could reach); {} without both."""
    avg = {n: s["avg_jct_s"] for n, s in summaries.items() if not n.startswith("_")}
    shares = gap_shares(avg, baseline, oracle)
    if not shares:
        return {}
    b, o = avg[baseline], avg[oracle]
    out = {"baseline": baseline, "oracle": oracle, "baseline_avg_jct_s": round(b, 1), "oracle_avg_jct_s": round(o, 1),
           "gap_pct": round(100 * (b - o) / b, 2) if b > 0 else None, "min_gap_pct": MIN_GAP_PCT,
           "shares": {n: None if v is None else round(v, 3) for n, v in shares.items()}}
    if lower_bound_s is not None:
        bound = oracle_gap_share(lower_bound_s, b, o)
        out["lower_bound_share"] = None if bound is None else round(bound, 3)
    return out


@dataclass(frozen=True)
class Scored:
    """One window's outcome for one candidate: average and p99 JCT, and both references'."""

    avg_jct_s: float
    p99_jct_s: float
    baseline_avg_s: float
    baseline_p99_s: float
    oracle_avg_s: float

    @property
    def share(self) -> float | None:
        return oracle_gap_share(self.avg_jct_s, self.baseline_avg_s, self.oracle_avg_s)

    @property
    def p99_change_pct(self) -> float:
        return 100 * (self.p99_jct_s / self.baseline_p99_s - 1) if self.baseline_p99_s > 0 else 0.0


@dataclass
class RollingResult:
    """Per scored window: the candidate chosen on the windows before it, and how it did."""

    rows: list[dict] = field(default_factory=list)

    def shares(self) -> list[float]:
        return [r["share"] for r in self.rows if r["share"] is not None]

    def as_dict(self) -> dict:
        shares = self.shares()
        return {
            "windows": self.rows,
            "worst_share": round(min(shares), 3) if shares else None,
            "median_share": round(sorted(shares)[len(shares) // 2], 3) if shares else None,
            "windows_p99_worse": sum(r["p99_vs_baseline_pct"] > 0 for r in self.rows),
        }


def tuning_score(history: Sequence[Scored]) -> float:
    """How a candidate did on past windows: its mean share, less a penalty of 0.5 per window whose
    p99 was worse than Tiresias's by more than 1% (robustness over the best case)."""
    shares = [h.share for h in history if h.share is not None]
    if not shares:
        return 0.0
    worse = sum(h.p99_change_pct > 1.0 for h in history)
    return sum(shares) / len(shares) - 0.5 * worse / len(history)


def rolling_origin(
    windows: Sequence[str], candidates: Sequence[str], score: Callable[[str, str], Scored], default: str,
) -> RollingResult:
    """Score each window with the candidate that did best (`tuning_score`) on all windows before it.

    `score(window, candidate)` replays one candidate on one window (with the references); every pair
    is replayed once. The first window uses `default`. Ties keep the earlier candidate in the list.
    """
    seen: dict[str, list[Scored]] = {c: [] for c in candidates}
    out = RollingResult()
    for w in windows:
        if any(seen.values()):
            chosen = max(candidates, key=lambda c: (tuning_score(seen[c]), -candidates.index(c)))
        else:
            chosen = default
        results = {c: score(w, c) for c in candidates}
        got = results[chosen]
        out.rows.append({
            "window": w, "chosen": chosen, "tuned_on": len(next(iter(seen.values()))),
            "share": None if got.share is None else round(got.share, 3),
            "avg_jct_s": round(got.avg_jct_s), "baseline_avg_jct_s": round(got.baseline_avg_s),
            "oracle_avg_jct_s": round(got.oracle_avg_s),
            "avg_vs_baseline_pct": round(100 * (got.avg_jct_s / got.baseline_avg_s - 1), 1),
            "p99_vs_baseline_pct": round(got.p99_change_pct, 1),
            "every_candidate_share": {c: None if r.share is None else round(r.share, 3) for c, r in results.items()},
        })
        for c, r in results.items():
            seen[c].append(r)
    return out

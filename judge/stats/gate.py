"""The regression gate's rules and tests: when does ``compare --fail-on-regression`` fire?

The nightly gate is one yes/no decision, so its error rate is **family-wise**: the probability
that it fires at all when nothing changed is held at ``alpha``, whatever the number of cells.
The default, 0.025 one-sided, asks for the same evidence as a two-sided 95% interval that
excludes zero after the correction: a false alarm on about one night in forty, not one in twenty,
for little power (benchmarks/RESULTS.md: +0.10 in one mechanism at 200 items is caught in 98% of
trials at 0.025 and in 99% at 0.05). Holm's step-down correction over the *primary* cells does that under any
dependence between them, and is uniformly more powerful than Bonferroni. Under the global null
Benjamini-Hochberg would fire about as often; the two differ in what a flagged cell means once
something did move. Holm controls the family-wise rate in the strong sense (with probability at
least 1 - alpha *every* flagged cell really moved), so the list of regressed rubrics the gate
prints can be trusted cell by cell; BH bounds only the expected share of false cells among the
flagged ones, which suits a list of leads, not an alarm that names culprits.

The rules, applied per primary cell (a rubric version, pooled over dimensions and models):

1. a cell with fewer than ``min_items`` paired items is reported and never tested: it takes no
   part in the correction (so it cannot dilute it) and never gates;
2. each tested cell's p-value is a one-sided sign-flip permutation test of "no increase" on the
   per-item panel differences (new - baseline). Under the null that an item's difference is as
   likely to be +d as -d (nothing changed: both runs' verdicts are exchangeable), the test is
   exact at any n; the Monte Carlo p-value (1 + #{T* >= T}) / (1 + B) is valid for any B;
3. Holm-adjusted p-values across the tested cells; a cell *gates* when its adjusted p-value is
   at most ``alpha`` **and** its estimated increase exceeds ``min_effect`` (the DELTA of
   ``--fail-on-regression``, default 0.05 on the normalised severity scale). The test guards
   against noise; the effect floor keeps a large, precise run from failing a nightly over an
   increase too small to act on. Testing against DELTA itself ("increase > DELTA") would hold
   the error rate for increases up to DELTA too, but to catch an increase of 2 x DELTA it needs
   about four times the items (benchmarks/gate_error_rates.py measures both).

Finer cells (rubric x dimension x model) are exploratory: reported with their own intervals and
unadjusted p-values, never part of the family, never gating.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from judge.core.errors import ConfigError
from judge.stats.bootstrap import CHUNK_CELLS

# Bounds of the Monte Carlo resamples (bootstrap intervals and sign flips): below 100 the
# intervals and p-values are too coarse to mean anything; above 100,000 only time grows.
MIN_RESAMPLES = 100
MAX_RESAMPLES = 100_000


@dataclass(frozen=True)
class GateRules:
    """The gate's settings (every one recorded in the comparison's ``gate``)."""

    alpha: float = 0.025  # family-wise error rate over the primary cells (one-sided)
    min_items: int = 30  # paired items a cell needs to be tested
    min_effect: float = 0.05  # the smallest increase (normalised severity) that can gate
    n_boot: int = 10_000  # bootstrap resamples for intervals, and sign flips for p-values
    seed: int = 0
    ci: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name}: {value!r} must be a finite number")
    return float(value)


def _integer(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        span = f"from {low:,} to {high:,}" if high is not None else f"at least {low:,}"
        raise ConfigError(f"{name}: {value!r} must be an integer {span}")
    return value


def check_rules(
    *,
    alpha: Any = GateRules.alpha,
    min_items: Any = GateRules.min_items,
    min_effect: Any = GateRules.min_effect,
    n_boot: Any = GateRules.n_boot,
    seed: Any = GateRules.seed,
) -> GateRules:
    """The rules, each checked (ConfigError naming the command-line option and the allowed range)."""
    a = _number("--alpha", alpha)
    if not 0 < a <= 0.5:
        raise ConfigError(f"--alpha: {alpha!r} must be above 0 and at most 0.5 (the gate's family-wise error rate)")
    effect = _number("--fail-on-regression", min_effect)
    if not 0 <= effect < 1:
        raise ConfigError(
            f"--fail-on-regression: {min_effect!r} must be at least 0 and below 1 (an increase in normalised severity)"
        )
    return GateRules(
        alpha=a,
        min_items=_integer("--min-items", min_items, 2),
        min_effect=effect,
        n_boot=_integer("--n-boot", n_boot, MIN_RESAMPLES, MAX_RESAMPLES),
        seed=_integer("--seed", seed, 0, 2**63 - 1),
    )


def sign_flip_pvalue(diffs: np.ndarray, *, n_flips: int, seed: int | list[int]) -> float | None:
    """One-sided p-value of "no increase" for paired differences: the share of random sign flips
    whose mean is at least the observed mean, (1 + count) / (1 + n_flips). None without data.

    Chunked so that memory stays near ``CHUNK_CELLS`` floats whatever ``n_flips`` and n.
    """
    d = np.asarray(diffs, dtype=np.float64)
    n = len(d)
    if n == 0:
        return None
    observed = d.sum()
    # Sums that equal the observed one up to rounding count as "at least" (ties are common:
    # panel scores sit on a grid of 1/8s and 1/16s).
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))
    # A flip pattern is n random bits b; its statistic is sum((2b - 1) d) = 2 (b . d) - sum(d), so
    # "at least the observed sum" is b . d >= sum(d) - tol / 2. The bits come a byte at a time:
    # table[k, byte] is the sum of d over the bits set in that byte at position k, so b . d is a
    # sum of n / 8 table lookups (a quarter of the time of the matrix product over single bits).
    n_bytes = (n + 7) // 8
    padded = np.zeros(n_bytes * 8)
    padded[:n] = d
    table = padded.reshape(n_bytes, 8) @ np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).T
    target, position = observed - tol / 2, np.arange(n_bytes)
    rng = np.random.default_rng(seed)
    hits, step = 0, max(1, CHUNK_CELLS // n_bytes)
    for start in range(0, n_flips, step):
        b = min(step, n_flips - start)
        draws = rng.integers(0, 256, size=(b, n_bytes), dtype=np.uint8)
        hits += int((table[position, draws].sum(axis=1) >= target).sum())
    return (1 + hits) / (1 + n_flips)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (family-wise error control).

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted

"""Synthetic verdict panels with known structure, shared by the statistics tests."""

from __future__ import annotations

import numpy as np
import polars as pl

SCHEMA = {
    "item_id": pl.String,
    "model": pl.String,
    "rubric_id": pl.String,
    "family": pl.String,
    "mechanism": pl.String,
    "dimension": pl.String,
    "judge": pl.String,
    "repeat": pl.Int64,
    "status": pl.String,
    "score": pl.Float64,
    "rubric_version": pl.Int64,
}


def truth(n_items: int, seed: int = 1) -> np.ndarray:
    """The latent 0-4 severity of each item (what an ideal judge would say)."""
    return np.random.default_rng(seed).integers(0, 5, n_items)


def synth(
    kinds: dict[str, str],
    *,
    n_items: int = 200,
    repeats: int = 2,
    seed: int = 1,
    invalid: float = 0.0,
    rubric: tuple[str, str, str] = ("sa-graded", "graded", "sentiment_attenuation"),
) -> pl.DataFrame:
    """Verdict rows for judges of kind identical (= truth), random (uniform 0-4, independent)
    or adversarial (4 - truth); scores normalised to [0, 1]. ``invalid`` is the chance that a
    row is status invalid with a null score."""
    sev = truth(n_items, seed)
    rng = np.random.default_rng(seed + 1)
    rows = []
    for i in range(n_items):
        for judge, kind in kinds.items():
            for r in range(repeats):
                s = {"identical": sev[i], "adversarial": 4 - sev[i]}.get(kind)
                s = rng.integers(0, 5) if s is None else s
                bad = rng.random() < invalid
                rows.append(
                    (f"i{i:04d}", f"m{i % 2}", *rubric, "cognitive", judge, r,
                     "invalid" if bad else "ok", None if bad else float(s) / 4, 1)
                )  # fmt: skip
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def has_nan(df: pl.DataFrame) -> bool:
    """True if any float column holds a NaN (results must use null instead)."""
    return any(
        bool(df[c].is_nan().any()) for c, t in df.schema.items() if t in (pl.Float32, pl.Float64)
    )

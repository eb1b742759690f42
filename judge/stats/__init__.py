"""Statistics over long-format verdicts: the one item-panel reducer (``panel``), the one bootstrap
(``bootstrap``), agreement coefficients, panel scores, diagnostics, judge cards, paper metrics,
cost, judge health, the summary and run comparisons.

Imports only ``judge.core``: callers load runs and datasets and hand over frames and records;
nothing here reads or writes a file.
"""

"""Statistics over long-format verdicts: agreement coefficients, bootstrap, panel scores,
diagnostics, paper metrics, summary, comparisons.
"""

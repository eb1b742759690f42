"""The embedded offline judges: deterministic heuristic baselines that need no key and no network.
"""

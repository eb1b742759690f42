"""Views of a run: summary.json and disagreement.jsonl (numbers from ``judge.stats``), the
terminal table, the self-contained report.html, and comparisons of two runs. Views read
summary.json; they compute no statistic of their own."""

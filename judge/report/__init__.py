"""Views of a run: the terminal table and the self-contained report.html."""

"""empathy-judge: LLM-as-judge evaluation of empathy failure mechanisms."""

__version__ = "0.1.0"

__all__ = ["__version__"]

"""Inspect AI eval logs as datasets: judge each sample's input and the model's output.

Needs the optional ``inspect`` extra (``pip install 'empathy-judge[inspect]'``); the log is read
with Inspect's own reader (``inspect_ai.log``), so both of its formats (``.eval`` and ``.json``) and
every log version it reads work. One row per sample and epoch:

- ``id``: the sample id; ``<id>-e<N>`` for epochs after the first. ``source_id``: the sample id, so
  the epochs of one input group together.
- ``source``: the input: a string as is, or the text of the user messages of a chat input, joined
  by blank lines (system and assistant turns are not the user's words).
- ``response``: the model's final completion (``output.completion``).
- ``model``: the evaluated model of the log (``eval.model``).
- the sample's metadata, each key as a column (``task`` and ``dimension`` are read from there
  when present; otherwise give them with ``--map``); ``target`` (Inspect's target, joined when a
  list), ``epoch``, ``inspect_task`` (the eval's task name) and ``inspect_error`` (a sample that
  errored: its completion is usually empty, and the row is kept so nothing disappears silently).
  A metadata key that clashes with these is kept as ``sample_<key>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from judge.core.errors import DatasetError

EXTRA = "pip install 'empathy-judge[inspect]'"
OWN = ("id", "source_id", "source", "response", "model", "target", "epoch", "inspect_task", "inspect_error")


def looks_like_inspect_json(head: bytes) -> bool:
    """An Inspect JSON log is one object with ``version`` and ``eval`` near its start."""
    text = head.decode("utf-8", "replace").lstrip()
    return text.startswith("{") and '"eval"' in text and '"version"' in text


def _log_api(path: Path) -> Any:
    try:
        import inspect_ai.log as log_api
    except ImportError:
        raise DatasetError(
            f"{path}: an Inspect AI eval log; reading it needs Inspect AI, which is not installed: {EXTRA}"
        ) from None
    return log_api


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [m.text for m in value if getattr(m, "role", None) == "user" and getattr(m, "text", "")]
        return "\n\n".join(parts)
    return "" if value is None else str(value)


def inspect_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Rows of an Inspect AI eval log, named ``sample <id> epoch <n>`` in error messages."""
    log_api = _log_api(path)
    try:
        header = log_api.read_eval_log(str(path), header_only=True)
        if header.eval.dataset.sample_ids is not None:
            # One sample at a time; attachments resolved (long texts are stored once, by reference),
            # the events and store (the bulk of an agent log) never read.
            samples = log_api.read_eval_log_samples(str(path), all_samples_required=False, resolve_attachments=True,
                                                    exclude_fields={"events", "store"})  # fmt: skip
        else:  # a log written without its sample list: Inspect's streaming reader needs it
            samples = log_api.read_eval_log(str(path), resolve_attachments=True).samples or []
        model = header.eval.model
        task = header.eval.task
        for sample in samples:
            epoch = int(sample.epoch or 1)
            sample_id = str(sample.id)
            row: dict[str, Any] = {
                "id": sample_id if epoch == 1 else f"{sample_id}-e{epoch}",
                "source_id": sample_id,
                "source": _text(sample.input),
                "response": sample.output.completion if sample.output is not None else "",
                "model": model,
                "target": "\n".join(sample.target) if isinstance(sample.target, list) else sample.target,
                "epoch": epoch,
                "inspect_task": task,
                "inspect_error": sample.error.message if sample.error is not None else None,
            }
            for key, value in (sample.metadata or {}).items():
                row[f"sample_{key}" if key in OWN else key] = value
            yield f"sample {sample_id} epoch {epoch}", row
    except DatasetError:
        raise
    except Exception as exc:  # Inspect raises its own and pydantic's errors for a bad file
        raise DatasetError(
            f"{path}: cannot be read as an Inspect AI eval log ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None

"""Column mapping: read a dataset whose columns have other names (``--map response=output,source=prompt``).

A mapping renames columns as each row is read: ``NEW=OLD`` takes the value of column OLD as field
NEW, and OLD is no longer seen under its own name. NEW is usually one of the dataset's fields
(``id``, ``task``, ``source``, ``response``, ``model``, ``reference``, ``dimension``,
``source_id``, a gold column), but any name is allowed, so a column that would be hidden by a
mapped one can be moved aside (``--map response=output,original_response=response``).

The same mapping is accepted from the command line (a string, repeatable) and from a config file
(a YAML mapping, ``map: {response: output}``); either way it is stored in the run's options and
plan identity, so ``--resume`` reads the file the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from judge.core.errors import ConfigError, DatasetError


def parse_map(given: str | Iterable[str] | Mapping[str, Any] | None, *, where: str = "--map") -> dict[str, str]:
    """``"response=output,source=prompt"`` (or several such strings, or a mapping) as
    ``{"response": "output", "source": "prompt"}``; ConfigError naming the bad part."""
    if given is None:
        return {}
    pairs: list[tuple[str, Any]] = []
    if isinstance(given, Mapping):
        pairs = list(given.items())
    else:
        for spec in [given] if isinstance(given, str) else list(given):
            if not isinstance(spec, str):
                raise ConfigError(f"{where}: expected NEW=OLD pairs as text, got {type(spec).__name__}")
            for part in spec.split(","):
                if not part.strip():
                    continue
                if "=" not in part:
                    raise ConfigError(f"{where}: '{part.strip()}' is not NEW=OLD (e.g. --map response=output)")
                new, old = part.split("=", 1)
                pairs.append((new.strip(), old.strip()))
    out: dict[str, str] = {}
    for new, old in pairs:
        if not isinstance(new, str) or not isinstance(old, str) or not new or not old:
            raise ConfigError(f"{where}: '{new}={old}': both names must be non-empty text (NEW=OLD)")
        if new in out:
            raise ConfigError(f"{where}: field '{new}' is mapped twice ('{out[new]}' and '{old}'); map it once")
        if new != old:
            out[new] = old
    return out


def show_map(mapping: Mapping[str, str]) -> str:
    """The command-line spelling of a mapping: ``response=output,source=prompt``."""
    return ",".join(f"{new}={old}" for new, old in mapping.items())


def apply_map(row: dict[str, Any], mapping: Mapping[str, str], path: object, where: str) -> dict[str, Any]:
    """The row with its columns renamed; DatasetError when a mapped column is missing from the row's
    header or a column would be hidden by a mapped one."""
    if not mapping:
        return row
    taken = set(mapping.values())
    out = {key: value for key, value in row.items() if key not in taken}
    for new, old in mapping.items():
        if new in out:
            raise DatasetError(
                f"{path}: {where}: column '{new}' would be hidden by the mapping {new}={old}; map it aside as "
                f"well (--map {new}={old},original_{new}={new}) or drop it from the file"
            )
    for new, old in mapping.items():
        if old in row:
            out[new] = row[old]
    return out

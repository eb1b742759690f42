"""Judges found by name: the model string's prefix picks the backend that builds the judge.

A backend registers itself under a prefix (``register_backend("offline", ...)``): every judge
whose model string starts with ``offline/`` is then built and priced by it. One backend may be
the default, for every prefix nobody registered: the LiteLLM client, which checks the prefix
against LiteLLM's own provider list. Callers never special-case a backend; they ask this module.

The built-in backends live in modules of their own and register themselves when imported; they
are imported on the first lookup, and importing them is cheap (LiteLLM itself is loaded only
when a LiteLLM judge makes its first call).

    from judge.judging.registry import register_backend

    class EchoBackend:
        def build(self, config): return EchoJudge(config)
        def price(self, config): return Price(0.0, 0.0, "echo")

    register_backend("echo", EchoBackend())   # now --judge echo/anything works
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from judge.core.errors import ConfigError

if TYPE_CHECKING:
    from judge.inputs.config import JudgeConfig
    from judge.judging.pricing import Price
    from judge.judging.protocol import Judge

# Modules whose import registers a built-in backend.
BUILTIN_BACKENDS = ("judge.judging.offline_backend", "judge.judging.litellm_client")


class Backend(Protocol):
    """Builds and prices the judges of one kind."""

    def build(self, config: JudgeConfig) -> Judge:
        """A ready judge; raises ConfigError when the config cannot work (unknown model, no key)."""
        ...

    def price(self, config: JudgeConfig) -> Price | None:
        """Per-token price, or None when nothing prices the judge."""
        ...


class DefaultBackend(Backend, Protocol):
    """The backend for prefixes nobody registered; it says which of them it can serve."""

    def check_prefix(self, prefix: str, registered: Iterable[str]) -> None:
        """Raise ConfigError (with a "did you mean" over ``registered`` too) for a prefix it cannot serve."""
        ...


_backends: dict[str, Backend] = {}
_default: DefaultBackend | None = None
_loaded = False


def register_backend(prefix: str, backend: Backend, *, replace: bool = False) -> None:
    """Serve every model string ``<prefix>/...`` with ``backend``."""
    if not prefix or "/" in prefix:
        raise ValueError(f"a backend prefix is one path segment, not {prefix!r}")
    if prefix in _backends and not replace and _backends[prefix] is not backend:
        raise ValueError(f"a backend is already registered for '{prefix}/'; pass replace=True to swap it")
    _backends[prefix] = backend


def unregister_backend(prefix: str) -> None:
    _backends.pop(prefix, None)


def register_default_backend(backend: DefaultBackend) -> None:
    """Serve every prefix no backend registered (the LiteLLM client does)."""
    global _default
    _default = backend


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_BACKENDS:
            importlib.import_module(module)


def prefixes() -> list[str]:
    """The registered prefixes, sorted."""
    _load_builtins()
    return sorted(_backends)


def prefix_of(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else ""


def backend_for(model: str) -> Backend:
    """The backend that serves ``model``; ConfigError when none can."""
    _load_builtins()
    prefix = prefix_of(model)
    backend = _backends.get(prefix)
    if backend is not None:
        return backend
    if _default is None:
        raise ConfigError(f"no judge backend serves '{model}'; registered prefixes: {', '.join(prefixes())}")
    _default.check_prefix(prefix, _backends)
    return _default


def build_judge(config: JudgeConfig) -> Judge:
    try:
        backend = backend_for(config.model)
    except ConfigError as exc:
        raise ConfigError(f"judge '{config.label}': {exc}") from None
    return backend.build(config)


def build_judges(configs: list[JudgeConfig]) -> list[Judge]:
    """Check every judge can be called (known backend, key present), then build them all, so a
    bad judge fails the run before anything is judged."""
    return [build_judge(cfg) for cfg in configs]

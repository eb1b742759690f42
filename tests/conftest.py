"""Fixtures every test gets: no API keys, no proxies, no traffic off the machine.

Plus ``fake_server``, a started loopback OpenAI-compatible server (tests/fakeserver.py), and
``provider_server``, the same with other providers' wire formats (tests/providers.py).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakeserver import FakeServer
from tests.providers import ProviderServer

# LiteLLM reads these at import time (shared/notes/litellm.md): the bundled price map instead of a
# download, and no walking up to a developer's .env file.
LITELLM_SAFE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_MODE": "PRODUCTION",
}
_SECRET_PREFIXES = ("OPENAI_", "ANTHROPIC_", "LITELLM_")
# A proxy variable would send even 127.0.0.1 traffic through a proxy with httpx-style clients.
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def pytest_configure(config: pytest.Config) -> None:
    # Also set before collection, in case a test module imports litellm at import time.
    os.environ.update(LITELLM_SAFE_ENV)
    config.addinivalue_line(
        "markers",
        "allow_network_attempts: don't fail the test when a non-loopback connect is blocked",
    )


def _is_sensitive(name: str) -> bool:
    upper = name.upper()
    return upper.endswith("_API_KEY") or upper.startswith(_SECRET_PREFIXES) or upper in _PROXY_VARS


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove API keys, provider settings and proxies; set LiteLLM's offline switches."""
    for name in list(os.environ):
        if _is_sensitive(name):
            monkeypatch.delenv(name)
    for name, value in LITELLM_SAFE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")


class BlockedConnection(ConnectionRefusedError):
    """A test tried to reach something other than loopback."""


def _loopback(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a hostname would need DNS, which is off the machine
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@pytest.fixture(autouse=True)
def _loopback_only(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Refuse non-loopback connects, and fail the test if any was tried.

    Failing at teardown matters: clients often catch connection errors and retry or log them, so
    the refusal alone could go unnoticed.
    """
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        if not _loopback(sock.family, address):
            attempts.append(repr(address))
            raise BlockedConnection(f"tests may only connect to loopback, not {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield
    if attempts and request.node.get_closest_marker("allow_network_attempts") is None:
        pytest.fail(f"blocked non-loopback connection attempts: {', '.join(attempts)}")


@pytest.fixture
def provider_server() -> Iterator[ProviderServer]:
    """A started ProviderServer (tests/providers.py: Anthropic, Ollama, vLLM and batch wire
    formats on top of the fake server); fails the test like ``fake_server`` does."""
    server = ProviderServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
    server.check()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A started FakeServer; fails the test if a strict script ran out or a responder raised.

    Tests that expect exhaustion call ``fake_server.take_errors()`` to claim those errors.
    """
    server = FakeServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
    server.check()

"""Running the async core from synchronous code, inside or outside a running event loop.

``run_sync(make)`` runs the coroutine ``make()`` to its end and returns its result:

- with no event loop running in this thread (a script, the CLI), on a fresh loop right here. Not
  ``asyncio.run``: since Python 3.11 it turns Ctrl-C into a cancellation of the main task, while the
  run wants a plain KeyboardInterrupt outside the judging phase (the runner handles signals itself
  while it judges);
- when this thread already runs a loop (a Jupyter notebook, an async web handler), on a fresh loop
  in a worker thread, since a loop cannot be nested. Ctrl-C (a notebook's "interrupt") then reaches
  this thread, not the worker: it is passed on through ``stop``, so the run ends as an interrupted
  run would (calls in flight land, the run directory says ``interrupted`` and can be resumed).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Stoppable(Protocol):
    def request_stop(self) -> None: ...


class StopSwitch:
    """Lets another thread ask a running run to stop, gracefully: the stop is handed to the run's
    own loop. A stop asked before the run starts takes effect as soon as it does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requested = False
        self._target: tuple[asyncio.AbstractEventLoop, Stoppable] | None = None

    def attach(self, runner: Stoppable) -> None:
        """Called on the run's loop once the runner exists."""
        with self._lock:
            self._target = (asyncio.get_running_loop(), runner)
            if self._requested:
                runner.request_stop()

    def detach(self) -> None:
        with self._lock:
            self._target = None

    def request(self) -> None:
        with self._lock:
            self._requested = True
            if self._target is not None:
                loop, runner = self._target
                loop.call_soon_threadsafe(runner.request_stop)


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``coro`` on a new event loop in this thread; tasks left over are cancelled, as asyncio.run does."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            left = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_sync(make: Callable[[], Coroutine[Any, Any, T]], stop: StopSwitch) -> T:
    """Run ``make()`` to its end from synchronous code (see the module docstring)."""
    if not in_running_loop():
        return run_coroutine(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="empathy-judge") as pool:
        future = pool.submit(lambda: run_coroutine(make()))
        while True:
            try:
                # Waking up now and then lets Python run its signal handlers in this thread: a wait
                # without a timeout would hold a Ctrl-C until the whole run had finished.
                return future.result(timeout=0.1)
            except FuturesTimeout:
                continue
            except KeyboardInterrupt:
                stop.request()  # then wait for the run to wind down and return what it recorded

"""A background loop, as each emulated service runs one: its pollers, evaluators and schedulers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def every(interval: float, action: Callable[[], Any], name: str) -> Iterator[None]:
    """Run `action` every `interval` seconds in a thread named `name` while in the block.

    An exception stops the loop and is raised, chained, when the block ends: a service that
    stopped working fails the run that relied on it instead of going quiet.
    """
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        while not stop.wait(interval):
            try:
                action()
            except Exception as error:
                errors.append(error)
                return

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if errors:
        raise RuntimeError(f"{name} stopped") from errors[0]

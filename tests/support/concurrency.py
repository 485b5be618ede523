"""Running the same call in several threads at once (two admins' clicks, two workers' tasks).

Each thread has its own database connection (Django's are per thread), so the calls race in
the database as separate processes would; use it from a ``transaction=True`` test, whose
data the threads can see.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_at_once(count: int, target: Callable[[], Any], timeout: float = 120) -> list[Any]:
    """Call ``target()`` in ``count`` threads released together; return their results in
    thread order. Fails if a call raised or a thread did not finish within ``timeout``."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(timeout)
            results[index] = target()
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), f"a call ran over {timeout} s"
    assert not errors, errors
    return results

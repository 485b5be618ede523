"""Talking to the mail server on a thread of its own, so that the send task renders and builds
the next message while the server answers the previous one.

Still ONE connection and ONE message at a time: the thread sends the messages in the order
they were submitted. It never touches the database; the task's own thread records outcomes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

from .transports import Delivery, Mailer, Prepared

#: Messages waiting for the thread at most (built ahead of the one being sent).
DEPTH = 2


class SendPipeline:
    """Sends prepared messages in submission order over ``mailer``'s one connection.

    ``submit(key, prepared)`` blocks while ``DEPTH`` messages wait. ``results(wait=...)``
    yields ``(key, outcome)`` in order: ``outcome`` is the ``Delivery``; ``None`` for a message
    not attempted because the pipeline stopped; or the exception the mailer raised (a bug or
    an unexpected backend error: the message may have left). The pipeline stops by itself
    after ``max_failures`` lost connections in a row (``stopped_by_failures``), or when asked
    with ``stop()``.
    """

    def __init__(self, mailer: Mailer, *, max_failures: int) -> None:
        self.mailer = mailer
        self.max_failures = max_failures
        self.failures_in_a_row = 0
        self.last_error = ""
        self._stopped = threading.Event()
        self._jobs: queue.Queue[tuple[Any, Prepared] | None] = queue.Queue(maxsize=DEPTH)
        self._done: queue.Queue[tuple[Any, Delivery | Exception | None]] = queue.Queue()
        self._outstanding = 0
        self._thread = threading.Thread(target=self._run, name="batchcomms-smtp", daemon=True)
        self._thread.start()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @property
    def stopped_by_failures(self) -> bool:
        return self.failures_in_a_row >= self.max_failures

    def stop(self) -> None:
        """Attempt nothing more; messages still waiting come back as not attempted."""
        self._stopped.set()

    def submit(self, key: Any, prepared: Prepared) -> None:
        self._outstanding += 1
        self._jobs.put((key, prepared))

    def results(self, *, wait: bool) -> Iterator[tuple[Any, Delivery | Exception | None]]:
        """Finished messages; with ``wait``, until every submitted message has finished."""
        while self._outstanding:
            try:
                item = self._done.get(block=wait)
            except queue.Empty:
                return
            self._outstanding -= 1
            yield item

    def close(self) -> None:
        """End the thread (after the messages already submitted)."""
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            key, prepared = job
            if self._stopped.is_set():
                self._done.put((key, None))
                continue
            try:
                delivery = self.mailer.send(prepared)
            except Exception as error:
                self._stopped.set()
                self._done.put((key, error))
                continue
            if delivery.connection_lost:
                self.failures_in_a_row += 1
                self.last_error = delivery.text
                if self.stopped_by_failures:
                    self._stopped.set()
                else:
                    # A short pause before reconnecting to a server that just dropped us.
                    time.sleep(min(2.0, 0.2 * self.failures_in_a_row))
            else:
                self.failures_in_a_row = 0
            self._done.put((key, delivery))

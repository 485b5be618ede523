"""A real SMTP server on 127.0.0.1 for the tests (and the email benchmark).

``SMTPTestServer`` runs aiosmtpd's protocol on an ephemeral loopback port in an asyncio loop of
its own thread, records every message it accepts, and can misbehave on purpose:

- ``refuse={"bad@example.com": (550, "5.1.1 No such user")}``: refuse those recipients at RCPT;
- ``reject_data={"spam@example.com": (554, "5.7.1 Rejected")}``: accept the recipient, then
  refuse the message at the end of DATA;
- ``drop_after=K``: after K messages on one connection, drop the connection during the next
  transaction, at ``drop_phase``: ``"mail"`` (on MAIL FROM, so nothing was accepted) or
  ``"data"`` (after the whole message arrived, before the reply: the server keeps the message,
  the client cannot know). ``max_drops`` bounds how many connections are dropped in all;
- ``drop_for={"x@example.com"}``: drop the connection whenever that recipient is given (at
  RCPT, so the message cannot have been accepted), however many times it is tried;
- ``delay=seconds``: wait that long before answering each DATA (a slow server); ``holding``
  says how many DATA commands are waiting for their answer now.

Every option can be changed while it runs with ``configure(**options)``. Use it as a context
manager (it stops and closes every client connection on exit) or through the ``smtp_server``
fixture in conftest.py, which also points Django's SMTP backend at it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP

HOST = "127.0.0.1"


@dataclass
class ReceivedMessage:
    """One message the server accepted (or kept before dropping the connection)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    connection: int
    received_at: float = field(default_factory=time.monotonic)

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"] or "")


class _Handler:
    def __init__(self, server: SMTPTestServer) -> None:
        self.server = server

    async def handle_MAIL(self, smtp, session, envelope, address, mail_options):
        if self.server._should_drop(smtp, "mail"):
            return await self._drop(smtp)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        if address.lower() in self.server.options["drop_for"]:
            return await self._drop(smtp)
        refusal = self.server.options["refuse"].get(address.lower())
        if refusal:
            return f"{refusal[0]} {refusal[1]}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        delay = self.server.options["delay"]
        if delay:
            self.server._hold(+1)
            try:
                await asyncio.sleep(delay)
            finally:
                self.server._hold(-1)
        for address in envelope.rcpt_tos:
            rejection = self.server.options["reject_data"].get(address.lower())
            if rejection:
                return f"{rejection[0]} {rejection[1]}"
        received = ReceivedMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(envelope.original_content or envelope.content),
            connection=id(smtp),
        )
        self.server._record(received)
        drop = self.server._should_drop(smtp, "data")
        self.server._count(smtp)
        if drop:
            return await self._drop(smtp)
        return "250 OK"

    async def _drop(self, smtp) -> str:
        # Abort the socket without a reply; aiosmtpd then cancels this handler, like it does
        # when a client disappears mid-command.
        self.server.drops += 1
        smtp.transport.abort()
        await asyncio.get_running_loop().create_future()
        return "421 unreachable"  # pragma: no cover


class SMTPTestServer:
    """An SMTP server on 127.0.0.1 and an ephemeral port; see the module docstring."""

    def __init__(self, port: int = 0, **options: Any) -> None:
        self.options: dict[str, Any] = {
            "refuse": {},
            "reject_data": {},
            "drop_after": None,
            "drop_phase": "data",
            "max_drops": 1,
            "delay": 0.0,
            "drop_for": set(),
        }
        self.configure(**options)
        self.host = HOST
        # 0: an ephemeral port, kept across stop() and start(), so that a server stopped
        # mid-batch comes back where the workers send.
        self.port: int | None = port or None
        self.drops = 0
        self.connections = 0
        self._holding = 0
        self._messages: list[ReceivedMessage] = []
        # Messages per connection, keyed by protocol id (protocols are kept, so ids stay unique).
        self._per_connection: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._protocols: list[SMTP] = []

    # --- configuration -----------------------------------------------------------------

    def configure(self, **options: Any) -> None:
        unknown = set(options) - set(self.options)
        if unknown:
            raise TypeError(f"unknown SMTPTestServer options: {sorted(unknown)}")
        for key in ("refuse", "reject_data"):
            if key in options:
                options[key] = {
                    address.lower(): (int(code), text)
                    for address, (code, text) in (options[key] or {}).items()
                }
        if "drop_for" in options:
            options["drop_for"] = {address.lower() for address in options["drop_for"] or ()}
        if options.get("drop_phase", "data") not in ("mail", "data"):
            raise ValueError("drop_phase is 'mail' or 'data'")
        self.options.update(options)

    def django_settings(self) -> dict[str, Any]:
        """Settings that send Django's email here (for ``override_settings`` or env vars)."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
        }

    # --- what arrived ------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    def message_id_counts(self) -> Counter[str]:
        """How many times each Message-ID arrived (exactly-once checks)."""
        return Counter(received.message_id for received in self.messages)

    def by_recipient(self, address: str) -> list[ReceivedMessage]:
        address = address.lower()
        return [m for m in self.messages if address in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages arrived; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{len(self._messages)} of {count} messages arrived in {timeout}s"
                    )
                self._changed.wait(remaining)
            return list(self._messages)

    @property
    def holding(self) -> int:
        """DATA commands waiting out ``delay`` now: their messages are not answered yet."""
        with self._lock:
            return self._holding

    def _hold(self, change: int) -> None:
        with self._lock:
            self._holding += change

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def _record(self, received: ReceivedMessage) -> None:
        with self._changed:
            self._messages.append(received)
            self._changed.notify_all()

    def _should_drop(self, smtp: SMTP, phase: str) -> bool:
        options = self.options
        if options["drop_after"] is None or options["drop_phase"] != phase:
            return False
        if options["max_drops"] is not None and self.drops >= options["max_drops"]:
            return False
        with self._lock:
            return self._per_connection[id(smtp)] >= options["drop_after"]

    def _count(self, smtp: SMTP) -> None:
        with self._lock:
            self._per_connection[id(smtp)] += 1

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> SMTPTestServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def factory() -> SMTP:
            self.connections += 1
            protocol = SMTP(
                _Handler(self),
                hostname="smtp.test",
                ident="batchcomms-tests",
                timeout=60,
                data_size_limit=None,
                loop=self._loop,
            )
            self._protocols.append(protocol)
            return protocol

        async def serve() -> None:
            self._server = await self._loop.create_server(factory, HOST, self.port or 0)
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="smtp-test-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the SMTP test server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for protocol in self._protocols:
                if protocol.transport is not None:
                    protocol.transport.abort()
            await asyncio.sleep(0)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if loop.is_running():
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> SMTPTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

#!/usr/bin/env python3
"""Email sending benchmark: our send service against Django's plain ``send_mail()``.

    .venv/bin/python bench/emails.py [--emails 10000] [--naive 10000]

Creates a fresh SQLite database in a temp folder (or uses DATABASE_URL), seeds a Generated
batch with N pending email notices, starts an aiosmtpd server on 127.0.0.1 in a separate
process (tests/support/smtp.py), then:

1. **service**: ``emails.sending.send_pending_emails`` (the send task's body): claims
   chunks, renders them batched, sends one message at a time over one open connection and
   records each outcome on its row;
2. **naive**: for each notice ``render_communication()`` then ``django.core.mail.send_mail()``
   (a new SMTP connection per message). It records nothing in the database, which favours
   it: our service also writes each outcome and the sent content to the row.

Prints messages per second for both and the ratio, and checks at the server that every
message arrived exactly once. Targets (issue 4): service > 300/s and > 1.5x naive.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "support"), str(ROOT)]


def smtp_process(pipe) -> None:
    """Child process: run the test SMTP server; answer "stats" and "stop" on the pipe."""
    from collections import Counter

    from smtp import SMTPTestServer

    with SMTPTestServer() as server:
        pipe.send(server.port)
        cpu = time.process_time()
        while True:
            command = pipe.recv()
            if command == "stats":
                messages = server.messages
                ids = Counter(m.message_id for m in messages)
                pipe.send(
                    {
                        "messages": len(messages),
                        "unique_ids": len(ids),
                        "most_copies": max(ids.values(), default=0),
                        "server_cpu_ms_per_message": round(
                            (time.process_time() - cpu) * 1000 / max(1, len(messages)), 2
                        ),
                    }
                )
            elif command == "clear":
                server.clear()
                cpu = time.process_time()
                pipe.send("ok")
            else:
                pipe.send("bye")
                return


class Server:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=smtp_process, args=(child,), daemon=True)
        self.process.start()
        if not self.pipe.poll(30):
            raise RuntimeError("the SMTP server process did not start")
        self.port = self.pipe.recv()

    def ask(self, command: str):
        self.pipe.send(command)
        return self.pipe.recv()

    def stop(self) -> None:
        if self.process.is_alive():
            self.ask("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


def setup_django(port: int, folder: str) -> None:
    """The test project's settings on a fresh SQLite file in ``folder``; email to ``port``."""
    os.environ.pop("DATABASE_URL", None)
    os.environ["BATCHCOMMS_TEST_DIR"] = folder
    os.environ["BATCHCOMMS_TEST_DB_NAME"] = str(Path(folder) / "bench.sqlite3")
    os.environ["BATCHCOMMS_TEST_SMTP_PORT"] = str(port)
    os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def seed(count: int):
    from sending_data import email_batch

    started = time.perf_counter()
    batch = email_batch(count, domain=f"bench{time.monotonic_ns()}.example")
    print(f"  seeded {count:,} pending emails in {time.perf_counter() - started:.1f}s")
    return batch


def run_service(count: int) -> float:
    from wagtail_batchcomms.emails.sending import new_worker_id, send_pending_emails
    from wagtail_batchcomms.models import CommunicationStatus

    batch = seed(count)
    started, cpu = time.perf_counter(), time.process_time()
    result = send_pending_emails(batch.pk, new_worker_id())
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    print(f"  CPU time of the sending process: {cpu / count * 1000:.2f} ms per message")
    sent = batch.communications.filter(status=CommunicationStatus.SENT).count()
    assert sent == count and result.sent == count, (sent, result)
    return elapsed


def run_naive(count: int) -> float:
    from django.core.mail import send_mail

    from wagtail_batchcomms.models import Channel, Communication
    from wagtail_batchcomms.notices.rendering import render_communication

    batch = seed(count)
    rows = Communication.objects.filter(batch=batch, channel=Channel.EMAIL).order_by("pk")
    started, cpu = time.perf_counter(), time.process_time()
    for row in rows.select_related("batch"):
        notice = render_communication(row)
        send_mail(notice.subject, notice.text, None, [row.email], html_message=notice.html)
    cpu = time.process_time() - cpu
    print(f"  CPU time of the sending process: {cpu / count * 1000:.2f} ms per message")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=10_000, help="emails for our service")
    parser.add_argument("--naive", type=int, default=None, help="emails for send_mail()")
    options = parser.parse_args()
    naive_count = options.naive if options.naive is not None else options.emails

    server = Server()
    try:
        with tempfile.TemporaryDirectory(prefix="batchcomms-bench-") as folder:
            setup_django(server.port, folder)
            print(f"SMTP server on 127.0.0.1:{server.port} (separate process)")
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

            print(f"service: send_pending_emails, {options.emails:,} emails")
            service = run_service(options.emails)
            stats = server.ask("stats")
            assert stats["messages"] == stats["unique_ids"] == options.emails, stats
            service_rate = options.emails / service
            print(f"  {service:.2f}s, {service_rate:,.0f} messages/s; server: {stats}")
            server.ask("clear")

            print(f"naive: render_communication + send_mail() per message, {naive_count:,} emails")
            naive = run_naive(naive_count)
            stats = server.ask("stats")
            naive_rate = naive_count / naive
            print(f"  {naive:.2f}s, {naive_rate:,.0f} messages/s; server: {stats}")
    finally:
        server.stop()

    ratio = service_rate / naive_rate
    print()
    print(f"service {service_rate:,.0f} msg/s; naive {naive_rate:,.0f} msg/s; ratio {ratio:.2f}x")
    ok = service_rate > 300 and ratio > 1.5
    print(f"targets (> 300 msg/s and > 1.5x naive): {'met' if ok else 'NOT met'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

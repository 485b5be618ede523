#!/usr/bin/env python3
"""The demo's mailbox: an SMTP server on 127.0.0.1 that saves every message as an .eml file."""

from __future__ import annotations

import argparse
import re
import signal
import threading
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content or envelope.content, policy=default)
        subject = re.sub(r"[^\w.-]+", "-", str(message.get("Subject", "no-subject")))[:60]
        self.count += 1
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{self.count:05d}-{subject}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, required=True)
    options = parser.parse_args()
    options.dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(options.dir), hostname="127.0.0.1", port=options.port)
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stopped.set())
    signal.signal(signal.SIGINT, lambda *a: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()

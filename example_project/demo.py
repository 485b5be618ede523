#!/usr/bin/env python3
"""Run the demo: ``python3 example_project/demo.py`` from a fresh clone.

Creates ``.venv`` in the clone, installs the package with its ``demo`` extra, migrates the
SQLite database (``example_project/var/db.sqlite3``), seeds a demo register when it is empty,
then starts together:

* the web server on http://127.0.0.1:8000/admin/ (``--port`` to change),
* a django-q2 worker (``manage.py qcluster``) on the database broker,
* a local SMTP server that files every email the demo sends in ``example_project/var/mailbox/``
  as ``.eml`` files (open them with any mail client or a text editor).

Ctrl-C stops all three. ``--assemblies N`` seeds a bigger register (first run only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = Path(os.environ.get("BATCHCOMMS_VENV", ROOT / ".venv"))
PYTHON = VENV / "bin" / "python"
DEBIAN_PACKAGES = [
    "libpango-1.0-0",
    "libpangoft2-1.0-0",
    "libharfbuzz-subset0",
    "fonts-dejavu-core",
]
SMTP_PORT = int(os.environ.get("DEMO_SMTP_PORT", "8025"))


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def run(*args, **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, **kwargs)


def install_system_packages() -> None:
    if not shutil.which("dpkg-query"):
        return
    missing = [
        p
        for p in DEBIAN_PACKAGES
        if "install ok installed"
        not in subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
        ).stdout
    ]
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing WeasyPrint's system libraries: {' '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run("apt-get", "update", "-q", env=env, stdout=subprocess.DEVNULL)
        run("apt-get", "install", "-y", "-q", *missing, env=env, stdout=subprocess.DEVNULL)
    else:
        say("letters need these system packages: sudo apt-get install " + " ".join(missing))


def install_python_packages() -> None:
    if not PYTHON.exists():
        say(f"creating {VENV}")
        run(sys.executable, "-m", "venv", VENV)
    say("installing wagtail-batchcomms and the demo's requirements (a minute the first time)")
    run(PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", f"{ROOT}[demo]")


def manage(*args: str, env: dict) -> None:
    run(PYTHON, HERE / "manage.py", *args, env=env, cwd=HERE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--assemblies", type=int, default=5000)
    parser.add_argument("--no-install", action="store_true", help="skip pip install")
    options = parser.parse_args()

    install_system_packages()
    if not options.no_install or not PYTHON.exists():
        install_python_packages()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "EMAIL_HOST": os.environ.get("EMAIL_HOST", "127.0.0.1"),
        "EMAIL_PORT": os.environ.get("EMAIL_PORT", str(SMTP_PORT)),
        "WAGTAILADMIN_BASE_URL": f"http://127.0.0.1:{options.port}",
        "PYTHONUNBUFFERED": "1",
    }
    say("migrating the database")
    manage("migrate", "--no-input", "-v", "0", env=env)
    # The example project runs with DEBUG on (DJANGO_DEBUG defaults to 1), which
    # --create-logins needs: it makes the orgadmin / editor logins printed below.
    manage("seed_demo", "--assemblies", str(options.assemblies), "--create-logins", env=env)

    mailbox = HERE / "var" / "mailbox"
    mailbox.mkdir(parents=True, exist_ok=True)
    commands = {
        "mailbox": [PYTHON, HERE / "mailbox.py", "--port", str(SMTP_PORT), "--dir", mailbox],
        "worker": [PYTHON, HERE / "manage.py", "qcluster"],
        "web": [PYTHON, HERE / "manage.py", "runserver", f"127.0.0.1:{options.port}", "--noreload"],
    }
    processes: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        if name == "mailbox" and env["EMAIL_HOST"] != "127.0.0.1":
            continue
        processes[name] = subprocess.Popen(
            [str(c) for c in command], cwd=HERE, env=env, start_new_session=True
        )
    time.sleep(2)
    print(
        f"""
  wagtail-batchcomms demo is running:

    Admin:   http://127.0.0.1:{options.port}/admin/
    Logins:  orgadmin / orgadmin   (org admin: batches, sending, letters)
             editor / editor       (editor: notice templates)
    Emails:  {mailbox}/  (one .eml file per message)

  Press Ctrl-C to stop the web server, the worker and the mailbox.
""",
        flush=True,
    )

    def stop(*_args) -> None:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    # Ctrl-C stops everything even when the demo was started where SIGINT is ignored (a
    # background job of a script), which Python would otherwise keep ignoring.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    say(f"the {name} process stopped (exit code {process.returncode}); stopping")
                    raise KeyboardInterrupt
            time.sleep(0.5)
    except KeyboardInterrupt:
        # A second Ctrl-C or SIGTERM (a supervisor and `timeout` both signalling) must not
        # interrupt the stop and leave the children running.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        say("stopping")
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

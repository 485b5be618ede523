#!/usr/bin/env python3
"""Set up everything the test suite needs and run it: ``python3 tests/run.py [pytest args]``.

From a fresh clone on a machine that has only Python 3.11+:

1. installs WeasyPrint's system libraries and Debian's Chromium (for the browser tests) with
   apt-get when they are missing and we run as root (otherwise prints the command to run);
2. creates ``.venv`` in the clone and installs the package with its ``test`` extra (editable,
   or the wheel named by ``BATCHCOMMS_WHEEL``, as CI does);
3. runs pytest. ``DATABASE_URL`` selects PostgreSQL, e.g.
   ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/batchcomms python3 tests/run.py``.

``BATCHCOMMS_WAGTAIL`` names the Wagtail to test on, as a pip requirement, e.g.
``BATCHCOMMS_WAGTAIL="wagtail~=7.4.0" python3 tests/run.py`` for the latest 7.4 LTS (the lowest
supported). It is installed together with the package, in a virtualenv of its own
(``.venv-wagtail-7.4.0`` here) unless ``BATCHCOMMS_VENV`` names one, and the suite refuses to
run on a Wagtail that does not satisfy it. Unset: the latest Wagtail the package allows.

pytest's exit code 5 ("no tests collected") is reported as a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WAGTAIL = os.environ.get("BATCHCOMMS_WAGTAIL", "").strip()
DEFAULT_VENV = ROOT / (
    f".venv-{re.sub(r'[^A-Za-z0-9.]+', '-', WAGTAIL).strip('-')}" if WAGTAIL else ".venv"
)
VENV = Path(os.environ.get("BATCHCOMMS_VENV", DEFAULT_VENV))
DEBIAN_PACKAGES = [
    "libpango-1.0-0",
    "libpangoft2-1.0-0",
    "libharfbuzz-subset0",
    "fonts-dejavu-core",
    "fonts-liberation",
    "chromium",
]


def say(message: str) -> None:
    print(f"[tests/run.py] {message}", flush=True)


def run(*args: str | Path, **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, **kwargs)


def missing_debian_packages() -> list[str]:
    if not shutil.which("dpkg-query"):
        return []
    missing = []
    for package in DEBIAN_PACKAGES:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
        )
        if "install ok installed" not in result.stdout:
            missing.append(package)
    return missing


def install_system_packages() -> None:
    missing = missing_debian_packages()
    if not missing:
        return
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing Debian packages: {' '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run("apt-get", "update", "-q", env=env, stdout=subprocess.DEVNULL)
        run(*command, env=env, stdout=subprocess.DEVNULL)
    else:
        say("missing system packages; install them with: sudo " + " ".join(command))


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def install_python_packages() -> None:
    if not venv_python().exists():
        say(f"creating {VENV}")
        run(sys.executable, "-m", "venv", VENV)
    pip = [venv_python(), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # One pip run for the package and the Wagtail asked for, so that everything else is
    # resolved against that Wagtail.
    pinned = [WAGTAIL] if WAGTAIL else []
    wheel = os.environ.get("BATCHCOMMS_WHEEL")
    if wheel:
        say(f"installing the wheel {wheel} with its test extra {' '.join(pinned)}")
        run(*pip, "--force-reinstall", "--no-deps", wheel)
        run(*pip, f"{Path(wheel).resolve()}[test]", *pinned)
    else:
        say(f"installing the package (editable) with its test extra {' '.join(pinned)}")
        run(*pip, "-e", f"{ROOT}[test]", *pinned)


def main(argv: list[str]) -> int:
    install_system_packages()
    install_python_packages()
    env = dict(os.environ)
    if os.environ.get("BATCHCOMMS_WHEEL"):
        env["BATCHCOMMS_EXPECT_INSTALLED"] = "1"
    say(f"running pytest in {VENV} on {env.get('DATABASE_URL') or 'SQLite'}")
    pytest = VENV / ("Scripts/pytest.exe" if os.name == "nt" else "bin/pytest")
    # The pytest script, not "python -m pytest": the latter would put the clone first on
    # sys.path and shadow an installed wheel.
    code = subprocess.run([str(pytest), *argv], cwd=ROOT, env=env).returncode
    if code == 5:
        say("pytest collected no tests: that is a failure")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

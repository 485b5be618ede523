"""Real django-q2 worker processes (``qcluster``) for tests, against the test database.

Use the ``qcluster`` fixture (registered as a plugin in ``conftest.py``) in a test that also
uses committed data (it pulls in ``transactional_db``)::

    def test_something(qcluster):
        cluster = qcluster()                      # one qcluster process, ORM broker
        ...                                       # queue work (services enqueue on commit)
        wait_until(lambda: batch_status() == "generated", clusters=[cluster])

``qcluster(count=2, settings={...}, smtp_port=..., redis="redis://127.0.0.1:6379/0")``
starts ``count`` processes. ``settings`` reach the workers' ``WAGTAIL_BATCHCOMMS`` (through
``BATCHCOMMS_TEST_SETTINGS``, since ``override_settings`` cannot cross a process);
``smtp_port`` points their email at a loopback SMTP server; ``redis`` runs them on the
Redis broker under a queue name of their own (queue work there with ``cluster.async_task``;
a test process started with ``BATCHCOMMS_Q_REDIS`` set shares its broker with the workers
it starts, and then ``jobs.enqueue`` reaches them directly).

Every process is started in its own process group and stopped at teardown (SIGTERM, then
SIGKILL), also when the test fails. Their output goes to a log file; a failing test shows
it in its report, and ``wait_until`` puts it in its timeout message.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

# tests/, where the worker processes import the test settings (testproject) from.
TESTS_DIR = Path(__file__).resolve().parent.parent
_CLUSTERS = pytest.StashKey[list]()


class Cluster:
    """One ``python -m django qcluster`` process (with its own worker children)."""

    def __init__(self, *, label: str, env: dict[str, str], workdir: Path) -> None:
        self.label = label
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"{label}.log"
        self.queue_name = env.get("BATCHCOMMS_Q_NAME", "")
        self.redis_url = env.get("BATCHCOMMS_Q_REDIS", "")
        self.process: subprocess.Popen | None = None

    def start(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # cwd is a scratch folder, not the repository: ``python -m`` puts cwd on sys.path,
        # which would shadow an installed wheel with the source tree.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout: float = 30) -> Cluster:
        """Until the cluster logs that it is running (its workers poll from then on)."""
        wait_until(
            lambda: "running." in self.logs(),
            timeout=timeout,
            clusters=[self],
            message=f"qcluster {self.label} did not start",
        )
        return self

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group at once: a machine losing power, not a shutdown."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        """Ask the cluster to stop (SIGTERM); SIGKILL what is left after ``timeout``."""
        if self.process is None:
            return
        if self.alive:
            # The parent alone: it stops its workers in order (a group-wide SIGTERM makes
            # the children exit under it and its shutdown then waits for them in vain).
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        # Worker children may outlive a parent that died: clear the whole group.
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # nothing more we can do
            self.process.wait(timeout=5)

    def async_task(self, func: str, *args: Any) -> str:
        """Queue a task on this cluster's own queue, from a process configured like it.

        For clusters on another broker or queue name than this test process (``redis=``):
        django-q2 reads its configuration once per process and signs tasks with the queue
        name, so the task is queued by a short-lived process with the workers' environment.
        ``args`` must be JSON values.
        """
        code = (
            "import json, sys, django; django.setup(); "
            "from django_q.tasks import async_task; "
            "print(async_task(sys.argv[1], *json.loads(sys.argv[2])))"
        )
        return self.run_python(code, func, json.dumps(args), what=f"queue {func}", timeout=60)

    def run_python(self, code: str, *argv: str, what: str, timeout: float = 120) -> str:
        """Run ``python -c code *argv`` in a new process with this cluster's environment
        (settings, test database, broker); return the last line it printed. A failure raises
        with its stderr, saying it could not ``what``."""
        result = subprocess.run(
            [sys.executable, "-c", code, *argv],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"could not {what}:\n{result.stderr[-4000:]}")
        return result.stdout.strip().splitlines()[-1]


def worker_env(
    *,
    settings: dict | None = None,
    smtp_port: int | None = None,
    redis: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment that points a worker process at this test run's test database."""
    from django.db import connection

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(TESTS_DIR), os.environ.get("PYTHONPATH", "")) if part
    )
    env["PYTHONUNBUFFERED"] = "1"
    # The settings module reads these: the test database (not the default one) and the
    # folder of this test run (SQLite file, private media).
    env["BATCHCOMMS_TEST_DB_NAME"] = str(connection.settings_dict["NAME"])
    env["BATCHCOMMS_TEST_DIR"] = os.environ["BATCHCOMMS_TEST_DIR"]
    if settings:
        env["BATCHCOMMS_TEST_SETTINGS"] = json.dumps(settings)
    if smtp_port:
        env["BATCHCOMMS_TEST_SMTP_PORT"] = str(smtp_port)
    if redis:
        env["BATCHCOMMS_Q_REDIS"] = redis
        # A queue of its own: other test runs may share this Redis server.
        env["BATCHCOMMS_Q_NAME"] = f"batchcomms-tests-{uuid.uuid4().hex[:12]}"
    env.update(extra or {})
    return env


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float = 60,
    interval: float = 0.1,
    message: str = "condition not met",
    clusters: Iterable[Cluster] = (),
) -> Any:
    """Poll ``predicate`` until it returns something truthy, and return that.

    Fails early if one of ``clusters`` dies, and on timeout; both failures carry the
    clusters' logs.
    """
    clusters = list(clusters)
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        dead = [cluster for cluster in clusters if not cluster.alive]
        if dead or time.monotonic() > deadline:
            reason = f"qcluster {dead[0].label} exited" if dead else f"timed out after {timeout} s"
            pytest.fail(f"{message} ({reason})\n{_format_logs(clusters)}", pytrace=False)
        time.sleep(interval)


def _format_logs(clusters: Iterable[Cluster]) -> str:
    return "\n".join(
        f"----- qcluster {cluster.label} log ({cluster.log_path}) -----\n{cluster.logs()[-20000:]}"
        for cluster in clusters
    )


@pytest.fixture
def qcluster(transactional_db, request, tmp_path) -> Callable[..., Cluster]:
    """Start real qcluster processes: ``qcluster(count=1, settings=None, smtp_port=None,
    redis=None, env=None, ready=True)``; returns the first ``Cluster`` (all with ``count>1``
    as a list). Stopped at teardown."""
    started: list[Cluster] = []
    request.node.stash[_CLUSTERS] = started

    def start(
        count: int = 1,
        *,
        settings: dict | None = None,
        smtp_port: int | None = None,
        redis: str | None = None,
        env: dict[str, str] | None = None,
        ready: bool = True,
    ):
        environment = worker_env(settings=settings, smtp_port=smtp_port, redis=redis, extra=env)
        clusters = []
        for _ in range(count):
            cluster = Cluster(
                label=f"worker{len(started) + 1}", env=environment, workdir=tmp_path / "workers"
            )
            started.append(cluster)
            clusters.append(cluster.start())
        if ready:
            for cluster in clusters:
                cluster.wait_ready()
        return clusters[0] if count == 1 else clusters

    yield start
    for cluster in started:
        cluster.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test that started workers shows their logs in its report."""
    outcome = yield
    report = outcome.get_result()
    clusters = item.stash.get(_CLUSTERS, None)
    if clusters and report.failed:
        for cluster in clusters:
            report.sections.append((f"qcluster {cluster.label} log", cluster.logs()[-20000:]))

"""Generation in real ``qcluster`` processes (tests/support/workers.py) against the test
database."""

from __future__ import annotations

import os
import socket

import factories
import generation_data as data
import ops_data
import pytest
from workers import wait_until

from wagtail_batchcomms.batches import generation
from wagtail_batchcomms.batches.lifecycle import create_batch, start_generation
from wagtail_batchcomms.models import Assembly, Batch, BatchStatus, Communication

pytestmark = pytest.mark.slow


def status_of(batch: Batch) -> str:
    return Batch.objects.values_list("status", flat=True).get(pk=batch.pk)


def test_a_batch_reaches_generated_in_a_real_worker(qcluster, superuser):
    data.build_register(locations=25)
    template = factories.notice_template(contact_roles=["owner", "tenant"])
    batch = create_batch(
        user=superuser,
        name="Worker batch",
        template=template,
        due_date=data.due_date(),
        assemblies=Assembly.objects.all(),
    )
    cluster = qcluster(settings={"GENERATION_CHUNK_SIZE": 5})

    # Committed for real (transactional_db): the task is queued on commit, as in production.
    start_generation(batch.pk, user=superuser)
    wait_until(
        lambda: status_of(batch) == BatchStatus.GENERATED,
        timeout=60,
        clusters=[cluster],
        message="the batch did not reach Generated",
    )

    batch.refresh_from_db()
    assert data.actual(batch) == data.expected(batch, template)
    assert batch.progress_done == batch.progress_total > 0
    assert cluster.alive  # the worker survived the task


def test_killing_the_worker_mid_generation_then_rerunning_gives_exact_rows(qcluster, superuser):
    """kill -9 the worker's whole process group half way; the rerun neither loses nor doubles."""
    ops_data.bulk_register("BULK", 12_000)
    template = factories.notice_template(contact_roles=["owner"])
    batch = create_batch(
        user=superuser,
        name="Big batch",
        template=template,
        due_date=data.due_date(),
        assemblies=Assembly.objects.all(),
    )
    # Tiny chunks make the run long enough to be caught in the middle.
    cluster = qcluster(settings={"GENERATION_CHUNK_SIZE": 20})
    batch = start_generation(batch.pk, user=superuser)

    ops_data.wait_part_way(batch, [cluster], before=0.8)
    cluster.kill()

    batch.refresh_from_db()
    partial = Communication.objects.filter(batch=batch).count()
    assert batch.status == BatchStatus.GENERATING
    assert 0 < partial < 12_000, partial

    # What django-q2 does after its retry period: run the same task (same token) again.
    generation.generate(batch.pk, batch.task_token)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATED
    assert data.actual(batch) == data.expected(batch, template)
    assert Communication.objects.filter(batch=batch).count() == 12_000


def _redis_url() -> str | None:
    url = os.environ.get("BATCHCOMMS_TEST_REDIS", "redis://127.0.0.1:6379/0")
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return None
    return url


@pytest.mark.skipif(_redis_url() is None, reason="no Redis server on 127.0.0.1:6379")
def test_generation_on_the_redis_broker(qcluster, superuser):
    data.build_register(locations=10)
    template = factories.notice_template()
    batch = create_batch(
        user=superuser,
        name="Redis batch",
        template=template,
        due_date=data.due_date(),
        assemblies=Assembly.objects.all(),
    )
    cluster = qcluster(redis=_redis_url())
    batch = start_generation(batch.pk, user=superuser)
    # This test process queues on the ORM; hand the same task to the Redis cluster.
    cluster.async_task("wagtail_batchcomms.tasks.generate_batch", batch.pk, batch.task_token)
    wait_until(
        lambda: status_of(batch) == BatchStatus.GENERATED,
        timeout=60,
        clusters=[cluster],
        message="the batch did not reach Generated on the Redis broker",
    )
    assert data.actual(batch) == data.expected(batch, template)

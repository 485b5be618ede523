"""Restarting a generation that stopped making progress (its worker died or its task was lost):
the service, its refusals, the batch page's note and button, and two tasks with the same token
running at once (what a restart may cause when the old task was alive after all).

The restart with a real killed worker is in tests/jobs/test_faults.py.
"""

from __future__ import annotations

import datetime

import factories
import generation_data as data
import pytest
from concurrency import run_at_once
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.batches import generation
from wagtail_batchcomms.batches.actions import allowed_actions, refusal_reason
from wagtail_batchcomms.batches.generation import generation_stalled_since
from wagtail_batchcomms.batches.lifecycle import (
    create_batch,
    resume_generation,
    start_generation,
)
from wagtail_batchcomms.exceptions import BatchActionError
from wagtail_batchcomms.models import Batch, BatchStatus

APP = "wagtail_batchcomms"
RESUME = f"{APP}.resume_generation"


def make_generating(user, template=None) -> Batch:
    batch = create_batch(
        user=user,
        name="Stalled notices",
        template=template or factories.notice_template(contact_roles=["owner", "tenant"]),
        due_date=data.due_date(),
        assemblies=data.all_assemblies(),
    )
    return start_generation(batch.pk, user=user)


def age(batch: Batch, seconds: float) -> Batch:
    """The batch as if its last progress was ``seconds`` ago (``updated_at`` is auto_now, so
    set through the queryset; not the status, which only transitions change)."""
    Batch.objects.filter(pk=batch.pk).update(
        updated_at=timezone.now() - datetime.timedelta(seconds=seconds)
    )
    batch.refresh_from_db()
    return batch


def queued_generations() -> list[tuple]:
    return [
        q.task["args"]
        for q in OrmQ.objects.all()
        if q.task["func"] == f"{APP}.tasks.generate_batch"
    ]


@pytest.fixture
def register(db):
    return data.build_register(locations=30)


@pytest.mark.django_db
def test_a_stalled_generation_is_requeued_with_the_same_token(
    register, superuser, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = make_generating(superuser)
    token = batch.task_token
    assert queued_generations() == [(batch.pk, token)]

    # Still making progress (default GENERATION_STALE_AFTER: 300 s): not offered, refused.
    batch = age(batch, 299)
    assert generation_stalled_since(batch) is None
    assert "resume_generation" not in allowed_actions(batch, superuser)
    reason = refusal_reason(batch, superuser, "resume_generation")
    assert reason.startswith("Generation is still making progress (the last at ")
    assert reason.endswith("it can be restarted once it has made none for 5 minutes.")
    with pytest.raises(BatchActionError, match="still making progress"):
        resume_generation(batch.pk, user=superuser)

    batch = age(batch, 301)
    stalled_at = batch.updated_at
    assert generation_stalled_since(batch) == stalled_at
    assert "resume_generation" in allowed_actions(batch, superuser)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        resumed = resume_generation(batch.pk, user=superuser)
    assert len(callbacks) == 1
    assert resumed.status == BatchStatus.GENERATING and resumed.task_token == token
    assert queued_generations() == [(batch.pk, token), (batch.pk, token)]
    [entry] = ModelLogEntry.objects.for_instance(batch).filter(action=RESUME)
    assert entry.user_id == superuser.pk
    assert entry.data["stalled_since"] == stalled_at.isoformat()
    assert entry.message.startswith("Restarted generation, which had stopped making progress")

    # The restart counts as activity: a second click is refused until it is stale again.
    batch.refresh_from_db()
    assert generation_stalled_since(batch) is None
    with pytest.raises(BatchActionError, match="still making progress"):
        resume_generation(batch.pk, user=superuser)
    assert ModelLogEntry.objects.for_instance(batch).filter(action=RESUME).count() == 1

    # The queued task (same token) finishes the batch.
    generation.generate(batch.pk, token)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATED
    assert data.actual(batch) == data.expected(batch, batch.template)


@pytest.mark.django_db
def test_the_stale_period_is_a_setting(register, superuser, settings):
    settings.WAGTAIL_BATCHCOMMS = {**settings.WAGTAIL_BATCHCOMMS, "GENERATION_STALE_AFTER": 30}
    batch = age(make_generating(superuser), 31)
    assert generation_stalled_since(batch) == batch.updated_at
    batch = age(batch, 29)
    assert generation_stalled_since(batch) is None
    assert "none for 30 seconds" in refusal_reason(batch, superuser, "resume_generation")


@pytest.mark.django_db
@pytest.mark.parametrize("state", [BatchStatus.OPEN, BatchStatus.GENERATED])
def test_only_a_generating_batch_can_be_restarted(register, superuser, state):
    batch = age(make_generating(superuser), 1000)
    if state == BatchStatus.GENERATED:
        generation.generate(batch.pk, batch.task_token)
    else:
        Batch.objects.filter(pk=batch.pk).update(task_token="")
        batch.refresh_from_db()
        batch.fail_generation("stopped")
        batch.save()
    batch = age(batch, 1000)
    assert batch.status == state
    label = BatchStatus(state).label
    message = f"This batch is {label}; only Generating batches can be restarted."
    assert refusal_reason(batch, superuser, "resume_generation") == message
    with pytest.raises(BatchActionError) as error:
        resume_generation(batch.pk, user=superuser)
    assert str(error.value) == message
    assert not ModelLogEntry.objects.for_instance(batch).filter(action=RESUME).exists()


@pytest.mark.django_db
def test_restarting_needs_the_generate_permission(register, superuser):
    batch = age(make_generating(superuser), 1000)
    sender = factories.user("sender", perms=[f"{APP}.send_batch", f"{APP}.view_batch"])
    assert "resume_generation" not in allowed_actions(batch, sender)
    with pytest.raises(BatchActionError, match="permission to generate"):
        resume_generation(batch.pk, user=sender)
    generator = factories.user("generator", perms=[f"{APP}.generate_batch", f"{APP}.view_batch"])
    assert "resume_generation" in allowed_actions(batch, generator)
    assert resume_generation(batch.pk, user=generator).status == BatchStatus.GENERATING


# --- the batch page ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_batch_page_says_since_when_and_offers_the_restart_only_when_stalled(
    register, superuser, admin_client
):
    batch = make_generating(superuser)
    page_url = reverse(f"{APP}_batch:detail", args=[batch.pk])
    progress_url = reverse(f"{APP}_batch:progress", args=[batch.pk])
    html = admin_client.get(page_url).content.decode()
    assert "Generating the notices" in html
    assert "No progress since" not in html and 'data-batch-action="resume_generation"' not in html
    assert admin_client.get(progress_url).json()["generation"]["stalled"] is False

    batch = age(batch, 400)
    since = factories.wall_clock(batch.updated_at)
    html = admin_client.get(page_url).content.decode()
    assert f"No progress since {since}." in html
    assert 'data-batch-action="resume_generation"' in html
    assert 'data-generation-stalled="1"' in html  # the poller reloads when this changes
    data_ = admin_client.get(progress_url).json()
    assert data_["generation"]["stalled"] is True
    assert data_["generation"]["stalled_since"] == since

    confirm = admin_client.get(reverse(f"{APP}_batch:resume_generation", args=[batch.pk]))
    assert confirm.status_code == 200
    assert f"no progress since {since}" in confirm.content.decode()
    response = admin_client.post(reverse(f"{APP}_batch:resume_generation", args=[batch.pk]))
    assert response["Location"] == page_url
    assert ModelLogEntry.objects.for_instance(batch).filter(action=RESUME).count() == 1
    html = admin_client.get(page_url).content.decode()
    assert "No progress since" not in html
    assert (
        "Restart generation"
        in admin_client.get(reverse(f"{APP}_batch:history", args=[batch.pk])).content.decode()
    )


# --- two tasks with the same token at once --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_tasks_with_the_same_token_generate_once(superuser, settings):
    """A restart while the old task was alive after all (or the broker's redelivery): both
    run the chunks (ON CONFLICT DO NOTHING, each chunk under the batch row's lock); exactly
    one finishes the batch; the rows are exactly the expected ones."""
    settings.WAGTAIL_BATCHCOMMS = {**settings.WAGTAIL_BATCHCOMMS, "GENERATION_CHUNK_SIZE": 3}
    data.build_register(locations=40)
    template = factories.notice_template(contact_roles=["owner", "tenant"], grouping="assembly")
    batch = make_generating(superuser, template)
    results = run_at_once(2, lambda: generation.generate(batch.pk, batch.task_token))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATED
    finished = [r for r in results if "nothing done" not in r]
    assert len(finished) == 1, results  # the other found the batch finished and stopped
    assert ModelLogEntry.objects.for_instance(batch).filter(action=f"{APP}.generated").count() == 1
    assert data.actual(batch) == data.expected(batch, template)

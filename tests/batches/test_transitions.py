"""Every batch transition through the services: allowed, and refused by state, condition and
permission, each with its message; history entries; double clicks."""

from __future__ import annotations

import datetime

import factories
import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import OrmQ
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.batches.actions import allowed_actions, refusal_reason
from wagtail_batchcomms.batches.lifecycle import (
    archive_batch,
    complete_batch,
    start_generation,
)
from wagtail_batchcomms.exceptions import BatchActionError
from wagtail_batchcomms.models import (
    Batch,
    BatchAssembly,
    BatchStatus,
    Communication,
    CommunicationStatus,
    SkippedRecipient,
    SkipReason,
)

pytestmark = pytest.mark.django_db
ALL_STATES = list(BatchStatus.values)
APP = "wagtail_batchcomms"


def make_batch(status=BatchStatus.OPEN, *, template="live", due=True, assemblies=1) -> Batch:
    """A batch put straight into ``status`` (the constructor may set a protected field)."""
    if template == "live":
        template = factories.notice_template()
    elif template == "draft":
        template = factories.notice_template(publish=False)
    batch = Batch.objects.create(
        name="Batch",
        status=status,
        template=template,
        due_date=timezone.localdate() + datetime.timedelta(days=10) if due else None,
    )
    for _ in range(assemblies):
        asm = factories.assembly()
        BatchAssembly.objects.create(batch=batch, assembly=asm, location=asm.location)
    return batch


def add_communication(batch: Batch, status: str, channel: str = "email") -> Communication:
    asm = batch.batch_assemblies.first()
    return Communication.objects.create(
        batch=batch,
        location_id=asm.location_id,
        contact=factories.contact(),
        role="owner",
        channel=channel,
        status=status,
        recipient_name="Someone",
    )


def entries(batch: Batch, action: str) -> list[ModelLogEntry]:
    return list(ModelLogEntry.objects.filter(object_id=str(batch.pk), action=f"{APP}.{action}"))


def user_with(*codenames: str):
    return factories.user(
        f"u{timezone.now().timestamp()}".replace(".", ""),
        perms=[f"{APP}.{codename}" for codename in codenames],
    )


# --- generate ------------------------------------------------------------------------------------


def test_generate_moves_open_to_generating_and_queues_the_task_on_commit(
    django_capture_on_commit_callbacks,
):
    batch = make_batch()
    user = user_with("generate_batch")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = start_generation(batch.pk, user=user)
    batch.refresh_from_db()
    assert result.status == batch.status == BatchStatus.GENERATING
    assert batch.template_revision_id == batch.template.live_revision_id
    assert len(batch.task_token) == 32
    assert len(callbacks) == 1
    queued = OrmQ.objects.get()  # the ORM broker's queue row, written on commit
    assert queued.task["func"] == f"{APP}.tasks.generate_batch"
    assert queued.task["args"] == (batch.pk, batch.task_token)
    [entry] = entries(batch, "generate")
    assert entry.user_id == user.pk
    assert f"revision {batch.template_revision_id}" in entry.message


@pytest.mark.parametrize(
    "state", [s for s in ALL_STATES if s not in (BatchStatus.OPEN, BatchStatus.GENERATED)]
)
def test_generate_is_refused_in_other_states(state, superuser):
    batch = make_batch(state)
    with pytest.raises(BatchActionError) as error:
        start_generation(batch.pk, user=superuser)
    if state == BatchStatus.GENERATING:
        assert str(error.value) == "This batch is already being generated."
    else:
        label = BatchStatus(state).label
        assert str(error.value) == (
            f"This batch is {label}; only Open or Generated batches can be generated."
        )
    batch.refresh_from_db()
    assert batch.status == state


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"template": None}, "Pick a published notice template."),
        ({"template": "draft"}, "Pick a published notice template."),
        ({"due": False}, "Set a due date."),
        ({"assemblies": 0}, "The working list is empty: add assemblies first."),
        (
            {"template": None, "due": False},
            "Pick a published notice template. Set a due date.",
        ),
    ],
)
def test_generate_is_refused_when_a_condition_fails(kwargs, message, superuser):
    batch = make_batch(**kwargs)
    with pytest.raises(BatchActionError, match=message):
        start_generation(batch.pk, user=superuser)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.OPEN
    assert not entries(batch, "generate")


def test_generate_is_refused_without_the_permission():
    batch = make_batch()
    user = user_with("change_batch", "complete_batch")
    with pytest.raises(BatchActionError) as error:
        start_generation(batch.pk, user=user)
    assert str(error.value) == "You do not have permission to generate batch communications."
    batch.refresh_from_db()
    assert batch.status == BatchStatus.OPEN


def test_a_double_click_on_generate_acts_once(superuser, django_capture_on_commit_callbacks):
    batch = make_batch()
    with django_capture_on_commit_callbacks(execute=True):
        start_generation(batch.pk, user=superuser)
        with pytest.raises(BatchActionError, match="already being generated"):
            start_generation(batch.pk, user=superuser)
    assert OrmQ.objects.count() == 1
    assert len(entries(batch, "generate")) == 1


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (BatchStatus.OPEN, "The due date is in the past: change it before generating."),
        (
            BatchStatus.GENERATED,
            "The due date is in the past: clone the batch and give the clone a new due date.",
        ),
    ],
)
def test_generate_and_regenerate_refuse_a_past_due_date(state, message, superuser):
    """A clone keeps its source's due date, which may have passed: the notices must not ask
    for a date already gone. Today is still fine."""
    batch = make_batch(state)
    Batch.objects.filter(pk=batch.pk).update(due_date=timezone.localdate() - datetime.timedelta(1))
    batch.refresh_from_db()
    action = "generate" if state == BatchStatus.OPEN else "regenerate"
    assert action not in allowed_actions(batch, superuser)
    assert refusal_reason(batch, superuser, action) == message
    with pytest.raises(BatchActionError) as error:
        start_generation(batch.pk, user=superuser)
    assert str(error.value) == message
    batch.refresh_from_db()
    assert batch.status == state and not entries(batch, action)

    Batch.objects.filter(pk=batch.pk).update(due_date=timezone.localdate())
    batch.refresh_from_db()
    assert action in allowed_actions(batch, superuser)
    assert start_generation(batch.pk, user=superuser).status == BatchStatus.GENERATING


# --- regenerate ----------------------------------------------------------------------------------


# This test asserted the old behaviour, in which regenerating deleted failed notices with
# their server's answer ("2 unsent notices removed"); only never-attempted notices go now
# (tests/batches/test_record_attempts.py covers it through the pages and a real generation).
def test_regenerate_removes_the_never_attempted_notices_and_skipped_report(superuser):
    batch = make_batch(BatchStatus.GENERATED)
    add_communication(batch, CommunicationStatus.PENDING)
    add_communication(batch, CommunicationStatus.PENDING, "letter")
    failed = add_communication(batch, CommunicationStatus.FAILED)
    Communication.objects.filter(pk=failed.pk).update(attempts=1, error_code="550", error="No")
    SkippedRecipient.objects.create(
        batch=batch, location_id=failed.location_id, reason=SkipReason.NO_EMAIL
    )
    start_generation(batch.pk, user=superuser)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATING
    assert list(batch.communications.values_list("pk", "status", "error_code", "error")) == [
        (failed.pk, CommunicationStatus.FAILED, "550", "No")
    ]
    assert not SkippedRecipient.objects.filter(batch=batch).exists()
    [entry] = entries(batch, "regenerate")
    assert entry.message == (
        "Started regenerating: removed 2 notices never attempted, kept 1 notice already attempted"
    )


@pytest.mark.parametrize("status", ["sending", "sent", "unknown"])
def test_regenerate_is_refused_once_something_is_sent(status, superuser):
    batch = make_batch(BatchStatus.GENERATED)
    add_communication(batch, status)
    pending = add_communication(batch, CommunicationStatus.PENDING)
    with pytest.raises(BatchActionError, match="already been sent or are being sent"):
        start_generation(batch.pk, user=superuser)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATED
    assert batch.communications.filter(pk=pending.pk).exists()


def test_regenerate_is_refused_without_the_permission():
    batch = make_batch(BatchStatus.GENERATED)
    with pytest.raises(BatchActionError, match="permission to regenerate"):
        start_generation(batch.pk, user=user_with("send_batch"))


# --- complete and archive ------------------------------------------------------------------------


def _with_every_status(batch: Batch) -> dict[str, Communication]:
    notices = {status: add_communication(batch, status) for status in CommunicationStatus.values}
    # An email claimed once and put back in the queue (a retry): attempted, so it stays.
    notices["requeued"] = add_communication(batch, CommunicationStatus.PENDING)
    Communication.objects.filter(pk=notices["requeued"].pk).update(attempts=1)
    return notices


# These two tests asserted the old behaviour, in which closing deleted failed notices with
# their server's answer ("2 unsent notices removed"); only never-attempted notices go now
# (tests/batches/test_record.py covers every state and kind through the pages).
@pytest.mark.parametrize("state", [BatchStatus.GENERATED, BatchStatus.PARTIALLY_SENT])
def test_complete_removes_only_notices_never_attempted(state):
    batch = make_batch(state)
    notices = _with_every_status(batch)
    user = user_with("complete_batch")
    complete_batch(batch.pk, user=user)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETE
    assert batch.closed_at is not None
    left = set(batch.communications.values_list("pk", flat=True))
    assert left == {n.pk for key, n in notices.items() if key != "pending"}
    [entry] = entries(batch, "complete")
    assert (entry.user_id, entry.data["removed"]) == (user.pk, 1)
    assert entry.message == (
        "Completed: removed 1 notice never attempted (1 email); kept 5 (1 email sent, "
        "1 failed, with the server's answer, 1 of unknown delivery, 1 being sent now, "
        "1 queued again after an earlier attempt (not sent now))"
    )


@pytest.mark.parametrize(
    "state",
    [BatchStatus.OPEN, BatchStatus.GENERATED, BatchStatus.PARTIALLY_SENT, BatchStatus.COMPLETE],
)
def test_archive_from_each_allowed_state_removes_only_notices_never_attempted(state):
    batch = make_batch(state)
    _with_every_status(batch)
    archive_batch(batch.pk, user=user_with("archive_batch"))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ARCHIVED
    assert sorted(batch.communications.values_list("status", flat=True)) == [
        "failed",
        "pending",  # the requeued one
        "sending",
        "sent",
        "unknown",
    ]
    assert entries(batch, "archive")[0].message.startswith(
        "Archived: removed 1 notice never attempted (1 email); kept 5 ("
    )


def test_an_old_close_entry_still_reads():
    batch = make_batch(BatchStatus.GENERATED)
    complete_batch(batch.pk, user=user_with("complete_batch"))
    [entry] = entries(batch, "complete")
    ModelLogEntry.objects.filter(pk=entry.pk).update(data={"removed": 2})
    entry.refresh_from_db()
    assert entry.message == "Completed: 2 unsent notices removed"


@pytest.mark.parametrize(
    "state", [BatchStatus.OPEN, BatchStatus.GENERATING, BatchStatus.COMPLETE, BatchStatus.ARCHIVED]
)
def test_complete_is_refused_in_other_states(state, superuser):
    batch = make_batch(state)
    pending = add_communication(batch, CommunicationStatus.PENDING)
    with pytest.raises(BatchActionError) as error:
        complete_batch(batch.pk, user=superuser)
    assert str(error.value) == (
        f"This batch is {BatchStatus(state).label}; only Generated or Partially sent batches "
        "can be completed."
    )
    assert Communication.objects.filter(pk=pending.pk).exists()


@pytest.mark.parametrize("state", [BatchStatus.GENERATING, BatchStatus.ARCHIVED])
def test_archive_is_refused_in_other_states(state, superuser):
    batch = make_batch(state)
    with pytest.raises(BatchActionError) as error:
        archive_batch(batch.pk, user=superuser)
    assert str(error.value) == (
        f"This batch is {BatchStatus(state).label}; only Open, Generated, Partially sent or "
        "Complete batches can be archived."
    )


@pytest.mark.parametrize(
    ("service", "codename", "verb"),
    [(complete_batch, "archive_batch", "complete"), (archive_batch, "complete_batch", "archive")],
)
def test_complete_and_archive_need_their_permission(service, codename, verb):
    batch = make_batch(BatchStatus.GENERATED)
    pending = add_communication(batch, CommunicationStatus.PENDING)
    with pytest.raises(BatchActionError) as error:
        service(batch.pk, user=user_with(codename))
    assert str(error.value) == f"You do not have permission to {verb} batch communications."
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATED
    assert Communication.objects.filter(pk=pending.pk).exists()


def test_a_double_click_on_complete_is_refused_with_a_message_and_acts_once(superuser):
    batch = make_batch(BatchStatus.GENERATED)
    add_communication(batch, CommunicationStatus.PENDING)
    complete_batch(batch.pk, user=superuser)
    with pytest.raises(BatchActionError, match="This batch is Complete; only Generated"):
        complete_batch(batch.pk, user=superuser)
    assert len(entries(batch, "complete")) == 1


def test_a_stale_instance_cannot_overwrite_a_moved_state(superuser):
    """ConcurrentTransitionMixin: an object loaded before another request moved the batch."""
    from django_fsm import ConcurrentTransition

    batch = make_batch(BatchStatus.GENERATED)
    stale = Batch.objects.get(pk=batch.pk)
    complete_batch(batch.pk, user=superuser)
    stale.archive()
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETE


def test_a_missing_batch_is_a_message_not_a_crash(superuser):
    with pytest.raises(BatchActionError, match="no longer exists"):
        complete_batch(987654, user=superuser)

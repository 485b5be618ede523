"""Batch use cases: create, generate, complete, archive, clone, delete.

Every function takes ids or instances plus the acting user, checks the user's permission with
``django_fsm.has_transition_perm`` (transitions) or the model permission policy, runs in one
transaction with the batch row locked (``select_for_update``), records the change in the
batch's Wagtail history (``wagtail.log_actions.log``) and raises ``BatchActionError`` with a
message fit to show the admin when refused. A repeated request (a double click) finds the
state already moved and is refused with a message; it never acts twice.
"""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition
from wagtail.log_actions import log

from .. import history
from ..exceptions import BatchActionError
from ..jobs import enqueue
from ..models import (
    Assembly,
    Batch,
    BatchStatus,
    NoticeTemplate,
    SkippedRecipient,
)
from ..register.working_list import assemblies_from_filter_query, snapshot
from .closing import close_out
from .generation import (
    generation_stalled_since,
    still_generating_message,
)
from .transitions import (
    TRANSITIONS,
    check_transition,
    lock_batch,
    require_permission,
    state_error,
)

# --- creating and filling a batch ------------------------------------------------------------


def _validate(name: str, template: NoticeTemplate | None, due_date: datetime.date | None) -> str:
    name = (name or "").strip()
    max_length = Batch._meta.get_field("name").max_length
    if not name:
        raise BatchActionError(_("Give the batch a name."))
    if len(name) > max_length:
        raise BatchActionError(
            _("The name is too long: %(n)s characters at most.") % {"n": max_length}
        )
    if template is not None and not (template.live and template.live_revision_id):
        raise BatchActionError(
            _("The notice template '%(name)s' is not published; pick a published template.")
            % {"name": template}
        )
    if due_date is not None and due_date < timezone.localdate():
        raise BatchActionError(_("The due date cannot be in the past."))
    return name


def create_batch(
    *,
    user,
    name: str,
    template: NoticeTemplate | None,
    due_date: datetime.date | None,
    assemblies: QuerySet[Assembly],
    filter_query: str = "",
) -> Batch:
    """A new Open batch whose working list is exactly ``assemblies`` (one set-based insert).

    Needs the "add" permission. ``template`` must be published if given; ``due_date`` not in
    the past. An empty selection is refused. ``filter_query`` (the listing's query string) is
    kept so the batch can be cloned with its filter re-applied later.
    """
    require_permission(user, "add", _("You do not have permission to create batches."))
    name = _validate(name, template, due_date)
    with transaction.atomic():
        batch = Batch.objects.create(
            name=name,
            template=template,
            due_date=due_date,
            filter_query=filter_query or "",
            created_by=user,
        )
        batch.assembly_count = snapshot(batch, assemblies)
        if not batch.assembly_count:
            transaction.set_rollback(True)
            raise BatchActionError(
                _("No assemblies match, so there is nothing to put in the batch.")
            )
        batch.save(update_fields=["assembly_count"])
        log(
            instance=batch,
            action=history.CREATE,
            user=user,
            data={"assemblies": batch.assembly_count, "filter_query": batch.filter_query},
        )
    return batch


def add_assemblies(batch_id: int, assemblies: QuerySet[Assembly], *, user) -> int:
    """Add assemblies to an Open batch's working list; returns how many were new.

    Needs the "change" permission. Assemblies already in the list are skipped.
    """
    require_permission(user, "change", _("You do not have permission to change batches."))
    with transaction.atomic():
        batch = lock_batch(batch_id)
        if batch.status != BatchStatus.OPEN:
            raise state_error(batch, [BatchStatus.OPEN], _("changed"))
        added = snapshot(batch, assemblies)
        if added:
            batch.assembly_count = batch.batch_assemblies.count()
            batch.save(update_fields=["assembly_count", "updated_at"])
            log(
                instance=batch,
                action=history.ADD_ASSEMBLIES,
                user=user,
                data={"added": added, "assemblies": batch.assembly_count},
            )
    return added


# --- generation --------------------------------------------------------------------------------


def start_generation(batch_id: int, *, user) -> Batch:
    """Open -> Generating (or Generated -> Generating while nothing is sent) and queue the task.

    Pins the template's live revision and a fresh task token; on regeneration the skipped
    report and the notices never attempted are removed first (the transition is refused while
    any notice is being sent, sent or of unknown delivery). Attempted notices are the record
    and stay (DESIGN.md, "Keeping the record"): a failed email keeps its status and its
    server's answer, and a requeued one stays pending; generation's ``ON CONFLICT DO
    NOTHING`` on the batch+location/assembly+contact+channel key then makes no second notice
    beside it. "Retry failed emails" is the way to try a kept failed email again.
    The task is queued when the transaction commits; the request returns at once.
    """
    with transaction.atomic():
        batch = lock_batch(batch_id)
        if batch.status == BatchStatus.GENERATING:
            raise BatchActionError(_("This batch is already being generated."))
        if batch.status not in (BatchStatus.OPEN, BatchStatus.GENERATED):
            raise state_error(batch, [BatchStatus.OPEN, BatchStatus.GENERATED], _("generated"))
        regenerating = batch.status == BatchStatus.GENERATED
        transition = "regenerate" if regenerating else "generate"
        check_transition(batch, transition, user)
        removed = kept = 0
        if regenerating:
            removed = batch.communications.never_attempted().delete()[0]
            kept = batch.communications.count()
            SkippedRecipient.objects.filter(batch=batch).delete()
        getattr(batch, transition)()
        batch.task_token = uuid.uuid4().hex
        _save(batch)
        data = {"revision_id": batch.template_revision_id}
        if regenerating:
            data["removed"] = removed
            data["kept"] = kept
        action = history.REGENERATE if regenerating else history.GENERATE
        log(instance=batch, action=action, user=user, data=data)
        enqueue(
            "wagtail_batchcomms.tasks.generate_batch",
            batch.pk,
            batch.task_token,
            name=f"Generate batch {batch.pk}",
        )
    return batch


def resume_generation(batch_id: int, *, user) -> Batch:
    """Queue the generation task of a stalled Generating batch again, with the SAME token.

    Needs ``generate_batch``; refused unless the batch is Generating and has made no
    progress for ``GENERATION_STALE_AFTER`` seconds (``generation_stalled_since``). Safe even
    if the old task is alive after all or comes back (the ORM broker hands it out again after
    its ``retry``): generation is idempotent for one token (inserts are ``ON CONFLICT DO
    NOTHING``, each chunk and the finish run with the batch row locked, and only a task that
    finds the batch still Generating with its token finishes it, so it finishes once).
    The restart counts as activity (``updated_at``), so a second click is refused until the
    batch is stale again. Logged in the batch's history; queued when the transaction commits.
    """
    require_permission(
        user, "generate", _("You do not have permission to generate batch communications.")
    )
    with transaction.atomic():
        batch = lock_batch(batch_id)
        if batch.status != BatchStatus.GENERATING:
            raise state_error(batch, [BatchStatus.GENERATING], _("restarted"))
        stalled_since = generation_stalled_since(batch)
        if stalled_since is None:
            raise BatchActionError(still_generating_message(batch))
        if not batch.task_token:
            batch.task_token = uuid.uuid4().hex  # never without a token; kept when present
        batch.save(update_fields=["task_token", "updated_at"])
        log(
            instance=batch,
            action=history.RESUME_GENERATION,
            user=user,
            data={
                "stalled_since": stalled_since.isoformat(),
                "done": batch.progress_done,
                "total": batch.progress_total,
            },
        )
        enqueue(
            "wagtail_batchcomms.tasks.generate_batch",
            batch.pk,
            batch.task_token,
            name=f"Generate batch {batch.pk} (restarted)",
        )
    return batch


# --- closing out -------------------------------------------------------------------------------


def _close(batch_id: int, user, transition: str, action: str) -> Batch:
    with transaction.atomic():
        batch = lock_batch(batch_id)
        check_transition(batch, transition, user)
        # Only notices never attempted go; failed and delivery-unknown ones are the record
        # of what was attempted, and letters PDFs holding removed letters are withdrawn.
        data = close_out(batch, str(TRANSITIONS[transition][0]))
        getattr(batch, transition)()
        _save(batch)
        log(instance=batch, action=action, user=user, data=data)
    return batch


def complete_batch(batch_id: int, *, user) -> Batch:
    """Generated/Partially Sent -> Complete; notices never attempted removed in the same
    transaction, letters PDFs holding them withdrawn (``batches.closing``)."""
    return _close(batch_id, user, "complete", history.COMPLETE)


def archive_batch(batch_id: int, *, user) -> Batch:
    """Open/Generated/Partially Sent/Complete -> Archived; as ``complete_batch``."""
    return _close(batch_id, user, "archive", history.ARCHIVE)


def clone_batch(batch_id: int, *, user, reapply_filter: bool = False, name: str = "") -> Batch:
    """A new Open batch from any batch: same template and due date, "<name> (copy)".

    The working list is the source's assemblies (set-based copy), or, with
    ``reapply_filter``, the source's saved filter applied to today's register. The due date
    is kept even if past (the admin changes it before generating). Needs ``clone_batch``.
    """
    require_permission(user, "clone", _("You do not have permission to clone batches."))
    with transaction.atomic():
        source = lock_batch(batch_id)
        if reapply_filter:
            if not source.filter_query:
                raise BatchActionError(
                    _(
                        "This batch was not made from a filtered listing, so there is no "
                        "filter to re-apply; clone its working list instead."
                    )
                )
            assemblies = assemblies_from_filter_query(source.filter_query)
        else:
            assemblies = Assembly.objects.filter(batch_memberships__batch=source)
        max_length = Batch._meta.get_field("name").max_length
        suffix = _(" (copy)")
        new_name = (name or "").strip() or source.name[: max_length - len(suffix)] + suffix
        clone = Batch.objects.create(
            name=new_name[:max_length],
            template=source.template,
            due_date=source.due_date,
            filter_query=source.filter_query,
            created_by=user,
            cloned_from=source,
        )
        clone.assembly_count = snapshot(clone, assemblies)
        if reapply_filter and not clone.assembly_count:
            transaction.set_rollback(True)
            raise BatchActionError(
                _("The saved filter matches no assemblies in the register today.")
            )
        clone.save(update_fields=["assembly_count"])
        log(
            instance=clone,
            action=history.CLONE,
            user=user,
            data={
                "source": {"id": source.pk, "name": source.name},
                "reapplied_filter": reapply_filter,
                "assemblies": clone.assembly_count,
            },
        )
        log(
            instance=source,
            action=history.CLONED,
            user=user,
            data={"clone": {"id": clone.pk, "name": clone.name}},
        )
    return clone


def delete_batch(batch_id: int, *, user) -> None:
    """Delete an Open batch (needs the "delete" permission); other states are refused."""
    require_permission(user, "delete", _("You do not have permission to delete batches."))
    with transaction.atomic():
        batch = lock_batch(batch_id)
        if batch.status != BatchStatus.OPEN:
            raise state_error(batch, [BatchStatus.OPEN], _("deleted"))
        log(instance=batch, action=history.DELETE, user=user, deleted=True)
        batch.delete()


def _save(batch: Batch) -> None:
    try:
        batch.save()
    except ConcurrentTransition as error:
        raise BatchActionError(
            _("Someone else changed this batch at the same moment; reload the page.")
        ) from error

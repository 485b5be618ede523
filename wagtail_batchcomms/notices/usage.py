"""Notice templates and the batches that use them.

A batch may pick only a published template with a live revision to pin (``live_templates``).

Deleting a template deletes its revisions with it (Wagtail's ``RevisionMixin``), and with
them the revision each of its batches pinned: a batch that still has notices to generate or
send could then render none. So a template is not deleted while a batch that is not yet
Complete or Archived uses it; unpublishing it is the way to stop new batches picking it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from ..models import Batch, BatchStatus, CommunicationType, NoticeTemplate

#: Batches in these states still need their template's pinned revision (to generate,
#: regenerate, send, render letters or preview).
UNFINISHED_STATES = (
    BatchStatus.OPEN,
    BatchStatus.GENERATING,
    BatchStatus.GENERATED,
    BatchStatus.PARTIALLY_SENT,
)


def live_templates() -> QuerySet[NoticeTemplate]:
    """Notice templates a batch may use (published, with a live revision to pin), by name."""
    return NoticeTemplate.objects.filter(live=True, live_revision__isnull=False).order_by("name")


def unfinished_batches(templates: Iterable[NoticeTemplate | int]) -> QuerySet[Batch]:
    """The batches not yet Complete or Archived that use any of ``templates``, newest first."""
    ids = [getattr(template, "pk", template) for template in templates]
    return Batch.objects.filter(template_id__in=ids, status__in=UNFINISHED_STATES).order_by(
        "-created_at", "-pk"
    )


def deletion_blockers(templates: Iterable[NoticeTemplate]) -> dict[NoticeTemplate, list[Batch]]:
    """``{template: [unfinished batches using it]}`` for the templates that must not be
    deleted now (empty when all may go). One query."""
    templates = list(templates)
    by_id = {template.pk: template for template in templates}
    blockers: dict[NoticeTemplate, list[Batch]] = {}
    for batch in unfinished_batches(templates):
        blockers.setdefault(by_id[batch.template_id], []).append(batch)
    return blockers


def types_using(
    templates: Iterable[NoticeTemplate],
) -> dict[NoticeTemplate, list[CommunicationType]]:
    """``{template: [Communication Types sending it]}``: a template a type sends is not
    deleted (the type would have nothing to send; the database protects it too). One query."""
    templates = list(templates)
    by_id = {template.pk: template for template in templates}
    used: dict[NoticeTemplate, list] = {}
    for ctype in CommunicationType.objects.filter(template_id__in=by_id).order_by("name"):
        used.setdefault(by_id[ctype.template_id], []).append(ctype)
    return used

"""Batch use cases: create, generate, complete, archive, clone, delete.

CONTRACT (bodies are being written; signatures are fixed so the admin views can rely on them).
Every function takes ids or instances plus the acting user, checks the user's permission with
``django_fsm.has_transition_perm`` (transitions) or the model permission policy, runs in one
transaction, records the change in the batch's Wagtail history (``wagtail.log_actions.log``)
and raises ``BatchActionError`` with a message fit to show the admin when refused.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import QuerySet

from ..models import Assembly, Batch, NoticeTemplate


class BatchActionError(Exception):
    """A refused action; ``str(error)`` is the message for the admin."""


@dataclass
class GenerationPreview:
    """What generation would produce now (the dry run on the confirm page)."""

    emails: int = 0
    letters: int = 0
    locations: int = 0
    assemblies: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # SkipReason value -> count


def create_batch(
    *,
    user,
    name: str,
    template: NoticeTemplate | None,
    due_date: datetime.date | None,
    assemblies: QuerySet[Assembly],
    filter_query: str = "",
) -> Batch:
    raise NotImplementedError


def add_assemblies(batch_id: int, assemblies: QuerySet[Assembly], *, user) -> int:
    raise NotImplementedError


def start_generation(batch_id: int, *, user) -> Batch:
    raise NotImplementedError


def preview_generation(batch: Batch) -> GenerationPreview:
    raise NotImplementedError


def complete_batch(batch_id: int, *, user) -> Batch:
    raise NotImplementedError


def archive_batch(batch_id: int, *, user) -> Batch:
    raise NotImplementedError


def clone_batch(batch_id: int, *, user, reapply_filter: bool = False, name: str = "") -> Batch:
    raise NotImplementedError


def delete_batch(batch_id: int, *, user) -> None:
    raise NotImplementedError


def allowed_actions(batch: Batch, user) -> list[str]:
    raise NotImplementedError

"""Returned mail: letters that came back undelivered, and the contacts' mailing-address flag.

Marking records ``returned_at``/``returned_by`` on the letter (which stays in the record: a
returned letter is never deleted) and, when asked, flags each letter's contact
(``Contact.mailing_address_bad_since``). Generation then treats that address as missing
(``batches.addresses_sql``). The flag is cleared by an admin ("Clear flag") or by editing the
contact's mailing address.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import history
from ..exceptions import LetterError
from ..models import Batch, Channel, Communication, CommunicationStatus, Contact
from ..permissions import user_can
from ..register.contact_flags import ADDRESS, clear_flag


@dataclass
class ReturnedResult:
    """What one "Mark as returned" did."""

    marked: int = 0  # letters marked now
    already: int = 0  # letters that were marked before (a second click)
    not_mailed: int = 0  # selected rows that are not mailed letters (left alone)
    flagged: int = 0  # contacts whose mailing address was flagged now


def is_returnable(communication: Communication) -> bool:
    """``returnable``'s condition on a loaded row."""
    return (
        communication.channel == Channel.LETTER and communication.status == CommunicationStatus.SENT
    )


def returnable(queryset=None):
    """Letters that can be marked as returned: mailed (status sent), by letter."""
    queryset = Communication.objects.all() if queryset is None else queryset
    return queryset.filter(channel=Channel.LETTER, status=CommunicationStatus.SENT)


def user_can_mark_returned(user) -> bool:
    return bool(user and user.is_active and user_can(user, "mark_returned", Communication))


def mark_returned(ids: Iterable[int], *, user, flag_address: bool = False) -> ReturnedResult:
    """Mark the mailed letters among ``ids`` as returned (now, by ``user``); with
    ``flag_address``, flag their contacts' mailing addresses as bad.

    Needs the ``mark_returned_communication`` permission. Only letters with status *sent*
    (mailed) are marked; others are counted in ``not_mailed`` and left alone. Safe to repeat
    (a double click, two admins at once): one conditional UPDATE marks each letter once, the first
    time, and only the letters this call marked are written in the history (one entry per
    batch). A contact already flagged keeps its first date.
    """
    if not user_can_mark_returned(user):
        raise LetterError(_("You do not have permission to mark letters as returned."))
    ids = list({int(pk) for pk in ids})
    result = ReturnedResult()
    with transaction.atomic():
        now = timezone.now()
        letters = returnable(Communication.objects.filter(pk__in=ids))
        result.marked = letters.filter(returned_at__isnull=True).update(
            returned_at=now, returned_by=user
        )
        mailed = letters.count()
        result.already = mailed - result.marked
        result.not_mailed = len(ids) - mailed
        mine = letters.filter(returned_at=now, returned_by=user)
        per_batch = Counter(mine.exclude(batch=None).values_list("batch_id", flat=True))
        for batch in Batch.objects.filter(pk__in=per_batch):
            log(batch, history.LETTERS_RETURNED, user=user, data={"letters": per_batch[batch.pk]})
        if flag_address:
            contacts = list(
                Contact.objects.filter(
                    pk__in=letters.exclude(contact=None).values("contact_id"),
                    mailing_address_bad_since__isnull=True,
                )
            )
            result.flagged = Contact.objects.filter(
                pk__in=[c.pk for c in contacts], mailing_address_bad_since__isnull=True
            ).update(mailing_address_bad_since=now)
            for contact in contacts:
                log(contact, history.ADDRESS_FLAGGED, user=user)
    return result


def clear_address_flag(contact_id: int, *, user, by: str = "admin") -> bool:
    """Clear a contact's bad-address flag; returns whether it was set. Needs "change" on
    contacts. ``by="address edited"`` when the edit of the address cleared it."""
    if not user_can(user, "change", Contact):
        raise LetterError(_("You do not have permission to change contacts."))
    return clear_flag(ADDRESS, contact_id, user=user, by=by)

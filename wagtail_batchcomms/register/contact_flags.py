"""A contact's two flags, one description each: its mailing address after returned mail
(``letters.returned`` sets it) and its email after a provider's hard bounce
(``emails.tracking``). Generation then avoids that channel until the field is edited
(``ContactFlag.edited_fields``) or an admin clears the flag (``clear_flag``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from wagtail.log_actions import log

from .. import history
from ..models import Contact


@dataclass(frozen=True)
class ContactFlag:
    name: str
    #: The contact's date field: when the flag was set, None while it is not.
    field: str
    #: Editing any of these clears the flag (it is no longer the address that failed).
    edited_fields: tuple[str, ...]
    cleared_action: str
    #: ``by`` in the history when an edit of the contact cleared it.
    edited_by: str

    def is_set(self, contact: Contact) -> bool:
        return getattr(contact, self.field) is not None


ADDRESS = ContactFlag(
    name="address",
    field="mailing_address_bad_since",
    edited_fields=(
        "mailing_address_line1",
        "mailing_address_line2",
        "mailing_city",
        "mailing_state",
        "mailing_postal_code",
    ),
    cleared_action=history.ADDRESS_FLAG_CLEARED,
    edited_by="address edited",
)
EMAIL = ContactFlag(
    name="email",
    field="email_bounced_since",
    edited_fields=("email",),
    cleared_action=history.EMAIL_FLAG_CLEARED,
    edited_by="email edited",
)
FLAGS = (ADDRESS, EMAIL)


def clear_flag(flag: ContactFlag, contact_id: int, *, user, by: str = "admin") -> bool:
    """Clear ``flag`` on the contact; returns whether it was set (a double click clears it
    once, and writes one history entry). The caller checks the permission."""
    with transaction.atomic():
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None:
            return False
        cleared = Contact.objects.filter(pk=contact_id, **{f"{flag.field}__isnull": False}).update(
            **{flag.field: None}
        )
        if cleared:
            log(contact, flag.cleared_action, user=user, data={"by": by})
    return bool(cleared)

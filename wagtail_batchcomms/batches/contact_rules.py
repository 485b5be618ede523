"""A template's contact rules as generation applies them (``ContactRules``), and the error
generation reports to the admin (``GenerationError``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Batch, ContactMethods, ContactRole, Grouping, NoticeTemplate

ROLE_ORDER: list[str] = list(ContactRole.values)


class GenerationError(Exception):
    """A failure with a message fit for the admin (shown on the batch page)."""


@dataclass(frozen=True)
class ContactRules:
    """A template's contact rules, as generation applies them."""

    roles: tuple[str, ...]
    primary_only: bool
    email: bool
    letter: bool
    first_available: bool
    per_assembly: bool

    @classmethod
    def from_template(cls, template: NoticeTemplate) -> ContactRules:
        roles = tuple(role for role in ROLE_ORDER if role in set(template.contact_roles or []))
        methods = template.contact_methods
        email = methods in (ContactMethods.EMAIL, ContactMethods.BOTH)
        letter = methods in (ContactMethods.LETTER, ContactMethods.BOTH)
        return cls(
            roles=roles,
            primary_only=bool(template.primary_only),
            email=email,
            letter=letter,
            # Only meaningful when both methods are allowed (the template form says so).
            first_available=bool(template.first_available_only) and email and letter,
            per_assembly=template.grouping == Grouping.ASSEMBLY,
        )

    @classmethod
    def for_batch(cls, batch: Batch) -> ContactRules:
        """The rules of the revision the batch is pinned to."""
        revision = batch.template_revision
        if revision is None:
            raise GenerationError(
                "The notice template revision this batch was pinned to no longer exists; "
                "generate again to use the template's current published version."
            )
        return cls.from_template(revision.as_object())

"""Copies (CC/BCC) of notices: which domains they may go to, and what a batch will copy.

A template's copies go out with every email of every batch that uses it (with the letter PDF
when attached), so they are limited twice: when the template is saved (``copy_errors``, a
form error on the field) and when its emails are built (``copies_of``, which drops the
addresses the setting no longer allows, so that a revision published before the setting
changed cannot leak). ``COPY_ADDRESS_DOMAINS`` in ``WAGTAIL_BATCHCOMMS`` decides; by default
only the sender address's own domain, the organisation's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parseaddr

from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from ..conf import SETTING_NAME, batchcomms_settings, from_email
from ..models import Batch, NoticeTemplate

ANY_DOMAIN = "*"
SETTING = f"{SETTING_NAME}['COPY_ADDRESS_DOMAINS']"


def sender_domain() -> str:
    """The domain of the notices' sender address (FROM_EMAIL, else DEFAULT_FROM_EMAIL)."""
    return parseaddr(from_email())[1].rpartition("@")[2].strip().lower()


def allowed_domains() -> tuple[str, ...]:
    """The domains copies may go to now (``ANY_DOMAIN`` among them: any)."""
    setting = batchcomms_settings.COPY_ADDRESS_DOMAINS
    if setting is None:
        domain = sender_domain()
        return (domain,) if domain else ()
    return tuple(entry.strip().lower().rstrip(".") for entry in setting)


def is_allowed(address: str, domains: tuple[str, ...]) -> bool:
    if ANY_DOMAIN in domains:
        return True
    return address.rpartition("@")[2].strip().lower().rstrip(".") in domains


def describe_domains(domains: tuple[str, ...]) -> str:
    """For messages: "riverbend-water.example", "any domain" or "no domain"."""
    if ANY_DOMAIN in domains:
        return _("any domain")
    if not domains:
        return _("no domain (copies are turned off)")
    return get_text_list(list(domains), _("or"))


@dataclass(frozen=True)
class Copies:
    """What the emails of a template (revision) are copied to, and what the setting refuses."""

    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def addresses(self) -> list[str]:
        return [*self.cc, *self.bcc]

    def __bool__(self) -> bool:
        return bool(self.cc or self.bcc or self.refused)

    def as_log_data(self) -> dict:
        return {"cc": self.cc, "bcc": self.bcc, "refused": self.refused}


def copies_of(template: NoticeTemplate | None) -> Copies:
    """The template's copies split by the current setting: the allowed ones are sent, the
    refused ones are not (and are shown on the send page and in the history)."""
    if template is None:
        return Copies()
    domains = allowed_domains()
    cc = [address for address in template.cc_list if is_allowed(address, domains)]
    bcc = [address for address in template.bcc_list if is_allowed(address, domains)]
    refused = [
        address
        for address in [*template.cc_list, *template.bcc_list]
        if not is_allowed(address, domains)
    ]
    return Copies(cc=cc, bcc=bcc, refused=refused)


def batch_template(batch: Batch) -> NoticeTemplate | None:
    """What the batch's emails are built from: its pinned revision once generated, else the
    template's live version (what generating now would pin)."""
    if batch.template_revision_id:
        return batch.template_revision.as_object()
    template = batch.template
    if template is None:
        return None
    if template.live_revision_id:
        return template.live_revision.as_object()
    return template


def batch_copies(batch: Batch) -> Copies:
    return copies_of(batch_template(batch))


def copy_errors(template: NoticeTemplate) -> dict[str, list[str]]:
    """Form errors for CC/BCC addresses outside the allowed domains, by field name."""
    domains = allowed_domains()
    errors: dict[str, list[str]] = {}
    for name, addresses in (("cc", template.cc_list), ("bcc", template.bcc_list)):
        refused = [address for address in addresses if not is_allowed(address, domains)]
        if refused:
            errors[name] = [
                _(
                    "%(addresses)s: copies may only go to %(domains)s (the setting %(setting)s). "
                    "Every email of every batch using this template would be copied there."
                )
                % {
                    "addresses": ", ".join(refused),
                    "domains": describe_domains(domains),
                    "setting": SETTING,
                }
            ]
    return errors

"""A contact's flags on its pages (returned mail on its mailing address, a hard bounce on its
email): a warning status tag and "Clear flag"."""

from __future__ import annotations

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from wagtail.admin.panels import Panel

from ...models import Contact
from ...permissions import user_can


def address_flag_html(contact: Contact, user, request, *, in_form: bool = False) -> str:
    """The warning tag, and for a user who may change contacts the "Clear flag" button: its
    own POST form, or inside the edit form a button posting to the clear URL (forms do not
    nest). Empty when the contact is not flagged."""
    since = contact.mailing_address_bad_since
    if since is None:
        return ""
    tag = format_html(
        '<span class="w-status w-status--primary" data-address-flag>{}</span> {}',
        _("Mailing address flagged as bad"),
        _(
            "since %(date)s: a letter came back. Letters go elsewhere or not at all until the "
            "address is edited or the flag is cleared."
        )
        % {"date": date_format(timezone.localtime(since).date())},
    )
    if not user_can(user, "change", Contact):
        return tag
    url = reverse("wagtail_batchcomms_communication:clear_address_flag", args=[contact.pk])
    return format_html("<p>{} {}</p>", tag, _clear_button(url, request, in_form=in_form))


class AddressFlagPanel(Panel):
    """The flag at the top of a contact's edit page (shown only while it is set)."""

    class BoundPanel(Panel.BoundPanel):
        def is_shown(self):
            return bool(self.instance and self.instance.mailing_address_bad_since)

        def is_required(self):
            return False

        def render_html(self, parent_context=None):
            return address_flag_html(self.instance, self.request.user, self.request, in_form=True)


def email_flag_html(contact: Contact, user, request, *, in_form: bool = False) -> str:
    """The bounced-email flag (``emails.tracking``) as ``address_flag_html`` shows the
    returned-mail one: a warning tag and "Clear flag". Empty when the email is not flagged."""
    since = contact.email_bounced_since
    if since is None:
        return ""
    tag = format_html(
        '<span class="w-status w-status--primary" data-email-flag>{}</span> {}',
        _("Email bounced"),
        _(
            "since %(date)s: the provider reported a hard bounce. Notices go by letter where "
            "the template allows it, else they are skipped, until the email is edited or the "
            "flag is cleared."
        )
        % {"date": date_format(timezone.localtime(since).date())},
    )
    if not user_can(user, "change", Contact):
        return tag
    url = reverse("wagtail_batchcomms_communication:clear_email_flag", args=[contact.pk])
    return format_html("<p>{} {}</p>", tag, _clear_button(url, request, in_form=in_form))


def _clear_button(url: str, request, *, in_form: bool) -> str:
    if in_form:
        return format_html(
            '<button type="submit" class="button button-small button-secondary" '
            'formaction="{}" formmethod="post" formnovalidate>{}</button>',
            url,
            _("Clear flag"),
        )
    return format_html(
        '<form method="post" action="{}" style="display:inline">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<button type="submit" class="button button-small button-secondary">{}</button>'
        "</form>",
        url,
        get_token(request),
        _("Clear flag"),
    )


class EmailFlagPanel(Panel):
    """The bounced-email flag at the top of a contact's edit page (only while it is set)."""

    class BoundPanel(Panel.BoundPanel):
        def is_shown(self):
            return bool(self.instance and self.instance.email_bounced_since)

        def is_required(self):
            return False

        def render_html(self, parent_context=None):
            return email_flag_html(self.instance, self.request.user, self.request, in_form=True)

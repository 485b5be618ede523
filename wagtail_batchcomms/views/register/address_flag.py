"""A contact's flags on its pages (returned mail on its mailing address, a hard bounce on its
email; ``register.contact_flags``): a warning status tag and "Clear flag"."""

from __future__ import annotations

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import Panel

from ...models import Contact
from ...permissions import user_can
from ...register.contact_flags import ADDRESS, EMAIL, ContactFlag

#: Per flag: the tag, what it means (with the date it was set), the tag's data attribute and
#: the URL name of its "Clear flag".
SHOWN = {
    ADDRESS.name: (
        _("Mailing address flagged as bad"),
        _(
            "since %(date)s: a letter came back. Letters go elsewhere or not at all until the "
            "address is edited or the flag is cleared."
        ),
        "data-address-flag",
        "wagtail_batchcomms_communication:clear_address_flag",
    ),
    EMAIL.name: (
        _("Email bounced"),
        _(
            "since %(date)s: the provider reported a hard bounce. Notices go by letter where "
            "the template allows it, else they are skipped, until the email is edited or the "
            "flag is cleared."
        ),
        "data-email-flag",
        "wagtail_batchcomms_communication:clear_email_flag",
    ),
}


def flag_html(contact: Contact, flag: ContactFlag, user, request, *, in_form: bool = False):
    """The warning tag, and for a user who may change contacts the "Clear flag" button: its
    own POST form, or inside the edit form a button posting to the clear URL (forms do not
    nest). Empty when the flag is not set."""
    since = getattr(contact, flag.field)
    if since is None:
        return ""
    label, meaning, marker, url_name = SHOWN[flag.name]
    tag = format_html(
        '<span class="w-status w-status--primary" {}>{}</span> {}',
        marker,
        label,
        meaning % {"date": date_format(timezone.localtime(since).date())},
    )
    if not user_can(user, "change", Contact):
        return tag
    url = reverse(url_name, args=[contact.pk])
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


class _FlagPanel(Panel):
    """A flag at the top of a contact's edit page (shown only while it is set)."""

    flag: ContactFlag

    class BoundPanel(Panel.BoundPanel):
        def is_shown(self):
            return bool(self.instance) and self.panel.flag.is_set(self.instance)

        def is_required(self):
            return False

        def render_html(self, parent_context=None):
            return flag_html(
                self.instance, self.panel.flag, self.request.user, self.request, in_form=True
            )


class AddressFlagPanel(_FlagPanel):
    flag = ADDRESS


class EmailFlagPanel(_FlagPanel):
    flag = EMAIL

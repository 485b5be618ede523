"""Edit forms of the register."""

from __future__ import annotations

from django.utils.translation import gettext as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import InlinePanel, Panel
from wagtail.log_actions import log

from ...models import Contact, ContactRole
from ...permissions import user_can_look
from ...register.contact_flags import FLAGS


class LocationForm(WagtailAdminModelForm):
    """The location form with its contacts inline.

    The database allows one primary contact per role at a location (a conditional unique
    constraint), which Django's and modelcluster's formset checks do not cover: two rows
    ticked "primary" for the same role would reach the database and fail there. This
    turns that into an error on the row.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The rows name contacts: a user who may change locations but not look at contacts
        # gets the form without them (``ContactsInlinePanel`` then shows nothing), and
        # saving it leaves the location's roles as they are, as no formset saves them.
        if self.for_user is not None and not user_can_look(self.for_user, Contact):
            self.formsets.pop("location_contacts", None)

    def clean(self):
        cleaned_data = super().clean()
        formset = self.formsets.get("location_contacts")
        if formset is None or not formset.is_valid():
            return cleaned_data
        primary_for: dict[str, object] = {}
        for form in formset.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE") or not data.get("is_primary"):
                continue
            role = data.get("role")
            if role in primary_for:
                form.add_error(
                    "is_primary",
                    _("Another contact is already the primary %(role)s here.")
                    % {"role": ContactRole(role).label.lower()},
                )
            else:
                primary_for[role] = form
        return cleaned_data


class ContactsInlinePanel(InlinePanel):
    """An ``InlinePanel`` shown only when the form holds its formset (``LocationForm`` leaves
    it out for users who may not look at contacts); Wagtail's would fail on the missing
    formset."""

    class BoundPanel(InlinePanel.BoundPanel):
        def __init__(self, **kwargs):
            form = kwargs.get("form")
            self.omitted = form is not None and kwargs["panel"].relation_name not in form.formsets
            if self.omitted:
                Panel.BoundPanel.__init__(self, **kwargs)
            else:
                super().__init__(**kwargs)

        def is_shown(self):
            return not self.omitted and super().is_shown()


class ContactForm(WagtailAdminModelForm):
    """The contact form: a changed mailing address is a new address, so it is no longer the
    one letters came back from; likewise a changed email is not the one that bounced: saving
    such an edit clears that flag (``register.contact_flags``), and says so in the history."""

    def save(self, commit=True):
        changed = set(self.changed_data)
        cleared = [
            flag
            for flag in FLAGS
            if flag.is_set(self.instance) and changed & set(flag.edited_fields)
        ]
        for flag in cleared:
            setattr(self.instance, flag.field, None)
        saved = super().save(commit=commit)
        if commit:
            for flag in cleared:
                log(saved, flag.cleared_action, user=self.for_user, data={"by": flag.edited_by})
        return saved

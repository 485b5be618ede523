"""Edit forms of the register."""

from __future__ import annotations

from django.utils.translation import gettext as _
from wagtail.admin.forms import WagtailAdminModelForm

from ..models import ContactRole


class LocationForm(WagtailAdminModelForm):
    """The location form with its contacts inline.

    The database allows one primary contact per role at a location (a conditional unique
    constraint), which Django's and modelcluster's formset checks do not cover: two rows
    ticked "primary" for the same role would reach the database and fail there. This
    turns that into an error on the row.
    """

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

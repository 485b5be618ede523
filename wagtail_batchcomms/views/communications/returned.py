"""Returned mail in the Communication Log: "Mark as returned" (a bulk action on selected
letters, also reached from a letter's page with its one id) and a contact's "Clear flag"
(of its mailing address, or of its email after a hard bounce)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from wagtail.admin import messages
from wagtail.admin.views.bulk_action import BulkAction

from ...emails.tracking import clear_email_flag
from ...exceptions import LetterError
from ...letters.returned import (
    clear_address_flag,
    is_returnable,
    mark_returned,
    returnable,
    user_can_mark_returned,
)
from ...models import Communication, Contact
from ...permissions import user_can
from ...register.log_filters import CommunicationFilterSet, search_communications


class MarkReturnedForm(forms.Form):
    flag_address = forms.BooleanField(
        label=gettext_lazy("Flag the contact's mailing address as bad"),
        required=False,
        help_text=gettext_lazy(
            "Later notices then go to the location's service address if it is another "
            "address, else by email where the template allows it, else they are skipped."
        ),
    )


class MarkReturnedBulkAction(BulkAction):
    """Mark the selected mailed letters as returned mail (``letters.returned``)."""

    display_name = gettext_lazy("Mark as returned")
    action_type = "mark_returned"
    aria_label = gettext_lazy("Mark selected letters as returned mail")
    template_name = "wagtail_batchcomms/admin/confirm_mark_returned.html"
    action_priority = 10
    form_class = MarkReturnedForm
    models = [Communication]

    def dispatch(self, request, *args, **kwargs):
        if not user_can_mark_returned(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @classmethod
    def get_queryset(cls, model, object_ids):
        # Bounded ids only (a crafted id past the column's range is no match, not an error).
        ids = [int(pk) for pk in object_ids if str(pk).isascii() and str(pk).isdigit()]
        ids = [pk for pk in ids if pk < 2**63]
        return list(
            Communication.objects.filter(pk__in=ids).select_related("contact").order_by("pk")
        )

    def check_perm(self, obj):
        # Only mailed letters can come back; others are listed as not markable. From the
        # loaded row: a query per selected row would make "select all" one query per letter.
        return is_returnable(obj)

    def get_all_objects_in_listing_query(self, parent_id):
        # "Select all N in listing": the Log's mailed letters under its filters and search
        # (the bulk-actions script sends the listing's query string), never the whole Log.
        filters = CommunicationFilterSet(self.request.GET, queryset=returnable())
        if not filters.is_valid():
            return Communication.objects.none().values_list("pk", flat=True)
        found = search_communications(filters.qs, self.request.GET.get("q", ""))
        return found.values_list("pk", flat=True)

    def object_context(self, obj):
        return {"item": obj, "returned": obj.returned_at is not None}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["header_icon"] = "mail"
        return context

    def form_valid(self, form):
        """Through the use case (not Wagtail's ``execute_action``): its one conditional
        UPDATE makes a double click or a second admin mark nothing twice."""
        objects, _without = self.get_actionable_objects()
        try:
            result = mark_returned(
                [obj.pk for obj in objects],
                user=self.request.user,
                flag_address=form.cleaned_data["flag_address"],
            )
        except LetterError as error:
            messages.error(self.request, str(error))
            return redirect(self.next_url)
        if result.marked:
            messages.success(
                self.request,
                ngettext(
                    "%(n)s letter marked as returned.",
                    "%(n)s letters marked as returned.",
                    result.marked,
                )
                % {"n": result.marked},
            )
        if result.already:
            messages.warning(
                self.request,
                ngettext(
                    "%(n)s letter was already marked as returned.",
                    "%(n)s letters were already marked as returned.",
                    result.already,
                )
                % {"n": result.already},
            )
        if result.flagged:
            messages.success(
                self.request,
                ngettext(
                    "%(n)s contact's mailing address flagged as bad.",
                    "%(n)s contacts' mailing addresses flagged as bad.",
                    result.flagged,
                )
                % {"n": result.flagged},
            )
        return redirect(self.next_url)


class ClearAddressFlagView(View):
    """POST: clear a contact's returned-mail flag, back to the page it came from."""

    http_method_names = ["post"]
    message = gettext_lazy("The mailing address flag of %(name)s was cleared.")

    def clear(self, contact: Contact, user) -> bool:
        return clear_address_flag(contact.pk, user=user)

    def post(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        if not user_can(request.user, "change", Contact):
            raise PermissionDenied
        if self.clear(contact, request.user):
            messages.success(request, self.message % {"name": contact.name})
        back = request.META.get("HTTP_REFERER") or contact.get_admin_url()
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
            back = contact.get_admin_url()
        return redirect(back)


class ClearEmailFlagView(ClearAddressFlagView):
    """POST: clear a contact's bounced-email flag, back to the page it came from."""

    message = gettext_lazy("The bounced-email flag of %(name)s was cleared.")

    def clear(self, contact: Contact, user) -> bool:
        return clear_email_flag(contact.pk, user=user)

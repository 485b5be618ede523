"""The batch actions in the admin: one operation view, driven by the registry.

Every entry of ``batches.actions.ACTIONS`` that runs a use case gets a URL
(``<pk>/<key with dashes>/``, named by its key) and a ``BatchActionView`` built from the entry.
The view follows Wagtail's ``BaseOperationView`` (POST -> ``perform_operation()`` -> message ->
redirect), with a confirm page on GET:

- the entry's ``permission`` is checked through the batch policy first (PolicyCheckedMixin:
  Wagtail's "permission denied" for users without it);
- then whether the action is available for this batch now (its entry's checks): otherwise a
  message with the real reason and the batch page, never a 500;
- GET shows the entry's confirm page; POST validates its form (``forms.ACTION_FORMS``, if
  any), runs its use case once, and shows its message. A refusal by the use case (wrong
  state, a second click, a race with another admin) is shown as an error on the batch page.

``BaseOperationView`` and the mixins are the same in Wagtail 7.4 and 8.0 (no compat entry).
"""

from __future__ import annotations

from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from wagtail.admin import messages
from wagtail.admin.views.generic.base import BaseOperationView, WagtailAdminTemplateMixin

from ...batches.actions import ACTIONS, REFUSALS, BatchAction, refusal_reason
from ...models import Batch
from ...permissions import PolicyCheckedMixin
from .forms import ACTION_FORMS
from .links import batch_url, batches_url


class BatchActionView(PolicyCheckedMixin, WagtailAdminTemplateMixin, BaseOperationView):
    """GET: the entry's confirm page. POST: its use case, its message, the batch page."""

    model = Batch
    #: The registry entry (``construct_view(BatchActionView, batch_action=...)``).
    batch_action: BatchAction | None = None

    def get_base_object_queryset(self):
        return Batch.objects.select_related("template")

    def get_template_names(self):
        return [self.batch_action.confirm_template]

    def get_page_title(self):
        return str(self.batch_action.label)

    def get_page_subtitle(self):
        return str(self.object)

    def get_header_icon(self):
        return self.batch_action.icon

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": batches_url(), "label": _("Batch communications")},
            {"url": batch_url(self.object), "label": str(self.object)},
            {"url": "", "label": self.get_page_title(), "sublabel": str(self.object)},
        ]

    # --- available now? --------------------------------------------------------------------

    @cached_property
    def refusal(self) -> str | None:
        """Why this action is not available for this batch and user now, or None (only this
        entry's checks: the batch page asks every entry, this view needs one)."""
        return refusal_reason(self.object, self.request.user, self.batch_action.key)

    def refuse(self):
        messages.error(
            self.request,
            _("%(action)s is not available for “%(name)s”: %(reason)s")
            % {
                "name": self.object,
                "action": self.batch_action.label,
                "reason": self.refusal,
            },
        )
        return redirect(batch_url(self.object))

    # --- the confirm page ------------------------------------------------------------------

    @cached_property
    def confirm_data(self) -> dict:
        """What the confirm page shows (the entry's ``confirm_data``), read once."""
        facts = self.batch_action.confirm_data
        return facts(self.object) if facts else {}

    def get_form(self):
        form_class = ACTION_FORMS.get(self.batch_action.key)
        if form_class is None:
            return None
        data = self.request.POST if self.request.method == "POST" else None
        return form_class.for_batch(self.object, data, self.confirm_data)

    def get_confirm_text(self) -> str:
        text = self.batch_action.confirm_text
        return str(text(self.object) if callable(text) else text)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = getattr(self, "form", None) or self.get_form()
        context.update(
            self.confirm_data,
            batch=self.object,
            batch_url=batch_url(self.object),
            form=form,
            confirm_text=self.get_confirm_text(),
            confirm_button=self.batch_action.confirm_button,
            confirm_button_classname=self.batch_action.confirm_button_classname,
            action_url=self.request.get_full_path(),
        )
        if form is not None:
            context["media"] = form.media
        return context

    def get(self, request, *args, **kwargs):
        if self.refusal is not None:
            return self.refuse()
        return self.render_to_response(self.get_context_data())

    # --- the operation -----------------------------------------------------------------------

    def post(self, request, *args, **kwargs):
        # The same check as the page's buttons, so a stale form or a forged POST gets the
        # real reason; the use case checks again as it acts (another admin may be quicker).
        if self.refusal is not None:
            return self.refuse()
        self.form = self.get_form()
        if self.form is not None and not self.form.is_valid():
            return self.render_to_response(self.get_context_data())
        try:
            return super().post(request, *args, **kwargs)
        except REFUSALS as error:
            messages.error(request, str(error))
            return redirect(batch_url(self.object))

    def perform_operation(self):
        options = self.form.cleaned_data if self.form is not None else {}
        self.result = self.batch_action.run(self.object.pk, user=self.request.user, **options)

    def get_success_message(self):
        action = self.batch_action
        if action.nothing_done_message and not self.result:
            return None
        if action.success_message is None:
            return _("%(action)s: done.") % {"action": action.label}
        return action.success_message % action.message_values(self.object, self.result)

    def add_success_message(self):
        super().add_success_message()
        action = self.batch_action
        if action.nothing_done_message and not self.result:
            messages.warning(self.request, str(action.nothing_done_message))
        warning = action.warning and action.warning(self.result)
        if warning:
            messages.warning(self.request, warning)

    def get_success_url(self):
        # Always the batch page (or the clone's): Wagtail's ``next`` is not offered here.
        if self.batch_action.lands_on_result:
            return batch_url(self.result)
        return batch_url(self.object)


def views(viewset) -> dict:
    """URL routes of every registry entry with a use case: ``<pk>/<key with dashes>/``."""
    conv = viewset.pk_path_converter
    return {
        action.key: (
            f"<{conv}:pk>/{action.key.replace('_', '-')}/",
            viewset.construct_view(
                BatchActionView, batch_action=action, permission_required=action.permission
            ),
        )
        for action in ACTIONS
        if action.run is not None
    }

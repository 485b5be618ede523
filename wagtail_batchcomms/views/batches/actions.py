"""The batch page's actions: a confirm page on GET, one service call on POST.

This module holds what they share: how each action appears (``ACTIONS``), the base view
(``BatchActionView``) and the URL routes. The views are in ``lifecycle_actions`` (generate,
restart, complete, archive, clone) and ``delivery_actions`` (send, retry, letters).

Each view checks the Wagtail permission for its action (PolicyCheckedMixin: Wagtail's
"permission denied" for users without it), asks ``batches.lifecycle.allowed_actions`` whether
the action is available for this batch now (a message and the batch page otherwise, never a
500), and on POST calls exactly one service function. A refused call (wrong state, a second
click, a race with another admin) comes back as ``BatchActionError`` and is shown as an error
message on the batch page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import BaseObjectMixin, WagtailAdminTemplateMixin

from ...batches import lifecycle as batch_services
from ...exceptions import BatchActionError, SendingError
from ...models import Batch
from ...permissions import PolicyCheckedMixin


@dataclass(frozen=True)
class ActionSpec:
    """How an action appears: its label, icon, URL name and whether it is a main button."""

    key: str
    label: str
    icon: str
    url_name: str
    primary: bool = False
    serious: bool = False
    priority: int = 100


#: Every action the batch page can offer, in display order. ``key`` is what
#: ``batches.lifecycle.allowed_actions`` returns.
ACTIONS: list[ActionSpec] = [
    ActionSpec("generate", gettext_lazy("Generate"), "cogs", "generate", primary=True, priority=10),
    ActionSpec("regenerate", gettext_lazy("Regenerate"), "resubmit", "regenerate", priority=15),
    ActionSpec(
        "resume_generation",
        gettext_lazy("Restart generation"),
        "rotate",
        "resume_generation",
        primary=True,
        priority=12,
    ),
    ActionSpec("send", gettext_lazy("Send emails"), "mail", "send", primary=True, priority=20),
    ActionSpec("retry", gettext_lazy("Retry failed emails"), "repeat", "retry", priority=25),
    ActionSpec(
        "download_letters",
        gettext_lazy("Download letters"),
        "download",
        "download_letters",
        primary=True,
        priority=30,
    ),
    ActionSpec(
        "mark_mailed",
        gettext_lazy("Mark letters as mailed"),
        "tick",
        "mark_mailed",
        priority=35,
    ),
    ActionSpec("edit", gettext_lazy("Edit"), "edit", "edit", priority=40),
    ActionSpec("complete", gettext_lazy("Complete"), "success", "complete", priority=50),
    ActionSpec("clone", gettext_lazy("Clone"), "copy", "clone", priority=60),
    ActionSpec("archive", gettext_lazy("Archive"), "folder", "archive", priority=70),
    ActionSpec("delete", gettext_lazy("Delete"), "bin", "delete", serious=True, priority=80),
]
ACTIONS_BY_KEY = {spec.key: spec for spec in ACTIONS}


#: The exceptions by which services refuse an action, each carrying the admin's message
#: (``letters.downloads.LetterError`` is a ``BatchActionError``).
REFUSALS: tuple[type[Exception], ...] = (BatchActionError, SendingError)


def refusal_reason(batch: Batch, user, action: str) -> str:
    """Why ``action`` is not available now: the state, the permission, a failed condition or
    that there is nothing to do (``batches.lifecycle.refusal_reason``)."""
    return batch_services.refusal_reason(batch, user, action) or _(
        "It is not available for this batch now."
    )


class BatchActionView(PolicyCheckedMixin, WagtailAdminTemplateMixin, BaseObjectMixin, TemplateView):
    """GET: a confirmation page. POST: ``perform()`` (one service call), message, redirect."""

    model = Batch
    action: str = ""
    template_name = "wagtail_batchcomms/admin/confirm_action.html"
    header_icon = "mail"
    confirm_text = ""
    confirm_button = gettext_lazy("Yes, go ahead")
    confirm_button_classname = "button"
    form_class: type[forms.Form] | None = None

    def get_base_object_queryset(self):
        return Batch.objects.select_related("template")

    @cached_property
    def spec(self) -> ActionSpec:
        return ACTIONS_BY_KEY[self.action]

    def get_page_title(self):
        return str(self.spec.label)

    def get_page_subtitle(self):
        return str(self.object)

    def get_header_icon(self):
        return self.spec.icon

    def get_breadcrumbs_items(self):
        from .viewsets import batch_url

        return [
            *self.breadcrumbs_items,
            {"url": _index_url(), "label": _("Batch communications")},
            {"url": batch_url(self.object), "label": str(self.object)},
            {"url": "", "label": self.get_page_title(), "sublabel": str(self.object)},
        ]

    def is_allowed(self) -> bool:
        return self.action in batch_services.allowed_actions(self.object, self.request.user)

    def refuse(self):
        messages.error(
            self.request,
            _("%(action)s is not available for “%(name)s”: %(reason)s")
            % {
                "name": self.object,
                "action": self.spec.label,
                "reason": refusal_reason(self.object, self.request.user, self.action),
            },
        )
        return redirect(self.get_batch_url())

    def get_batch_url(self) -> str:
        from .viewsets import batch_url

        return batch_url(self.object)

    def get_form(self):
        if self.form_class is None:
            return None
        data = self.request.POST if self.request.method == "POST" else None
        return self.form_class(data, **self.get_form_kwargs())

    def get_form_kwargs(self) -> dict:
        return {}

    def get(self, request, *args, **kwargs):
        if not self.is_allowed():
            return self.refuse()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        # The same check as the page's buttons, so a stale form or a forged POST gets the
        # real reason; the service checks again as it acts (another admin may be quicker).
        if not self.is_allowed():
            return self.refuse()
        self.form = self.get_form()
        if self.form is not None and not self.form.is_valid():
            return self.render_to_response(self.get_context_data(form=self.form))
        try:
            result = self.perform()
        except REFUSALS as error:
            messages.error(request, str(error))
            return redirect(self.get_batch_url())
        self.add_result_message(result)
        return redirect(self.get_success_url(result))

    def add_result_message(self, result) -> None:
        messages.success(self.request, self.get_success_message(result))

    def perform(self):
        raise NotImplementedError

    def get_success_message(self, result) -> str:
        return _("%(action)s: done.") % {"action": self.spec.label}

    def get_success_url(self, result) -> str:
        return self.get_batch_url()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "form" not in kwargs:
            context["form"] = getattr(self, "form", None) or self.get_form()
        context.update(
            batch=self.object,
            batch_url=self.get_batch_url(),
            confirm_text=self.get_confirm_text(),
            confirm_button=self.confirm_button,
            confirm_button_classname=self.confirm_button_classname,
            action_url=self.request.get_full_path(),
        )
        if context["form"] is not None:
            context["media"] = context["form"].media
        return context

    def get_confirm_text(self) -> str:
        return str(self.confirm_text)


def _index_url() -> str:
    from django.urls import reverse

    return reverse("wagtail_batchcomms_batch:index")


def views(viewset) -> dict:
    """URL routes of every action view (``lifecycle_actions``, ``delivery_actions``)."""
    from .delivery_actions import DELIVERY_VIEWS
    from .lifecycle_actions import LIFECYCLE_VIEWS

    conv = viewset.pk_path_converter
    return {
        name: (f"<{conv}:pk>/{name.replace('_', '-')}/", viewset.construct_view(view_class))
        for name, view_class in {**LIFECYCLE_VIEWS, **DELIVERY_VIEWS}.items()
    }

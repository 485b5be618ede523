"""The Create Log form (``/admin/batchcomms/logs/new/<assembly|location|contact>/<pk>/``),
started from a register page's header button or its Communications section."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton

from ...logs.recording import LogError, record_log, user_can_log
from ...models import Assembly, Communication, Contact, Location
from ...permissions import PolicyCheckedMixin, user_can_look
from .forms import CreateLogForm, Origin

#: The register pages Create Log starts from, by the URL's name for them.
ORIGIN_MODELS = {"assembly": Assembly, "location": Location, "contact": Contact}


def register_url(instance, view: str = "inspect") -> str:
    """A register page of ``instance``: its ``inspect`` view, or the model's ``list``."""
    opts = instance._meta
    name = f"wagtailsnippets_{opts.app_label}_{opts.model_name}:{view}"
    return reverse(name) if view == "list" else reverse(name, args=[instance.pk])


def create_log_url(instance) -> str:
    return reverse("wagtail_batchcomms_logs:create", args=[instance._meta.model_name, instance.pk])


def create_log_button(user, instance) -> HeaderButton | None:
    """The "Create Log" header button of an assembly, location or contact page, for users
    with ``log_communication``."""
    if instance is None or instance.pk is None or not user_can_log(user):
        return None
    return HeaderButton(
        _("Create Log"),
        url=create_log_url(instance),
        icon_name="comment",
        attrs={"data-create-log": ""},
    )


class CreateLogView(PolicyCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """Record one communication with one contact; optionally send its email or make its
    letter now. Thin: the form gathers, ``logs.recording.record_log`` decides."""

    model = Communication
    permission_required = "log"
    form_class = CreateLogForm
    template_name = "wagtail_batchcomms/admin/create_log.html"
    page_title = gettext_lazy("Create Log")
    header_icon = "comment"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        model = ORIGIN_MODELS.get(kwargs["origin"])
        if model is None:
            raise Http404
        self.origin_model = model

    @cached_property
    def origin(self) -> Origin:
        """The page it was started from. The form lists its contacts, locations and
        assemblies, so the user must be able to look at it (after ``log``, which the mixin
        checks first)."""
        if not user_can_look(self.request.user, self.origin_model):
            raise PermissionDenied
        queryset = self.origin_model.objects.all()
        if self.origin_model is Assembly:
            queryset = queryset.select_related("location")
        instance = queryset.filter(pk=self.kwargs["pk"]).first()
        if instance is None:
            raise Http404
        return Origin(instance)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "origin": self.origin}

    def get_page_subtitle(self):
        return str(self.origin.instance)

    def get_breadcrumbs_items(self):
        instance = self.origin.instance
        return [
            *self.breadcrumbs_items,
            {
                "url": register_url(instance, "list"),
                "label": capfirst(instance._meta.verbose_name_plural),
            },
            {"url": register_url(instance), "label": str(instance)},
            {"url": "", "label": self.get_page_title()},
        ]

    def form_valid(self, form):
        try:
            communication, created = record_log(form.log_request(), user=self.request.user)
        except PermissionError as error:
            raise PermissionDenied(str(error)) from error
        except LogError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
            return self.form_invalid(form)
        log_url = reverse("wagtail_batchcomms_communication:inspect", args=[communication.pk])
        buttons = [messages.button(log_url, _("View"))]
        if not created:
            messages.info(
                self.request, _("This was already recorded; nothing new was added."), buttons
            )
        elif communication.channel and form.log_request().send_now:
            what = (
                _("%(kind)s recorded: the email is queued and sent in a moment.")
                if communication.channel == "email"
                else _("%(kind)s recorded: the letter PDF is being prepared.")
            )
            messages.success(
                self.request, what % {"kind": communication.get_kind_display()}, buttons
            )
        else:
            messages.success(
                self.request,
                format_html(
                    _("{kind} with {name} recorded."),
                    kind=communication.get_kind_display(),
                    name=communication.recipient_name,
                ),
                buttons,
            )
        return redirect(register_url(self.origin.instance))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            action_url=self.request.path,
            cancel_url=register_url(self.origin.instance),
            media=context["form"].media,
        )
        return context

"""The Communication Type form: the type's fields, its scope as the Assemblies listing's
filter form, and the checks that keep a type workable (a live template, bounded days, an
escalation that leads somewhere)."""

from __future__ import annotations

import copy

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    ObjectList,
    Panel,
)

from ...models import CommunicationType, NoticeTemplate, RunMode, Trigger
from ...notices.usage import live_templates
from ...rules.preview import preview_type
from ...rules.selection import cycle_kind
from .preview import activation_sentence
from .scope import assemblies_url, parse_scope, scope_filterset, scope_from_data

#: Event triggers: ``days`` is how far back an event still counts.
EVENT_TRIGGERS = (Trigger.FAILED_TEST, Trigger.ASSEMBLY_ADDED)
#: The longest look-back of an event trigger: a type switched on does not notify about
#: failed tests of years ago.
MAX_LOOK_BACK = 365


class CommunicationTypeForm(WagtailAdminModelForm):
    """Besides the model's fields, ``scope_form``: the Assemblies listing's filter form bound
    to the POST (or to the stored scope), validated with it; its errors are the form's."""

    confirm_activation = forms.BooleanField(
        required=False,
        label=_("Yes, send these notices automatically"),
        help_text=_(
            "Asked when a type that sends automatically is switched on: the preview of its "
            "first run is shown here."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "template" in self.fields:
            current = self.instance.template_id if self.instance.pk else None
            queryset = live_templates()
            if current:
                # A type whose template was unpublished still shows it (and is refused on save).
                queryset = NoticeTemplate.objects.filter(
                    Q(pk__in=queryset.values("pk")) | Q(pk=current)
                ).order_by("name")
            self.fields["template"].queryset = queryset
        if "requires_type" in self.fields and self.instance.pk:
            self.fields["requires_type"].queryset = CommunicationType.objects.exclude(
                pk=self.instance.pk
            )
        if self.is_bound:
            self.scope_filterset = scope_filterset(self.data, prefixed=True)
        else:
            self.scope_filterset = scope_filterset(parse_scope(self.instance.scope), prefixed=False)
        self.scope_form = self.scope_filterset.form

    @property
    def media(self):
        # The scope's widgets (the date range picker) bring their own scripts.
        return super().media + self.scope_form.media

    @property
    def assemblies_url(self) -> str:
        return assemblies_url(self.instance.scope)

    def clean_template(self):
        template = self.cleaned_data.get("template")
        if template is not None and not live_templates().filter(pk=template.pk).exists():
            raise ValidationError(
                _("“%(name)s” is not published. A type needs a published notice template."),
                params={"name": template},
            )
        return template

    def clean(self):
        cleaned = super().clean()
        trigger = cleaned.get("trigger")
        days = cleaned.get("days")
        if trigger in EVENT_TRIGGERS and days is not None and not 1 <= days <= MAX_LOOK_BACK:
            self.add_error(
                "days",
                _(
                    "For an event trigger, days is how far back an event still counts: "
                    "between 1 and %(max)s."
                )
                % {"max": MAX_LOOK_BACK},
            )
        self._clean_escalation(cleaned)
        if not self.scope_form.is_valid():
            for name, errors in self.scope_form.errors.items():
                label = self.scope_form.fields[name].label if name in self.scope_form.fields else ""
                for error in errors:
                    self.add_error(
                        None, _("Scope, %(label)s: %(error)s") % {"label": label, "error": error}
                    )
        else:
            # Not a form field (the scope's fields are the listing's): set on the instance,
            # which construct_instance leaves alone.
            self.instance.scope = scope_from_data(self.data)
            self._confirm_activation(cleaned)
        return cleaned

    def _confirm_activation(self, cleaned: dict) -> None:
        """Switching on a type that sends by itself asks for a confirmation showing what its
        first run sends (a held type sends nothing without a review, so it is not asked)."""
        switching_on = cleaned.get("active") and not (self.instance.pk and self.instance.active)
        if not switching_on or cleaned.get("mode") != RunMode.AUTOMATIC or self.errors:
            return
        if cleaned.get("confirm_activation"):
            return
        candidate = copy.copy(self.instance)
        for name in ("template", "trigger", "days", "requires_type", "requires_days"):
            setattr(candidate, name, cleaned.get(name))
        preview = preview_type(candidate)
        message = preview.error or activation_sentence(preview)
        self.add_error(
            "confirm_activation",
            _("%(sentence)s Tick this box and save again to confirm.") % {"sentence": message},
        )

    def _clean_escalation(self, cleaned: dict) -> None:
        earlier = cleaned.get("requires_type")
        if earlier is None:
            if cleaned.get("requires_days"):
                self.add_error("requires_days", _("Choose the earlier type these days count from."))
            return
        own = self.instance.pk
        if own is not None and earlier.pk == own:
            self.add_error("requires_type", _("A type cannot be its own earlier notice."))
            return
        trigger = cleaned.get("trigger")
        if trigger and cycle_kind(trigger) != cycle_kind(earlier.trigger):
            self.add_error(
                "requires_type",
                _(
                    "“%(name)s” is sent on “%(earlier)s” and this type on “%(trigger)s”: they "
                    "count different cycles (a due date, a failed test, joining the register), "
                    "so no assembly could ever get this type after it. Choose a type with a "
                    "trigger of the same kind."
                )
                % {
                    "name": earlier,
                    "earlier": Trigger(earlier.trigger).label,
                    "trigger": Trigger(trigger).label,
                },
            )
            return
        # Follow the chain of earlier types: reaching this type again is a cycle, in which no
        # type could ever be sent first.
        seen = {earlier.pk}
        step = earlier
        while step.requires_type_id is not None:
            if own is not None and step.requires_type_id == own:
                self.add_error(
                    "requires_type",
                    _(
                        "“%(name)s” already comes after this type: the escalation would go "
                        "round in a circle."
                    )
                    % {"name": earlier},
                )
                return
            if step.requires_type_id in seen:
                break
            seen.add(step.requires_type_id)
            step = CommunicationType.objects.only("pk", "requires_type_id", "name").get(
                pk=step.requires_type_id
            )


class ScopePanel(Panel):
    """The scope part of the form: the Assemblies listing's filter fields, same widgets, and a
    link to the listing with the saved scope."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_batchcomms/rules/scope_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["scope_form"] = self.form.scope_form
            context["assemblies_url"] = self.form.assemblies_url
            context["saved"] = bool(self.instance.pk)
            return context


def communication_type_edit_handler() -> ObjectList:
    return ObjectList(
        [
            FieldPanel("name"),
            FieldPanel("description"),
            # A plain select of the published templates, not the snippet chooser (which
            # would offer drafts too).
            FieldPanel("template", widget=forms.Select),
            FieldRowPanel([FieldPanel("trigger"), FieldPanel("days")], heading=_("Trigger")),
            ScopePanel(
                heading=_("Scope"),
                help_text=_(
                    "Only assemblies matching these filters of the Assemblies listing; none "
                    "chosen: every assembly."
                ),
            ),
            FieldRowPanel(
                [FieldPanel("requires_type", widget=forms.Select), FieldPanel("requires_days")],
                heading=_("Escalation"),
            ),
            MultiFieldPanel(
                [
                    FieldPanel("response_days"),
                    FieldPanel("mode"),
                    FieldPanel("active"),
                    FieldPanel("confirm_activation"),
                ],
                heading=_("Sending"),
            ),
        ],
        base_form_class=CommunicationTypeForm,
    )

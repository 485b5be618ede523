"""Small model fields of the app's own."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from .choices import ContactRole


class ContactRolesField(models.JSONField):
    """A list of ``ContactRole`` values, edited as checkboxes.

    Stored as JSON so that a notice template's revisions keep it as it was; generation turns
    it into an ``IN (...)`` condition.
    """

    def formfield(self, **kwargs):
        defaults = {
            "form_class": forms.TypedMultipleChoiceField,
            "choices": ContactRole.choices,
            "widget": forms.CheckboxSelectMultiple,
            "coerce": str,
        }
        defaults.update(kwargs)
        # JSONField.formfield() would force its own form_class; skip to Field.formfield().
        return models.Field.formfield(self, **defaults)

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        allowed = set(ContactRole.values)
        unknown = [role for role in value or [] if role not in allowed]
        if unknown:
            raise ValidationError(
                "Unknown contact role(s): %(roles)s", params={"roles": ", ".join(unknown)}
            )

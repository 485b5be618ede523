"""The upload form and the column mapping form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ...imports.columns import COLUMNS
from ...imports.reading import EXTENSIONS

RECORD_LABELS = {
    "location": _("Location"),
    "contact": _("Contact"),
    "role": _("Contact's role"),
    "assembly": _("Assembly and test"),
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "A CSV (UTF-8) or XLSX file, one row per assembly or contact, with a header row. "
            "Rows may repeat locations and contacts."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(EXTENSIONS)}),
    )


class MappingForm(forms.Form):
    """One choice per column of ours: which of the file's columns fills it (or none)."""

    def __init__(self, *args, headers: list[str], mapping: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("(not imported)")), *((header, header) for header in headers)]
        for column in COLUMNS:
            self.fields[column.name] = forms.ChoiceField(
                label=column.label,
                choices=choices,
                required=False,
                initial=mapping.get(column.name, ""),
            )
            self.fields[column.name].record = column.record

    def groups(self) -> list[tuple[str, list]]:
        """The fields by record, for the template's fieldsets."""
        grouped: dict[str, list] = {}
        for name, field in self.fields.items():
            grouped.setdefault(field.record, []).append(self[name])
        return [(RECORD_LABELS[record], fields) for record, fields in grouped.items()]

    def mapping(self) -> dict[str, str]:
        return {name: value for name, value in self.cleaned_data.items() if value}

"""StreamField blocks of a notice template's body."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

#: Columns an editor can put in the assemblies table: key -> (label, path in the merge data).
ASSEMBLY_COLUMNS: dict[str, str] = {
    "serial_number": _("Serial number"),
    "type": _("Type"),
    "type_name": _("Type (full name)"),
    "size": _("Size"),
    "manufacturer": _("Manufacturer"),
    "model": _("Model"),
    "placement": _("Placement"),
    "hazard": _("Hazard"),
    "service_type": _("Service type"),
    "last_tested_on": _("Last tested"),
    "last_test_result": _("Last result"),
    "next_test_due": _("Next test due"),
    "compliance_status": _("Compliance status"),
}

DEFAULT_COLUMNS = ["serial_number", "type", "size", "placement", "next_test_due"]

PARAGRAPH_FEATURES = ["bold", "italic", "link", "ol", "ul", "h3", "h4"]


class ParagraphBlock(blocks.RichTextBlock):
    class Meta:
        icon = "pilcrow"
        label = _("Paragraph")
        help_text = _(
            "Rich text with merge fields such as {{ contact.name }}; "
            "see the list of merge fields below the body."
        )


class AssembliesTableBlock(blocks.StructBlock):
    heading = blocks.CharBlock(required=False, label=_("Heading"))
    columns = blocks.MultipleChoiceBlock(
        choices=list(ASSEMBLY_COLUMNS.items()),
        default=DEFAULT_COLUMNS,
        label=_("Columns"),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        icon = "table"
        label = _("Assemblies table")
        template = "wagtail_batchcomms/blocks/assemblies_table.html"


class SignatureBlock(blocks.StructBlock):
    closing = blocks.CharBlock(default="Sincerely,", label=_("Closing"))
    use_letterhead = blocks.BooleanBlock(
        required=False,
        default=True,
        label=_("Use the letterhead's signature"),
        help_text=_("Name, title and signature image from the Letterhead settings."),
    )
    name = blocks.CharBlock(required=False, label=_("Name (instead of the letterhead's)"))
    title = blocks.CharBlock(required=False, label=_("Title (instead of the letterhead's)"))

    class Meta:
        icon = "edit"
        label = _("Signature")
        template = "wagtail_batchcomms/blocks/signature.html"


class NoticeBodyBlock(blocks.StreamBlock):
    paragraph = ParagraphBlock(features=PARAGRAPH_FEATURES)
    assemblies_table = AssembliesTableBlock()
    signature = SignatureBlock()

    class Meta:
        min_num = 1
        block_counts = {"signature": {"max_num": 1}}

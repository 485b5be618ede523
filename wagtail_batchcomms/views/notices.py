"""Notice templates in the admin: a snippet with drafts, revisions, locking and preview.

Wagtail's ``SnippetViewSet`` gives the draft/publish/unpublish, history, revision compare and
revert, locking and live preview views from the model's mixins. This module adds the
merge field reference on the edit page, the live status column and filters, and a PDF
rendering of the saved draft's letter.

Publishing a template never unpublishes another one, and batches keep the revision they were
generated from, so editing or republishing a template changes no batch already generated.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.admin import messages
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    MultiFieldPanel,
    ObjectList,
)
from wagtail.admin.ui.tables import Column, LiveStatusTagColumn, UpdatedAtColumn
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.widgets.button import HeaderButton
from wagtail.snippets.views.snippets import (
    CreateView,
    IndexView,
    InspectView,
    PreviewRevisionView,
    SnippetViewSet,
)

from ..exceptions import RenderError
from ..models import NoticeTemplate
from ..models.blocks import DEFAULT_COLUMNS
from ..notices import letter_html
from ..notices.language.filters import ALLOWED_FILTERS
from ..notices.merge_data import letterhead_data, organisation_data
from ..notices.merge_fields import catalogue_rows
from ..notices.previews import sample_merge_data
from ..notices.rendering import render_notice
from ..notices.usage import deletion_blockers, types_using
from ..permissions import LOOK_ACTIONS, PolicyViewSetMixin, user_can
from .batches.links import batch_url
from .listing_guards import GuardedListingMixin


class MergeFieldsPanel(HelpPanel):
    """The merge field catalogue as a table with copy buttons, on the template's edit page."""

    def __init__(self, **kwargs):
        kwargs.setdefault("template", "wagtail_batchcomms/notices/merge_fields_panel.html")
        kwargs.setdefault("heading", _("Merge fields"))
        super().__init__(**kwargs)

    class BoundPanel(HelpPanel.BoundPanel):
        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            code = "<code>{}</code>"
            context["intro"] = format_html(
                _(
                    "Type a merge field in the subject or in a paragraph; each notice fills it "
                    "in for its recipient. Loops and conditions ({loop}, {condition}) must start "
                    "and end in the same paragraph block. Dates print like “June 30, 2025”; "
                    "choose another format with a filter, e.g. {date}."
                ),
                loop=format_html(code, "{% for a in assemblies %} … {% endfor %}"),
                condition=format_html(code, "{% if … %} … {% endif %}"),
                date=format_html(code, '{{ batch.due_date|date("j F Y") }}'),
            )
            context["rows"] = catalogue_rows()
            context["filters"] = sorted({*ALLOWED_FILTERS, "date"} - {"d", "e", "count", "escape"})
            return context


class NoticeTemplateForm(WagtailAdminModelForm):
    """The template form; CC and BCC are read-only for users without ``set_copies``.

    Disabled, not removed: the editor still sees where every email is copied, and Django
    keeps the stored value whatever a forged POST says.
    """

    COPY_FIELDS = ("cc", "bcc")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.for_user is not None and not user_can(self.for_user, "set_copies", NoticeTemplate):
            for name in self.COPY_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _(
                        "Only users allowed to set copies (CC/BCC) can change this."
                    )


def notice_template_edit_handler() -> ObjectList:
    return ObjectList(
        [
            FieldPanel("name"),
            FieldPanel("description"),
            FieldPanel("subject"),
            FieldPanel("body"),
            MergeFieldsPanel(classname="collapsed"),
            MultiFieldPanel(
                [
                    FieldPanel("contact_roles"),
                    FieldPanel("primary_only"),
                    FieldRowPanel(
                        [FieldPanel("contact_methods"), FieldPanel("first_available_only")]
                    ),
                    FieldPanel("grouping"),
                    FieldPanel("attach_pdf"),
                    FieldRowPanel([FieldPanel("cc"), FieldPanel("bcc")]),
                ],
                heading=_("Contact rules"),
            ),
        ],
        base_form_class=NoticeTemplateForm,
    )


#: What a new template starts with, so editors begin from a working notice, not a blank page.
STARTER_SUBJECT = "Backflow assembly test due by {{ batch.due_date }}"
STARTER_BODY = [
    (
        "paragraph",
        "<p>Dear {{ contact.name }},</p><p>Our records show that the backflow prevention "
        "assemblies at {{ location.address }} (account {{ location.account_number }}) must be "
        "tested by <b>{{ batch.due_date }}</b>.</p>",
    ),
    ("assemblies_table", {"heading": "Assemblies at this location", "columns": DEFAULT_COLUMNS}),
    (
        "paragraph",
        "<p>Please have a certified tester test them and send us the report. If you have "
        "questions, call us at {{ organisation.phone }}.</p>",
    ),
    ("signature", {"closing": "Sincerely,", "use_letterhead": True, "name": "", "title": ""}),
]


class NoticeTemplateCreateView(CreateView):
    def get_initial_form_instance(self):
        instance = super().get_initial_form_instance() or self.model()
        instance.subject = STARTER_SUBJECT
        instance.body = STARTER_BODY
        return instance


class NoticeTemplateIndexView(GuardedListingMixin, IndexView):
    """Wagtail's listing; it has no export, so ``?export=`` shows the listing (see
    ``GuardedListingMixin``)."""


class NoticeTemplateInspectView(InspectView):
    """Read-only: for those who may look at templates but not edit them (an org admin who
    follows a batch's template link). The body is seen in the live version's preview."""

    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)  # a copy: Wagtail's default is a class's list
        revision_id = self.object.live_revision_id
        if revision_id:
            url = reverse(
                self.model.snippet_viewset.get_url_name("revisions_view"),
                args=[self.object.pk, revision_id],
            )
            buttons.append(
                HeaderButton(
                    _("Preview the live version"),
                    url=url,
                    icon_name="view",
                    attrs={"target": "_blank", "rel": "noreferrer"},
                )
            )
        return buttons


class NoticeRevisionView(PreviewRevisionView):
    """A revision's preview (a batch's "generated from revision N"): reading, so "view" or
    "change" (permissions.LOOK_ACTIONS; Wagtail asks "change" alone)."""

    permission_required = None
    any_permission_required = LOOK_ACTIONS


class NoticeTemplateViewSet(PolicyViewSetMixin, SnippetViewSet):
    model = NoticeTemplate
    icon = "doc-full"
    menu_label = _("Notice templates")
    menu_name = "notice-templates"
    # It sits in the Communications group (a plain ViewSetGroup, which does not tell its
    # snippet items so): without this Wagtail would also list it under a "Snippets" menu.
    menu_item_is_registered = True
    search_fields = ["name", "subject"]
    ordering = ["name"]
    list_display = [
        "name",
        LiveStatusTagColumn(),
        Column("get_contact_methods_display", label=_("Methods")),
        Column("get_grouping_display", label=_("Grouping")),
        UpdatedAtColumn(),
    ]
    list_filter = ["live", "contact_methods", "grouping"]
    edit_handler = notice_template_edit_handler()
    add_view_class = NoticeTemplateCreateView
    inspect_view_enabled = True
    inspect_view_class = NoticeTemplateInspectView
    inspect_view_fields = [
        "name",
        "description",
        "subject",
        "contact_roles",
        "primary_only",
        "contact_methods",
        "first_available_only",
        "grouping",
        "attach_pdf",
        "cc",
        "bcc",
        "live",
        "updated_at",
    ]
    revisions_view_class = NoticeRevisionView
    index_view_class = NoticeTemplateIndexView

    def letter_pdf_view(self, request, pk):
        """The saved draft's letter for the sample location, as the PDF the letters will be."""
        # WeasyPrint takes seconds to import: only the PDF preview loads it, not every admin page.
        from ..letters import pdf

        template = get_object_or_404(NoticeTemplate, pk=pk)
        if not self.permission_policy.user_has_permission_for_instance(
            request.user, "change", template
        ):
            raise PermissionDenied
        draft = template.get_latest_revision_as_object()
        letterhead = letterhead_data()
        data, _source = sample_merge_data(draft)
        data["organisation"] = organisation_data(letterhead)
        try:
            notice = render_notice(draft, data, letterhead=letterhead)
        except RenderError as error:
            return HttpResponse(str(error), status=422, content_type="text/plain; charset=utf-8")
        html = letter_html.document(
            [(notice.letter_id, notice.letter_html_fragment)],
            footer_text=letterhead.get("footer_text", ""),
            title=notice.subject,
        )
        response = HttpResponse(pdf.write_pdf(html), content_type="application/pdf")
        filename = f"{slugify(template.name) or 'notice'}-letter-preview.pdf"
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("letter-pdf/<int:pk>/", self.letter_pdf_view, name="letter_pdf"),
        ]


# --- deleting a template that batches still need ------------------------------------------

#: Batches named in the refusal message, per template; the rest are counted.
NAMED_BATCHES = 5


def refuse_deleting_templates_in_use(request, instances):
    """``before_delete_snippet`` hook: refuse to delete notice templates that a batch not yet
    Complete or Archived uses (the single delete view and the bulk delete action alike).

    Deleting a template deletes its revisions, and those batches would lose the revision
    their notices render from. Returns a redirect with an error message naming the batches
    (to the template's edit page, where Unpublish is, for one template; back to the listing
    for a bulk delete), or None to let the deletion go ahead.
    """

    templates = [instance for instance in instances if isinstance(instance, NoticeTemplate)]
    blockers = deletion_blockers(templates) if templates else {}
    sending = types_using(templates) if templates else {}
    if not blockers and not sending:
        return None
    viewset = NoticeTemplate.snippet_viewset
    for template, types in sending.items():
        messages.error(request, types_refusal_message(template, types))
    for template, batches in blockers.items():
        buttons = []
        if template.live:
            unpublish_url = reverse(viewset.get_url_name("unpublish"), args=[template.pk])
            buttons.append(messages.button(unpublish_url, _("Unpublish it")))
        messages.error(request, refusal_message(template, batches), buttons=buttons)
    if len(instances) == 1:
        return redirect(viewset.get_url_name("edit"), templates[0].pk)
    listing = reverse(viewset.get_url_name("list"))
    return redirect(get_valid_next_url_from_request(request) or listing)


def types_refusal_message(template: NoticeTemplate, types: list) -> str:
    """E.g. "“Reminder” cannot be deleted: the Communication Types First notice, Final
    notice send it. ..." with links to the types."""
    type_viewset = types[0].snippet_viewset
    named = format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse(type_viewset.get_url_name("edit"), args=[t.pk]), t.name) for t in types),
    )
    sentence = ngettext(
        "“%(name)s” cannot be deleted: the Communication Type %(types)s sends it.",
        "“%(name)s” cannot be deleted: the Communication Types %(types)s send it.",
        len(types),
    )
    # The sentence is translated with %-placeholders; format_html escapes the name and keeps
    # the links.
    text = sentence.replace("%(name)s", "{name}").replace("%(types)s", "{types}")
    return format_html(
        "{} {}",
        format_html(text, name=str(template), types=named),
        _("Choose another template for those types first."),
    )


def refusal_message(template: NoticeTemplate, batches: list) -> str:
    """E.g. "“Reminder” cannot be deleted: 2 batches that are not complete or archived use
    it: Spring (Generated), Fall (Open). Deleting it would also ..." with links."""

    named = format_html_join(
        ", ",
        '<a href="{}">{}</a> ({})',
        ((batch_url(b), b.name, b.get_status_display()) for b in batches[:NAMED_BATCHES]),
    )
    more = len(batches) - NAMED_BATCHES
    if more > 0:
        named = format_html("{} {}", named, _("and %(n)s more") % {"n": more})
    sentence = ngettext(
        "“%(name)s” cannot be deleted: %(n)s batch that is not complete or archived uses it",
        "“%(name)s” cannot be deleted: %(n)s batches that are not complete or archived use it",
        len(batches),
    ) % {"name": template, "n": len(batches)}
    advice = _(
        "Deleting the template would also delete the revisions their notices are generated "
        "and sent from. Complete or archive those batches first, or unpublish the template "
        "so that it can no longer be picked for new batches."
    )
    return format_html("{}: {}. {}", sentence, named, advice)

"""Notice templates in the admin: a snippet with drafts, revisions, locking and preview."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, UpdatedAtColumn
from wagtail.snippets.views.snippets import SnippetViewSet

from ..models import NoticeTemplate


class NoticeTemplateViewSet(SnippetViewSet):
    model = NoticeTemplate
    icon = "doc-full"
    menu_label = _("Notice templates")
    menu_name = "notice-templates"
    search_fields = ["name", "subject"]
    ordering = ["name"]
    list_display = [
        "name",
        Column("get_contact_methods_display", label=_("Methods")),
        Column("get_grouping_display", label=_("Grouping")),
        UpdatedAtColumn(),
    ]

"""The sidebar group "Communications"."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.admin.viewsets.base import ViewSetGroup

from .batches.viewsets import BatchViewSet
from .communications.viewsets import CommunicationViewSet
from .notices import NoticeTemplateViewSet
from .rules.runs import RuleRunViewSet
from .rules.types import CommunicationTypeViewSet
from .rules.worklists import AwaitingReviewViewSet, LettersToPrintViewSet


class CommunicationsViewSetGroup(ViewSetGroup):
    menu_label = _("Communications")
    menu_icon = "mail"
    menu_name = "batchcomms-communications"
    menu_order = 220
    items = (
        BatchViewSet,
        NoticeTemplateViewSet,
        CommunicationViewSet,
        CommunicationTypeViewSet,
        RuleRunViewSet,
        AwaitingReviewViewSet,
        LettersToPrintViewSet,
    )

"""The two work lists of the automatic notices, under Communications: the batches awaiting
review (each with "Review", the batch page where Release emails and Archive are) and the
letters to print (automatic batches with letters not yet mailed; the batch page's Download
letters and Mark letters as mailed work on them as on any batch).

Each is a plain ``ViewSet`` (a menu item and one listing of ``Batch`` rows), not a second
``ModelViewSet`` of ``Batch``, which would register the batch's permissions and admin URLs
again."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.base import ViewSet

from ...models import Batch, BatchStatus, Channel, CommunicationStatus
from ...permissions import policy_for
from ..batches.links import batch_url
from ..listing_guards import GuardedListingMixin


def awaiting_review() -> QuerySet[Batch]:
    """Batches of automatic notices held for review, oldest run first."""
    return (
        Batch.objects.filter(awaiting_review=True)
        .exclude(status=BatchStatus.ARCHIVED)
        .select_related("communication_type", "rule_run")
        .annotate(
            email_total=Count("communications", filter=Q(communications__channel=Channel.EMAIL))
        )
        .order_by("rule_run__run_date", "pk")
    )


def letters_to_print() -> QuerySet[Batch]:
    """Automatic batches with letters not yet mailed, oldest run first."""
    pending = Q(
        communications__channel=Channel.LETTER,
        communications__status=CommunicationStatus.PENDING,
    )
    return (
        Batch.objects.filter(communication_type__isnull=False)
        .filter(status__in=[BatchStatus.GENERATED, BatchStatus.PARTIALLY_SENT])
        .annotate(letters_pending=Count("communications", filter=pending))
        .filter(letters_pending__gt=0)
        .select_related("communication_type", "rule_run")
        .order_by("rule_run__run_date", "pk")
    )


def run_day(batch: Batch) -> str:
    return f"{batch.rule_run.run_date:%Y-%m-%d}" if batch.rule_run_id else ""


class WorklistIndexView(GuardedListingMixin, generic.IndexView):
    model = Batch
    paginate_by = 50
    #: The rows (set per viewset; an instance attribute, so called unbound).
    queryset_function = None
    columns: list = []

    def get_base_queryset(self):
        return self.queryset_function()

    def get_edit_url(self, instance):
        return batch_url(instance)


class OpenBatchColumn(Column):
    """A button to the batch page, where its actions are ("Review", "Print")."""

    def __init__(self, label, **kwargs):
        super().__init__("open", label="", **kwargs)
        self.button_label = label

    def render_cell_html(self, instance, parent_context):
        return format_html(
            '<td><a class="button button-small button-secondary" href="{}" data-open-batch>'
            "{}</a></td>",
            batch_url(instance),
            self.button_label,
        )


class WorklistViewSet(ViewSet):
    """A menu item and one read-only listing of batches, for users the batch policy allows
    any of ``actions``."""

    actions: tuple[str, ...] = ()
    queryset_function = None
    columns: list = []
    add_to_admin_menu = False

    @property
    def menu_item_class(self):
        actions = self.actions

        def is_shown(_self, request):
            return policy_for(Batch).user_has_any_permission(request.user, actions)

        return type(f"{type(self).__name__}MenuItem", (MenuItem,), {"is_shown": is_shown})

    @property
    def index_view(self):
        return self.construct_view(
            WorklistIndexView,
            any_permission_required=list(self.actions),
            permission_policy=policy_for(Batch),
            queryset_function=type(self).queryset_function,
            columns=self.columns,
            page_title=self.menu_label,
            header_icon=self.icon,
            index_url_name=self.get_url_name("index"),
            index_results_url_name=self.get_url_name("index_results"),
        )

    @property
    def index_results_view(self):
        return self.construct_view(
            WorklistIndexView,
            any_permission_required=list(self.actions),
            permission_policy=policy_for(Batch),
            queryset_function=type(self).queryset_function,
            columns=self.columns,
            index_url_name=self.get_url_name("index"),
            index_results_url_name=self.get_url_name("index_results"),
            results_only=True,
        )

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
        ]


def _title() -> TitleColumn:
    return TitleColumn("name", label=_("Batch"), get_url=batch_url)


class AwaitingReviewViewSet(WorklistViewSet):
    name = "batchcomms_awaiting_review"
    url_prefix = "batchcomms/awaiting-review"
    icon = "tasks"
    menu_label = _("Awaiting review")
    menu_name = "awaiting-review"
    # The batch policy's "review" is RuleRun's review_rulerun (permissions.py).
    actions = ("review",)
    queryset_function = awaiting_review
    columns = [
        _title(),
        Column("communication_type", label=_("Communication type")),
        Column(run_day, label=_("Run of")),
        Column("email_total", label=_("Emails held")),
        OpenBatchColumn(_("Review")),
    ]


class LettersToPrintViewSet(WorklistViewSet):
    name = "batchcomms_letters_to_print"
    url_prefix = "batchcomms/letters-to-print"
    icon = "download"
    menu_label = _("Letters to print")
    menu_name = "letters-to-print"
    # Downloading letters and marking them mailed are the batch's "send".
    actions = ("send",)
    queryset_function = letters_to_print
    columns = [
        _title(),
        Column("communication_type", label=_("Communication type")),
        Column(run_day, label=_("Run of")),
        Column("letters_pending", label=_("Letters to print")),
        OpenBatchColumn(_("Print")),
    ]

"""The notice ladder of an assembly or a location: for the current due cycle and the previous
one, which automatic notices went out when (the claim and its notices' status), and the
batch notices and logs about it, oldest first, with status tags.

Two queries per page whatever the history: the claims (with their type and batch) and the
communications (with their batch and type). A location's ladder merges its assemblies'.
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...models import (
    Assembly,
    AutomaticNotice,
    Communication,
    CommunicationStatus,
    Location,
)
from ...register.log_filters import communications_about
from .communications import NoticesSectionPanel

#: A cycle's length when an assembly has no frequency (never 0 months back).
DEFAULT_MONTHS = 12


def _window_start(assemblies) -> datetime.datetime:
    """The start of the previous due cycle of the earliest of ``assemblies``."""
    today = timezone.localdate()
    starts = [
        (a.next_test_due or today) - relativedelta(months=2 * (a.test_frequency_months or 12))
        for a in assemblies
    ] or [today - relativedelta(months=2 * DEFAULT_MONTHS)]
    return timezone.make_aware(datetime.datetime.combine(min(starts), datetime.time()))


def _status(c: Communication) -> tuple[str, str]:
    """(label, tag class) of one notice."""
    if c.returned_at:
        return _("Returned"), "w-status--primary"
    if c.kind and not c.channel:
        return c.get_kind_display(), ""
    label = f"{c.get_channel_display()}: {c.get_status_display()}"
    return label, c.status_classname


def ladder(instance, assemblies=None) -> list[dict]:
    """The rows of the ladder of an Assembly or a Location, oldest first.

    Each row: ``when``, ``what`` (type, batch or log kind), ``kind`` ("automatic", "batch",
    "log"), ``assembly`` (the serial number for a location's per-assembly rows), ``cycle``
    and ``tags`` [(label, class)].
    """
    if isinstance(instance, Assembly):
        assemblies = [instance]
        claims = AutomaticNotice.objects.filter(assembly=instance)
        communications = Communication.objects.filter(communications_about(instance))
    elif isinstance(instance, Location):
        assemblies = list(assemblies if assemblies is not None else instance.assemblies.all())
        claims = AutomaticNotice.objects.filter(location=instance)
        communications = Communication.objects.filter(location=instance)
    else:
        raise TypeError(f"No notice ladder for {type(instance).__name__}")
    since = _window_start(assemblies)
    claims = list(
        claims.filter(created_at__gte=since)
        .select_related("communication_type", "batch", "assembly")
        .order_by("created_at", "pk")
    )
    notices = list(
        communications.filter(
            Q(created_at__gte=since) | Q(sent_at__gte=since) | Q(occurred_at__gte=since)
        )
        .select_related("batch", "assembly")
        .defer("body_html", "body_text")
        .order_by("created_at", "pk")
    )
    by_batch: dict[int, list[Communication]] = {}
    rows = []
    automatic = {claim.batch_id for claim in claims if claim.batch_id}
    for c in notices:
        if c.batch_id in automatic:
            by_batch.setdefault(c.batch_id, []).append(c)
            continue
        rows.append(
            {
                "when": c.occurred_at or c.sent_at or c.created_at,
                "what": c.batch.name if c.batch_id else _("Logged"),
                "kind": "batch" if c.batch_id else "log",
                "assembly": c.assembly.serial_number if c.assembly_id else "",
                "cycle": None,
                "tags": [_status(c)],
                "notice": c,
            }
        )
    for claim in claims:
        mine = [
            c
            for c in by_batch.get(claim.batch_id, [])
            if c.assembly_id in (None, claim.assembly_id)
        ]
        if mine:
            tags = [_status(c) for c in mine]
        elif claim.batch_id and claim.batch.awaiting_review:
            tags = [(_("Awaiting review"), "w-status--primary")]
        else:
            tags = [(_("Not generated yet"), "")]
        sent = [c.sent_at for c in mine if c.status == CommunicationStatus.SENT and c.sent_at]
        rows.append(
            {
                "when": min(sent) if sent else claim.created_at,
                "what": claim.communication_type.name,
                "kind": "automatic",
                "assembly": claim.assembly.serial_number,
                "cycle": claim.cycle,
                "tags": tags,
                "notice": None,
            }
        )
    rows.sort(key=lambda row: row["when"])
    return rows


class LadderPanel(NoticesSectionPanel):
    """The ladder as a read-only section of the assembly and location edit pages."""

    default_heading = gettext_lazy("Notice ladder")
    default_name = "notice_ladder"

    class BoundPanel(NoticesSectionPanel.BoundPanel):
        template_name = "wagtail_batchcomms/admin/panels/ladder.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["ladder"] = ladder(self.instance)
            context["per_assembly"] = isinstance(self.instance, Location)
            return context

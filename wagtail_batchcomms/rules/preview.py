"""What the next run would do for one Communication Type: counts and the first assemblies.

The admin sees it before switching a type on. It applies the same selection as the run
(``selection.applying``) and counts with generation's own SQL over that set
(``generation_sql.preview_counts`` with an ``AssemblySet``), under the template's live
revision's contact rules. It inserts nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ..batches.contact_rules import ContactRules
from ..batches.generation_sql import AssemblySet, preview_counts
from ..exceptions import RuleError
from ..models import Assembly, Channel, CommunicationType, NoticeTemplate
from .selection import applying

#: How many assemblies the preview lists.
SAMPLE_SIZE = 100


@dataclass
class TypePreview:
    """The next run's figures for one type. ``error`` is set (and the figures stay 0) when
    the type cannot run: a scope that no longer validates, or no published template."""

    assemblies: int = 0
    locations: int = 0
    emails: int = 0
    letters: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # SkipReason value -> count
    sample: list[Assembly] = field(default_factory=list)
    error: str = ""


def live_rules(ctype: CommunicationType) -> ContactRules:
    """The contact rules of the type's template's live revision; ``RuleError`` if none."""
    template = NoticeTemplate.objects.filter(pk=ctype.template_id).first()
    if template is None or not template.live or template.live_revision is None:
        raise RuleError(_("The notice template of '%(type)s' is not published.") % {"type": ctype})
    return ContactRules.from_template(template.live_revision.as_object())


def assembly_set(assemblies: QuerySet[Assembly]) -> AssemblySet | None:
    """The queryset as generation SQL's ``AssemblySet`` (None when it can match nothing)."""
    try:
        sql, params = assemblies.order_by().values_list("id", "location_id").query.sql_with_params()
    except EmptyResultSet:
        return None
    return AssemblySet(sql, tuple(params))


def preview_type(ctype: CommunicationType, *, today: datetime.date | None = None) -> TypePreview:
    """What a run on ``today`` (default: the site's local date) would claim and generate for
    ``ctype``, whether or not the type is active. Escalations count only claims already made
    (a prerequisite type that has not run yet contributes nothing)."""
    today = today or timezone.localdate()
    preview = TypePreview()
    try:
        rules = live_rules(ctype)
        assemblies = applying(ctype, today=today)
    except RuleError as error:
        preview.error = str(error)
        return preview
    counts = assemblies.aggregate(n=Count("pk"), locations=Count("location_id", distinct=True))
    preview.assemblies, preview.locations = counts["n"], counts["locations"]
    if not preview.assemblies:
        return preview
    source = assembly_set(assemblies)
    if source is not None:
        channels, preview.skipped = preview_counts(source, rules)
        preview.emails = channels[Channel.EMAIL]
        preview.letters = channels[Channel.LETTER]
    preview.sample = list(
        assemblies.select_related("location").order_by("next_test_due", "pk")[:SAMPLE_SIZE]
    )
    return preview

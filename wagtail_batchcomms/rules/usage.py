"""What keeps a Communication Type from being deleted.

Its claims (``AutomaticNotice``) are the record that each assembly got it once per due
cycle, its batches are the notices it made, and later types may escalate from it: all are
protected by the database (``on_delete=PROTECT``). The admin is told which, and that pausing
the type is the way to stop it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count

from ..models import CommunicationType


def deletion_blockers(types: Iterable[CommunicationType]) -> dict[CommunicationType, dict]:
    """``{type: {"claims": n, "batches": n, "escalations": [names]}}`` for the types that
    must not be deleted (empty when all may go). Two queries."""
    types = list(types)
    ids = [t.pk for t in types]
    counted = CommunicationType.objects.filter(pk__in=ids).annotate(
        n_claims=Count("claims", distinct=True), n_batches=Count("batches", distinct=True)
    )
    counts = {row.pk: (row.n_claims, row.n_batches) for row in counted}
    escalations: dict[int, list[str]] = {}
    for later in CommunicationType.objects.filter(requires_type_id__in=ids).exclude(pk__in=ids):
        escalations.setdefault(later.requires_type_id, []).append(later.name)
    blockers = {}
    for ctype in types:
        claims, batches = counts.get(ctype.pk, (0, 0))
        later = escalations.get(ctype.pk, [])
        if claims or batches or later:
            blockers[ctype] = {"claims": claims, "batches": batches, "escalations": later}
    return blockers

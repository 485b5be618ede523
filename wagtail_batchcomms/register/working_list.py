"""A batch's working list: the assemblies snapshotted into it, set-based."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from ..exceptions import BatchActionError
from ..models import Assembly, Batch, BatchAssembly
from .filters import AssemblyFilterSet, search_assemblies


def snapshot(batch: Batch, assemblies: QuerySet[Assembly]) -> int:
    """Copy the assemblies (and their current location) into the working list, set-based.

    One ``INSERT ... SELECT`` over the queryset's own SQL (ordering stripped; ``DISTINCT``
    when it joins a multi-valued relation, which can repeat an assembly); assemblies already
    in the working list are skipped. Returns the number added. The caller holds the batch:
    made in this transaction, or locked (``add_assemblies``).

    Into an empty working list (a new batch, a clone) the insert is a plain one: nothing can
    conflict there but a repeated assembly, and ``ON CONFLICT`` would cost a speculative
    insertion per row (about a third of the statement on PostgreSQL at 100,000 rows). Into a
    list that has rows, ``ON CONFLICT DO NOTHING`` skips those already there.
    """
    if assemblies.model is not Assembly:
        raise TypeError(f"expected a queryset of Assembly, not {assemblies.model.__name__}")
    if not assemblies.query.is_sliced:  # a slice's ordering decides what it holds
        assemblies = assemblies.order_by()
    query = assemblies.values_list("pk", "location_id").query
    try:
        sub_sql, sub_params = query.sql_with_params()
    except EmptyResultSet:  # e.g. Assembly.objects.none()
        return 0
    table = connection.ops.quote_name(BatchAssembly._meta.db_table)
    distinct = "DISTINCT" if _may_repeat(query) else ""
    # "WHERE true" keeps SQLite from reading ON CONFLICT as part of the FROM clause.
    conflict = "ON CONFLICT DO NOTHING" if batch.batch_assemblies.exists() else ""
    sql = (
        f"INSERT INTO {table} (batch_id, assembly_id, location_id) "  # noqa: S608 (names only)
        f"SELECT {distinct} %s, s.* FROM ({sub_sql}) s WHERE true {conflict}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [batch.pk, *sub_params])
        return max(cursor.rowcount, 0)


def _may_repeat(query) -> bool:
    """Whether ``query`` may return an assembly twice: it joins a relation other than a
    forward foreign key (a reverse one or a many-to-many), and is not ``distinct()``."""
    if query.distinct:
        return False
    for join in query.alias_map.values():
        field = getattr(join, "join_field", None)
        if field is not None and not (field.many_to_one or field.one_to_one):
            return True
    return False


def assemblies_from_filter_query(query: str) -> QuerySet[Assembly]:
    """Today's assemblies matching a saved Assemblies-listing query string.

    The same FilterSet and search (``q``) as the listing. Raises ``BatchActionError`` when
    the saved filter no longer validates (e.g. a service area was deleted).
    """
    data = QueryDict(query or "")
    filterset = AssemblyFilterSet(data, queryset=Assembly.objects.all())
    if not filterset.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()
        )
        raise BatchActionError(
            _("The saved filter no longer applies to the register (%(problems)s).")
            % {"problems": problems}
        )
    return search_assemblies(filterset.qs, data.get("q", ""))

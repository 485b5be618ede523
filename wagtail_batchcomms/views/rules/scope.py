"""A Communication Type's scope: the Assemblies listing's filters, stored as its query string.

The type's form shows the scope as the Assemblies listing's own filter form
(``register.filters.AssemblyFilterSet``, prefixed ``scope-``), validates it with that
FilterSet and stores exactly the query string the listing would have, so "See these
assemblies" opens the listing with the same filters, and the daily run applies the same
FilterSet to it.
"""

from __future__ import annotations

from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from ...models import Assembly
from ...register.filters import AssemblyFilterSet

PREFIX = "scope"


def scope_keys() -> set[str]:
    """Every query-string key the listing's filter form reads (range widgets read two)."""
    form = AssemblyFilterSet(data=QueryDict(), queryset=Assembly.objects.none()).form
    keys: set[str] = set()
    for name, field in form.fields.items():
        subwidgets = getattr(field.widget, "widgets", None)
        if subwidgets:
            suffixes = getattr(field.widget, "suffixes", None) or [
                str(i) for i in range(len(subwidgets))
            ]
            keys.update(f"{name}_{suffix}" for suffix in suffixes)
        keys.add(name)
    return keys


def scope_filterset(data: QueryDict, *, prefixed: bool) -> AssemblyFilterSet:
    """The listing's FilterSet bound to ``data``: the form's POST (``prefixed``) or a
    stored scope's query string."""
    if not prefixed:
        data = prefixed_data(data)
    return AssemblyFilterSet(data=data, queryset=Assembly.objects.all(), prefix=PREFIX)


def prefixed_data(scope: QueryDict) -> QueryDict:
    """A stored scope's values under the form's prefixed names."""
    data = QueryDict(mutable=True)
    for key, values in scope.lists():
        data.setlist(f"{PREFIX}-{key}", values)
    return data


def scope_from_data(data: QueryDict) -> str:
    """The listing's query string for the prefixed scope fields of a POST: only the filters'
    own keys, only non-empty values, in a stable order (so an unchanged scope saves the same
    text)."""
    keys = scope_keys()
    scope = QueryDict(mutable=True)
    for key in sorted(keys):
        values = [v for v in data.getlist(f"{PREFIX}-{key}") if v not in ("", None)]
        if values:
            scope.setlist(key, values)
    return scope.urlencode()


def parse_scope(scope: str) -> QueryDict:
    return QueryDict(scope or "")


def assemblies_url(scope: str) -> str:
    """The Assemblies listing filtered by ``scope``."""
    url = reverse(Assembly.snippet_viewset.get_url_name("list"))
    return f"{url}?{scope}" if scope else url


def scope_summary(scope: str) -> str:
    """E.g. "Service area: North; Hazard: Health hazard" (labels and chosen values as the
    listing's filter form shows them), or "All active assemblies" when empty."""
    if not scope:
        return _("All assemblies")
    form = scope_filterset(parse_scope(scope), prefixed=False).form
    if not form.is_valid():
        return _("Invalid scope: edit the type")
    parts = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, "", [], ()) or (hasattr(value, "start") and not any(value)):
            continue
        parts.append(f"{field.label}: {_display(field, value)}")
    return "; ".join(parts) or _("All assemblies")


def _display(field, value) -> str:
    choices = dict(getattr(field, "choices", []) or [])
    if isinstance(value, slice):
        return f"{value.start or '…'} to {value.stop or '…'}"
    if hasattr(value, "__iter__") and not isinstance(value, str):
        return ", ".join(str(choices.get(v, v)) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(choices.get(value, value))

"""Links between the register's objects: a location's assemblies and contacts, a contact's
locations, an assembly's location and the contacts there.

Each relation is a small Wagtail ``Table`` (one query, related rows joined), shown as a field
of the inspect views and as a read-only panel of the edit views. Rows link to the inspect
view of the object when the user may see it.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import Panel
from wagtail.admin.ui.tables import Table
from wagtail.snippets.views.snippets import InspectView as SnippetInspectView

from ...models import Assembly, Communication, Contact, Location, LocationContact
from ...permissions import user_can_look
from ...register.contact_flags import ADDRESS, EMAIL
from ..columns import ComplianceColumn, DateTextColumn, LinkColumn, TextColumn, YesNoColumn
from ..inspect_values import ReadableInspectMixin
from .address_flag import flag_html
from .communications import RegisterInspectView
from .ladder import ladder

#: Rows shown before "and N more"; a location rarely has more than a handful of assemblies.
LIMIT = 50


def inspect_url(user, obj) -> str | None:
    """The inspect view of ``obj`` if ``user`` may look at it, else None (shown as text)."""
    opts = obj._meta
    if not user_can_look(user, type(obj)):
        return None
    return reverse(f"wagtailsnippets_{opts.app_label}_{opts.model_name}:inspect", args=[obj.pk])


def _table(columns, rows: list, caption: str) -> Table:
    return Table(columns, rows, caption=caption, classname="listing w-mt-0")


def location_assemblies(location: Location, user) -> tuple[Table, int]:
    queryset = location.assemblies.with_compliance().order_by("serial_number")
    rows = list(queryset[:LIMIT])
    columns = [
        LinkColumn("serial_number", label=_("Serial number"), url=lambda a: inspect_url(user, a)),
        TextColumn("assembly_type", label=_("Type")),
        TextColumn("size_label", label=_("Size")),
        TextColumn("placement", label=_("Placement")),
        TextColumn("get_service_type_display", label=_("Service")),
        TextColumn("get_status_display", label=_("Status")),
        DateTextColumn("next_test_due", label=_("Next test due")),
        ComplianceColumn(sort_key=None),
    ]
    total = len(rows) if len(rows) < LIMIT else queryset.count()
    return _table(columns, rows, _("Assemblies at this location")), total


def location_roles(location: Location, user) -> tuple[Table, int]:
    rows = list(
        location.location_contacts.select_related("contact").order_by("role", "-is_primary")
    )
    columns = [
        LinkColumn("contact", label=_("Contact"), url=lambda role: inspect_url(user, role.contact)),
        TextColumn("get_role_display", label=_("Role")),
        YesNoColumn("is_primary", label=_("Primary")),
        TextColumn("contact.email", label=_("Email")),
        YesNoColumn("contact.prefers_paper", label=_("Prefers paper")),
    ]
    return _table(columns, rows, _("Contacts at this location")), len(rows)


def contact_roles(contact: Contact, user) -> tuple[Table, int]:
    queryset = (
        LocationContact.objects.filter(contact=contact)
        .select_related("location")
        .order_by("location__account_number", "role")
    )
    rows = list(queryset[:LIMIT])
    columns = [
        LinkColumn(
            "location", label=_("Location"), url=lambda role: inspect_url(user, role.location)
        ),
        TextColumn("location.address", label=_("Service address")),
        TextColumn("get_role_display", label=_("Role")),
        YesNoColumn("is_primary", label=_("Primary")),
    ]
    total = len(rows) if len(rows) < LIMIT else queryset.count()
    return _table(columns, rows, _("Locations of this contact")), total


def assembly_roles(assembly: Assembly, user) -> tuple[Table, int]:
    return location_roles(assembly.location, user)


#: name -> (heading, the table builder)
RELATIONS = {
    "location_assemblies": (_("Assemblies"), location_assemblies),
    "location_roles": (_("Contacts and roles"), location_roles),
    "contact_roles": (_("Locations and roles"), contact_roles),
    "assembly_roles": (_("Contacts at this location"), assembly_roles),
}

#: name -> the model whose rows the relation shows: only users who may look at that model
#: see it (a location's contacts and their emails are the Contacts' data, not the location's).
RELATION_MODELS = {
    "location_assemblies": Assembly,
    "location_roles": Contact,
    "contact_roles": Location,
    "assembly_roles": Contact,
}


def may_see_relation(user, relation: str) -> bool:
    return user_can_look(user, RELATION_MODELS[relation])


class RelatedTable:
    """A relation's table with its "N more" note, as a component for inspect and edit views."""

    def __init__(self, relation: str, instance, user) -> None:
        self.heading, build = RELATIONS[relation]
        self.table, self.total = build(instance, user)

    def render_html(self, parent_context=None) -> str:
        if not self.total:
            return format_html("<p>{}</p>", _("Nothing here yet."))
        html = self.table.render_html(parent_context or {})
        shown = self.table.row_count
        if self.total > shown:
            more = _("Showing %(shown)s of %(total)s.") % {"shown": shown, "total": self.total}
            html += format_html('<p class="help">{}</p>', more)
        return html


class RelatedObjectsPanel(Panel):
    """A read-only section of an edit page that lists related objects with links."""

    def __init__(self, relation: str, **kwargs) -> None:
        kwargs.setdefault("heading", RELATIONS[relation][0])
        super().__init__(**kwargs)
        self.relation = relation

    def clone_kwargs(self):
        return {**super().clone_kwargs(), "relation": self.relation}

    @property
    def clean_name(self):
        return super().clean_name or self.relation.replace("_", "-")

    class BoundPanel(Panel.BoundPanel):
        def is_shown(self):
            return bool(self.instance and self.instance.pk) and may_see_relation(
                self.request.user, self.panel.relation
            )

        def render_html(self, parent_context=None):
            related = RelatedTable(self.panel.relation, self.instance, self.request.user)
            return related.render_html(parent_context or {})


class RelatedInspectView(RegisterInspectView):
    """Inspect view whose ``relations`` appear as fields after the model's own fields."""

    relations: tuple[str, ...] = ()
    link_fields: tuple[str, ...] = ()

    def get_fields(self):
        shown = [name for name in self.relations if may_see_relation(self.request.user, name)]
        return [*super().get_fields(), *shown]

    def get_field_label(self, field_name, field):
        if field_name in RELATIONS:
            return RELATIONS[field_name][0]
        return super().get_field_label(field_name, field)

    def get_field_display_value(self, field_name, field):
        if field_name in self.relations:
            return RelatedTable(field_name, self.object, self.request.user)
        if field_name in self.link_fields:
            target = getattr(self.object, field_name)
            url = target and inspect_url(self.request.user, target)
            if url:
                return format_html('<a href="{}">{}</a>', url, target)
        return super().get_field_display_value(field_name, field)

    def get_context_for_field(self, field_name):
        context = super().get_context_for_field(field_name)
        if isinstance(context["value"], RelatedTable):
            context["component"] = context["value"]
        return context


class LadderInspectMixin:
    """The notice ladder below the fields (for users who may look at communications)."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if user_can_look(self.request.user, Communication):
            context["ladder"] = ladder(self.object)
            context["per_assembly"] = isinstance(self.object, Location)
        return context


class AssemblyInspectView(LadderInspectMixin, RelatedInspectView):
    relations = ("assembly_roles",)
    link_fields = ("location",)


class LocationInspectView(LadderInspectMixin, RelatedInspectView):
    relations = ("location_assemblies", "location_roles")


class ContactInspectView(RelatedInspectView):
    relations = ("contact_roles",)
    field_labels = {"mailing_address": _("Mailing address")}

    def get_mailing_address_display_value(self):
        contact = self.object
        if contact.has_mailing_address:
            value = contact.mailing_address_lines
        else:
            value = _("Not set: letters go to the service address of each location")
        flag = flag_html(contact, ADDRESS, self.request.user, self.request)
        if not flag:
            return value
        lines = value if isinstance(value, list) else [value]
        return format_html(
            "{}{}", format_html_join("", "<div>{}</div>", ((v,) for v in lines)), flag
        )

    def get_email_display_value(self):
        contact = self.object
        flag = flag_html(contact, EMAIL, self.request.user, self.request)
        if not flag:
            return contact.email
        return format_html("<div>{}</div>{}", contact.email, flag)


class ServiceAreaInspectView(ReadableInspectMixin, SnippetInspectView):
    """Name and code; a service area has no communications of its own."""

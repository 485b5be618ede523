"""The register in the admin: assemblies, locations, contacts and service areas."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    ObjectList,
)
from wagtail.admin.ui.tables import Column
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from ...models import Assembly, Contact, Location, ServiceArea
from ...permissions import PolicyViewSetMixin
from ...register.filters import (
    AssemblyFilterSet,
    ContactFilterSet,
    LocationFilterSet,
)
from ..columns import (
    ComplianceColumn,
    DateTextColumn,
    LastNoticeColumn,
    LinkColumn,
    TextColumn,
    YesNoColumn,
)
from ..exports.viewsets import ExportRunViewSet
from ..imports.viewsets import ImportRunViewSet
from .address_flag import AddressFlagPanel, EmailFlagPanel
from .communications import CommunicationsPanel
from .forms import ContactForm, ContactsInlinePanel, LocationForm
from .ladder import LadderPanel
from .listing import (
    AssemblyIndexView,
    ContactIndexView,
    LocationIndexView,
    ServiceAreaIndexView,
)
from .related import (
    AssemblyInspectView,
    ContactInspectView,
    LocationInspectView,
    RelatedObjectsPanel,
    ServiceAreaInspectView,
)


class AssemblyViewSet(PolicyViewSetMixin, SnippetViewSet):
    model = Assembly
    icon = "cog"
    menu_label = _("Assemblies")
    menu_name = "assemblies"
    index_view_class = AssemblyIndexView
    filterset_class = AssemblyFilterSet
    search_fields = ["serial_number"]  # the index view searches more (see search_assemblies)
    ordering = ["serial_number"]
    inspect_view_enabled = True
    inspect_view_class = AssemblyInspectView
    copy_view_enabled = False
    list_display = [
        "serial_number",
        TextColumn("assembly_type", label=_("Type"), sort_key="assembly_type"),
        TextColumn("size_label", label=_("Size"), sort_key="size"),
        LinkColumn("location", label=_("Location"), sort_key="location__account_number"),
        TextColumn("location.service_area.code", label=_("Area")),
        TextColumn("get_hazard_display", label=_("Hazard"), sort_key="hazard"),
        TextColumn("get_service_type_display", label=_("Service"), sort_key="service_type"),
        TextColumn("get_status_display", label=_("Status"), sort_key="status"),
        DateTextColumn("last_tested_on", label=_("Last tested"), sort_key="last_tested_on"),
        TextColumn("get_last_test_result_display", label=_("Result"), sort_key="last_test_result"),
        DateTextColumn("next_test_due", label=_("Next test due"), sort_key="next_test_due"),
        ComplianceColumn(),
        LastNoticeColumn(),
    ]
    list_export = [
        "serial_number",
        "assembly_type",
        "get_assembly_type_display",
        "size_label",
        "manufacturer",
        "model_number",
        "placement",
        "get_hazard_display",
        "get_service_type_display",
        "get_status_display",
        "installed_on",
        "last_tested_on",
        "get_last_test_result_display",
        "test_frequency_months",
        "next_test_due",
        "compliance_label",
        "location.account_number",
        "location.name",
        "location.address",
        "location.get_property_type_display",
        "location.service_area.name",
        "last_notice_at",
        "last_notice",
    ]
    export_headings = {
        "serial_number": _("Serial number"),
        "last_notice_at": _("Last notice"),
        "last_notice": _("Last notice was"),
        "assembly_type": _("Type code"),
        "get_assembly_type_display": _("Type"),
        "size_label": _("Size"),
        "get_hazard_display": _("Hazard"),
        "get_service_type_display": _("Service type"),
        "get_status_display": _("Status"),
        "get_last_test_result_display": _("Last test result"),
        "test_frequency_months": _("Test frequency (months)"),
        "compliance_label": _("Compliance status"),
        "location.account_number": _("Account number"),
        "location.name": _("Location name"),
        "location.address": _("Service address"),
        "location.get_property_type_display": _("Property type"),
        "location.service_area.name": _("Service area"),
    }
    export_filename = "assemblies"
    inspect_view_fields = [
        "serial_number",
        "assembly_type",
        "size",
        "manufacturer",
        "model_number",
        "placement",
        "hazard",
        "service_type",
        "installed_on",
        "status",
        "last_tested_on",
        "last_test_result",
        "test_frequency_months",
        "next_test_due",
        "location",
    ]
    panels = [
        FieldPanel("location"),
        FieldRowPanel([FieldPanel("serial_number"), FieldPanel("assembly_type")]),
        FieldRowPanel([FieldPanel("size"), FieldPanel("manufacturer"), FieldPanel("model_number")]),
        FieldPanel("placement"),
        FieldRowPanel([FieldPanel("hazard"), FieldPanel("service_type"), FieldPanel("status")]),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("installed_on"), FieldPanel("last_tested_on")]),
                FieldRowPanel(
                    [
                        FieldPanel("last_test_result"),
                        FieldPanel("test_frequency_months"),
                        FieldPanel("next_test_due"),
                    ]
                ),
            ],
            heading=_("Testing"),
        ),
        RelatedObjectsPanel("assembly_roles"),
        LadderPanel(),
        CommunicationsPanel(),
    ]


class LocationViewSet(PolicyViewSetMixin, SnippetViewSet):
    model = Location
    icon = "site"
    menu_label = _("Locations")
    menu_name = "locations"
    index_view_class = LocationIndexView
    filterset_class = LocationFilterSet
    search_fields = ["account_number", "name", "address_line1", "city", "postal_code"]
    ordering = ["account_number"]
    inspect_view_enabled = True
    inspect_view_class = LocationInspectView
    inspect_view_fields = [
        "account_number",
        "name",
        "address",
        "property_type",
        "service_area",
        "is_active",
    ]
    copy_view_enabled = False
    list_display = [
        "__str__",
        Column("address", label=_("Address"), sort_key="address_line1"),
        Column("city", label=_("City"), sort_key="city"),
        Column("postal_code", label=_("Postal code"), sort_key="postal_code"),
        Column("get_property_type_display", label=_("Property type"), sort_key="property_type"),
        Column("service_area.code", label=_("Area"), sort_key="service_area__code"),
        Column("assembly_total", label=_("Assemblies"), sort_key="assembly_total"),
        YesNoColumn("is_active", label=_("Active"), sort_key="is_active"),
    ]
    list_export = [
        "account_number",
        "name",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postal_code",
        "get_property_type_display",
        "service_area.name",
        "is_active",
        "assembly_total",
    ]
    export_headings = {
        "account_number": _("Account number"),
        "address_line1": _("Address line 1"),
        "address_line2": _("Address line 2"),
        "is_active": _("Active"),
        "get_property_type_display": _("Property type"),
        "service_area.name": _("Service area"),
        "assembly_total": _("Assemblies"),
    }
    export_filename = "locations"
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("account_number"), FieldPanel("name")]),
            MultiFieldPanel(
                [
                    FieldPanel("address_line1"),
                    FieldPanel("address_line2"),
                    FieldRowPanel(
                        [FieldPanel("city"), FieldPanel("state"), FieldPanel("postal_code")]
                    ),
                ],
                heading=_("Service address"),
            ),
            FieldRowPanel(
                [
                    FieldPanel("property_type"),
                    FieldPanel("service_area"),
                    FieldPanel("is_active"),
                ]
            ),
            ContactsInlinePanel(
                "location_contacts",
                heading=_("Contacts and roles"),
                label=_("Contact"),
                panels=[
                    FieldPanel("contact"),
                    FieldRowPanel([FieldPanel("role"), FieldPanel("is_primary")]),
                ],
            ),
            RelatedObjectsPanel("location_assemblies"),
            LadderPanel(),
            CommunicationsPanel(),
        ],
        base_form_class=LocationForm,
    )


class ContactViewSet(PolicyViewSetMixin, SnippetViewSet):
    model = Contact
    icon = "user"
    menu_label = _("Contacts")
    menu_name = "contacts"
    index_view_class = ContactIndexView
    filterset_class = ContactFilterSet
    search_fields = ["name", "organisation", "email", "phone"]
    ordering = ["name"]
    inspect_view_enabled = True
    inspect_view_class = ContactInspectView
    inspect_view_fields = [
        "name",
        "organisation",
        "email",
        "phone",
        "prefers_paper",
        "mailing_address",
    ]
    copy_view_enabled = False
    list_display = [
        "__str__",
        Column("email", label=_("Email"), sort_key="email"),
        Column("phone", label=_("Phone")),
        YesNoColumn("prefers_paper", label=_("Prefers paper"), sort_key="prefers_paper"),
        Column("location_total", label=_("Locations"), sort_key="location_total"),
    ]
    list_export = [
        "name",
        "organisation",
        "email",
        "phone",
        "prefers_paper",
        "mailing_address_line1",
        "mailing_address_line2",
        "mailing_city",
        "mailing_state",
        "mailing_postal_code",
        "location_total",
    ]
    export_headings = {
        "prefers_paper": _("Prefers paper"),
        "mailing_address_line1": _("Mailing address line 1"),
        "mailing_address_line2": _("Mailing address line 2"),
        "location_total": _("Locations"),
    }
    export_filename = "contacts"
    edit_handler = ObjectList(
        [
            AddressFlagPanel(),
            EmailFlagPanel(),
            FieldRowPanel([FieldPanel("name"), FieldPanel("organisation")]),
            FieldRowPanel([FieldPanel("email"), FieldPanel("phone"), FieldPanel("prefers_paper")]),
            MultiFieldPanel(
                [
                    FieldPanel("mailing_address_line1"),
                    FieldPanel("mailing_address_line2"),
                    FieldRowPanel(
                        [
                            FieldPanel("mailing_city"),
                            FieldPanel("mailing_state"),
                            FieldPanel("mailing_postal_code"),
                        ]
                    ),
                ],
                heading=_("Mailing address"),
                help_text=_("Leave empty to send letters to the location's service address."),
            ),
            RelatedObjectsPanel("contact_roles"),
            CommunicationsPanel(),
        ],
        base_form_class=ContactForm,
    )


class ServiceAreaViewSet(PolicyViewSetMixin, SnippetViewSet):
    model = ServiceArea
    icon = "globe"
    menu_label = _("Service areas")
    menu_name = "service-areas"
    index_view_class = ServiceAreaIndexView
    inspect_view_enabled = True
    inspect_view_class = ServiceAreaInspectView
    inspect_view_fields = ["name", "code"]
    search_fields = ["name", "code"]
    ordering = ["name"]
    copy_view_enabled = False
    list_display = [
        "name",
        Column("code", label=_("Code"), sort_key="code"),
        Column("location_total", label=_("Locations"), sort_key="location_total"),
    ]
    list_export = ["name", "code", "location_total"]
    export_headings = {"location_total": _("Locations")}
    export_filename = "service-areas"
    panels = [FieldPanel("name"), FieldPanel("code")]


class RegisterViewSetGroup(SnippetViewSetGroup):
    """The sidebar group "Assemblies"."""

    menu_label = _("Assemblies")
    menu_icon = "cogs"
    menu_name = "batchcomms-register"
    menu_order = 210
    items = (
        AssemblyViewSet,
        LocationViewSet,
        ContactViewSet,
        ServiceAreaViewSet,
        ImportRunViewSet,
        ExportRunViewSet,
    )

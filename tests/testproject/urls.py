from django.urls import include, path
from wagtail.admin import urls as wagtailadmin_urls

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    # anymail's webhook views (tracking events: delivered, bounced, ...), as a host wires them.
    path("anymail/", include("anymail.urls")),
]

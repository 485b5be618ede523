import importlib.util

from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]

if importlib.util.find_spec("anymail") is not None:
    # Email providers' tracking webhooks (pip install "wagtail-batchcomms[anymail]"): give the
    # provider https://<host>/anymail/<esp>/tracking/ (e.g. /anymail/postmark/tracking/).
    urlpatterns.insert(1, path("anymail/", include("anymail.urls")))

if settings.DEBUG:
    from django.conf.urls.static import static
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns.append(path("", include(wagtail_urls)))

"""Create Log's URLs, for the ``register_admin_urls`` hook."""

from __future__ import annotations

from django.urls import include, path

from .actions import LetterDownloadView, MarkMailedView, RetryEmailView
from .create import CreateLogView

app_name = "wagtail_batchcomms_logs"
urlpatterns = [
    path("new/<str:origin>/<int:pk>/", CreateLogView.as_view(), name="create"),
    path("<int:pk>/retry/", RetryEmailView.as_view(), name="retry"),
    path("<int:pk>/letter.pdf", LetterDownloadView.as_view(), name="letter"),
    path("<int:pk>/mark-mailed/", MarkMailedView.as_view(), name="mark_mailed"),
]


def get_urls():
    return [path("batchcomms/logs/", include((urlpatterns, app_name), namespace=app_name))]

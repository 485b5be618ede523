from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BatchcommsDemoConfig(AppConfig):
    """The optional demo app: the ``seed_demo`` command and its data; no models."""

    name = "wagtail_batchcomms.demo"
    label = "wagtail_batchcomms_demo"
    verbose_name = _("Batch communications demo")

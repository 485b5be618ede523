from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailBatchcommsConfig(AppConfig):
    name = "wagtail_batchcomms"
    label = "wagtail_batchcomms"
    verbose_name = _("Batch communications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401  (registers checks and signal handlers)
        from .permissions import register_policies

        register_policies()

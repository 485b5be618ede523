from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class WagtailBatchcommsConfig(AppConfig):
    name = "wagtail_batchcomms"
    label = "wagtail_batchcomms"
    verbose_name = _("Batch communications")
    default_auto_field = "django.db.models.BigAutoField"

    def __init__(self, app_name: str, app_module) -> None:
        super().__init__(app_name, app_module)
        # batchcomms.E010 before anything imports our models or views, which an unsupported
        # Wagtail may fail to import (checks.check_wagtail_version says why it is not a
        # registered check).
        from .checks import check_wagtail_version

        for error in check_wagtail_version():
            raise ImproperlyConfigured(f"({error.id}) {error.msg} HINT: {error.hint}")

    def ready(self) -> None:
        # Imported once the apps are ready: the policies need the models and Wagtail's admin.
        from . import checks  # noqa: F401  (registers the checks)
        from .emails.tracking import connect_tracking
        from .jobs import create_schedules
        from .permissions import register_policies

        register_policies()
        # Providers' delivery reports (anymail's tracking webhooks), when anymail is installed.
        connect_tracking()
        post_migrate.connect(create_schedules, dispatch_uid="wagtail_batchcomms_schedules")

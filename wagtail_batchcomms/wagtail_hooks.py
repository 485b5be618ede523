"""Registration only: the viewsets, menus and permissions live in views/, the log actions in
history/."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .history.formatters import register_log_actions
from .views.batches import downloads
from .views.batches.add_to_batch_bulk import AddToBatchBulkAction, BoundedDeleteBulkAction
from .views.communications.returned import MarkReturnedBulkAction
from .views.logs import urls as log_urls
from .views.menu import CommunicationsViewSetGroup
from .views.notices import refuse_deleting_templates_in_use
from .views.register.viewsets import RegisterViewSetGroup
from .views.rules.dashboard import add_dashboard_panels
from .views.rules.types import refuse_deleting_types_in_use

# register_snippet (not the register_admin_viewset hook) so that the snippet models are known
# as soon as hooks are loaded: Wagtail's post_migrate handler then creates the publish/lock/
# unlock permissions of notice templates even when migrate runs without loading the URLconf
# (call_command("migrate"), the test runner).
register_snippet(RegisterViewSetGroup)
register_snippet(CommunicationsViewSetGroup)

hooks.register("register_log_actions", register_log_actions)
hooks.register("register_admin_urls", downloads.get_urls)
hooks.register("register_admin_urls", log_urls.get_urls)
hooks.register("register_bulk_action", AddToBatchBulkAction)
hooks.register("register_bulk_action", MarkReturnedBulkAction)
# After Wagtail's own bulk delete (order 0), which it replaces for our snippets.
hooks.register("register_bulk_action", BoundedDeleteBulkAction, order=1)
hooks.register("before_delete_snippet", refuse_deleting_templates_in_use)
hooks.register("before_delete_snippet", refuse_deleting_types_in_use)
hooks.register("construct_homepage_panels", add_dashboard_panels)

"""Registration only: the viewsets, menus, permissions and log actions live in views/."""

from wagtail import hooks

from .log_actions import register_batch_log_actions
from .views.menu import CommunicationsViewSetGroup
from .views.register import RegisterViewSetGroup


@hooks.register("register_admin_viewset")
def register_viewsets():
    return [RegisterViewSetGroup(), CommunicationsViewSetGroup()]


@hooks.register("register_log_actions")
def register_log_actions(actions):
    register_batch_log_actions(actions)

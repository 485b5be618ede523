"""Registration only: the viewsets, menus, permissions and log actions live in views/."""

from wagtail import hooks

from .views.menu import CommunicationsViewSetGroup
from .views.register import RegisterViewSetGroup


@hooks.register("register_admin_viewset")
def register_viewsets():
    return [RegisterViewSetGroup(), CommunicationsViewSetGroup()]

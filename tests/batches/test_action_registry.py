"""The batch-action registry and the history ids: each declared once, each complete."""

from __future__ import annotations

from django.template.loader import get_template
from django.urls import reverse
from wagtail.log_actions import registry as log_registry

from wagtail_batchcomms import history
from wagtail_batchcomms.batches.actions import ACTIONS
from wagtail_batchcomms.history.formatters import FORMATTERS


def test_keys_and_button_priorities_are_unique():
    assert len({action.key for action in ACTIONS}) == len(ACTIONS)
    assert len({action.priority for action in ACTIONS}) == len(ACTIONS)


def test_every_action_has_its_url_and_confirm_page():
    for action in ACTIONS:
        url = reverse(f"wagtail_batchcomms_batch:{action.key}", args=[7])
        if action.run is not None:
            assert url.endswith(f"/7/{action.key.replace('_', '-')}/")
            get_template(action.confirm_template)


def test_every_action_names_a_registered_history_id():
    for action in ACTIONS:
        assert action.history_id, action.key
        if not action.history_id.startswith("wagtail."):
            assert action.history_id in FORMATTERS, action.key


def test_every_history_id_of_the_package_has_its_formatter_registered():
    ids = {
        value
        for name, value in vars(history).items()
        if name.isupper() and name != "PREFIX" and isinstance(value, str)
    }
    ours = {value for value in ids if value.startswith(f"{history.PREFIX}.")}
    assert ours == set(FORMATTERS)
    for action in ours:
        assert log_registry.action_exists(action)
        assert log_registry.get_action_label(action) == FORMATTERS[action].label

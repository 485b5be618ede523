"""The settings object: defaults, override_settings, unknown keys and bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from wagtail_batchcomms.conf import DEFAULTS, BatchcommsSettings, batchcomms_settings


def with_settings(**values):
    """override_settings for WAGTAIL_BATCHCOMMS, keeping the test project's own keys."""
    return override_settings(WAGTAIL_BATCHCOMMS={**settings.WAGTAIL_BATCHCOMMS, **values})


def test_defaults_apply_to_keys_the_project_does_not_set():
    with override_settings(WAGTAIL_BATCHCOMMS={}):
        for key, default in DEFAULTS.items():
            assert getattr(batchcomms_settings, key) == default, key


def test_missing_setting_means_all_defaults():
    try:
        with override_settings():
            # Deleting a setting sends no setting_changed signal: reload by hand.
            del settings.WAGTAIL_BATCHCOMMS
            batchcomms_settings.reload()
            assert batchcomms_settings.PRIVATE_ROOT is None
            page_size = batchcomms_settings.LISTING_PAGE_SIZE
            assert page_size == DEFAULTS["LISTING_PAGE_SIZE"]
    finally:
        batchcomms_settings.reload()


def test_the_project_value_wins_over_the_default():
    private_root = batchcomms_settings.PRIVATE_ROOT
    assert private_root == settings.WAGTAIL_BATCHCOMMS["PRIVATE_ROOT"]
    assert private_root != DEFAULTS["PRIVATE_ROOT"]


def test_override_settings_is_followed_and_undone():
    default = DEFAULTS["LISTING_PAGE_SIZE"]
    page_size = batchcomms_settings.LISTING_PAGE_SIZE  # also fills the cache
    assert page_size == default
    with with_settings(LISTING_PAGE_SIZE=7, PAGE_SIZE="a4"):
        assert batchcomms_settings.LISTING_PAGE_SIZE == 7
        assert batchcomms_settings.PAGE_SIZE == "a4"
        with with_settings(LISTING_PAGE_SIZE=9):
            assert batchcomms_settings.LISTING_PAGE_SIZE == 9
        assert batchcomms_settings.LISTING_PAGE_SIZE == 7
    page_size, paper = batchcomms_settings.LISTING_PAGE_SIZE, batchcomms_settings.PAGE_SIZE
    assert (page_size, paper) == (default, DEFAULTS["PAGE_SIZE"])


def test_unknown_key_is_rejected_with_its_name_and_the_known_keys():
    with with_settings(LETTER_EXPIRY_DAYS=3), pytest.raises(ImproperlyConfigured) as error:
        batchcomms_settings.LETTER_DOWNLOAD_EXPIRY_DAYS  # noqa: B018
    message = str(error.value)
    assert "'LETTER_EXPIRY_DAYS'" in message
    assert "WAGTAIL_BATCHCOMMS" in message
    assert "LETTER_DOWNLOAD_EXPIRY_DAYS" in message  # the keys that do exist


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PAGE_SIZE", "legal"),
        ("LISTING_PAGE_SIZE", 0),
        ("LISTING_PAGE_SIZE", -5),
        ("LISTING_PAGE_SIZE", "50"),
        ("LETTER_CHUNK_SIZE", True),
        ("LETTER_DOWNLOAD_EXPIRY_DAYS", 2.5),
        ("EMAIL_RATE_LIMIT", -1),
        ("FROM_EMAIL", 42),
        ("PRIVATE_ROOT", ["/tmp"]),
    ],
)
def test_bad_values_are_rejected_naming_the_key(key, value):
    with with_settings(**{key: value}), pytest.raises(ImproperlyConfigured, match=key):
        getattr(batchcomms_settings, "PAGE_SIZE" if key != "PAGE_SIZE" else "LISTING_PAGE_SIZE")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("EMAIL_RATE_LIMIT", 0),  # 0 means no limit
        ("LISTING_PAGE_SIZE", 1),
        ("PAGE_SIZE", "a4"),
        ("FROM_EMAIL", "Water <water@example.com>"),
        ("PRIVATE_ROOT", Path("/srv/private")),
        ("LETTER_STORAGE", None),
    ],
)
def test_good_values_are_accepted(key, value):
    with with_settings(**{key: value}):
        assert getattr(batchcomms_settings, key) == value


def test_a_setting_that_is_not_a_dict_is_rejected():
    not_a_dict = override_settings(WAGTAIL_BATCHCOMMS=[("PAGE_SIZE", "a4")])
    with not_a_dict, pytest.raises(ImproperlyConfigured, match="must be a dict"):
        batchcomms_settings.PAGE_SIZE  # noqa: B018


def test_asking_for_a_setting_that_does_not_exist_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NO_SUCH_SETTING"):
        batchcomms_settings.NO_SUCH_SETTING  # noqa: B018


def test_an_instance_can_be_given_its_own_values():
    own = BatchcommsSettings({"LISTING_PAGE_SIZE": 25})
    assert own.LISTING_PAGE_SIZE == 25
    assert DEFAULTS["PAGE_SIZE"] == own.PAGE_SIZE
    assert own.validate() == []
    assert BatchcommsSettings({"NOPE": 1}).validate()

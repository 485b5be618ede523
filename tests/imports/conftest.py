"""Fixtures shared by the register import tests."""

from __future__ import annotations

import pytest

from wagtail_batchcomms.imports import runs


@pytest.fixture
def queued(monkeypatch):
    """Checking and importing go to a task whatever the file's size."""
    monkeypatch.setattr(runs, "INLINE_MAX_BYTES", 0)

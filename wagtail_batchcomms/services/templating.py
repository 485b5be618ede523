"""Jinja2 sandbox for notice templates (filled in by the notice-template work)."""

from __future__ import annotations


def template_errors(template) -> dict[str, list[str]]:
    return {}

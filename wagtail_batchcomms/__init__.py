"""Batch communications for backflow prevention programmes, inside the Wagtail admin."""

__version__ = "0.1.0"

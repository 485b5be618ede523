"""The batch's history: log actions with readable labels and messages.

The ids are ``history.<ID>`` (this package's ``__init__``); ``history.formatters`` registers
them through Wagtail's ``register_log_actions`` hook. ``batches.lifecycle`` and
``batches.generation`` write them with ``wagtail.log_actions.log(instance=batch, action=...)``.
Messages read their figures from the entry's ``data`` and fall back to a plain sentence when
a key is missing, so an old entry never breaks the history page.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.log_actions import LogFormatter

from . import (
    ADD_ASSEMBLIES,
    ARCHIVE,
    CLONE,
    CLONED,
    COMPLETE,
    CREATE,
    GENERATE,
    GENERATED,
    GENERATION_FAILED,
    REGENERATE,
    RESUME_GENERATION,
)
from .kept import KEPT_LABELS, kept_text


def number(value) -> str:
    """1234 -> "1,234" (history messages are read at a glance)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def _notices(count) -> str:
    return ngettext("%(n)s notice", "%(n)s notices", int(count or 0)) % {"n": number(count)}


def _unsent_removed(count) -> str:
    return ngettext(
        "%(n)s unsent notice removed", "%(n)s unsent notices removed", int(count or 0)
    ) % {"n": number(count)}


class CreateFormatter(LogFormatter):
    label = _("Create batch")

    def format_message(self, log_entry):
        try:
            count = log_entry.data["assemblies"]
        except KeyError:
            return _("Created")
        return ngettext(
            "Created with %(n)s assembly", "Created with %(n)s assemblies", int(count)
        ) % {"n": number(count)}


class AddAssembliesFormatter(LogFormatter):
    label = _("Add assemblies")

    def format_message(self, log_entry):
        try:
            count = log_entry.data["added"]
        except KeyError:
            return _("Added assemblies")
        return ngettext(
            "Added %(n)s assembly to the working list",
            "Added %(n)s assemblies to the working list",
            int(count),
        ) % {"n": number(count)}


class GenerateFormatter(LogFormatter):
    label = _("Generate")

    def format_message(self, log_entry):
        revision = log_entry.data.get("revision_id")
        if revision:
            return _("Started generating from template revision %(id)s") % {"id": revision}
        return _("Started generating")


class RegenerateFormatter(LogFormatter):
    """Entries written before attempted notices were kept have no ``kept``."""

    label = _("Regenerate")

    def format_message(self, log_entry):
        removed = log_entry.data.get("removed")
        if removed is None:
            return _("Started regenerating")
        if "kept" not in log_entry.data:
            return _("Started regenerating: %(removed)s") % {"removed": _unsent_removed(removed)}
        kept = log_entry.data["kept"]
        return _(
            "Started regenerating: removed %(removed)s never attempted, kept %(kept)s "
            "already attempted"
        ) % {"removed": _notices(removed), "kept": _notices(kept)}


class GeneratedFormatter(LogFormatter):
    label = _("Generation finished")

    def format_message(self, log_entry):
        data = log_entry.data
        try:
            emails, letters, skipped = data["emails"], data["letters"], data["skipped"]
        except KeyError:
            return _("Generated")
        return _(
            "Generated %(notices)s: %(emails)s emails and %(letters)s letters, %(skipped)s skipped"
        ) % {
            "notices": _notices(emails + letters),
            "emails": number(emails),
            "letters": number(letters),
            "skipped": number(skipped),
        }


class GenerationFailedFormatter(LogFormatter):
    label = _("Generation failed")

    def format_message(self, log_entry):
        error = log_entry.data.get("error")
        if error:
            return _("Generation failed, back to Open: %(error)s") % {"error": error}
        return _("Generation failed, back to Open")


class ResumeGenerationFormatter(LogFormatter):
    label = _("Restart generation")

    def format_message(self, log_entry):
        data = log_entry.data
        if "done" not in data or not data.get("total"):
            return _("Restarted generation, which had stopped making progress")
        return _(
            "Restarted generation, which had stopped making progress at %(done)s of "
            "%(total)s locations"
        ) % {"done": number(data["done"]), "total": number(data["total"])}


def _removed_by_channel(removed: dict) -> str:
    parts = []
    for count, singular, plural in (
        (removed.get("email", 0), "%(n)s email", "%(n)s emails"),
        (removed.get("letter", 0), "%(n)s letter", "%(n)s letters"),
    ):
        if count:
            parts.append(ngettext(singular, plural, int(count)) % {"n": number(count)})
    return ", ".join(parts)


class CloseFormatter(LogFormatter):
    """Complete and archive: what was removed, what stays as the record, what was withdrawn.

    Entries written before the record was kept this way have only ``removed``.
    """

    done = _("Closed")

    def format_message(self, log_entry):
        data = log_entry.data
        removed = data.get("removed")
        if removed is None:
            return str(self.done)
        if "kept" not in data:
            return _("%(done)s: %(removed)s") % {
                "done": self.done,
                "removed": _unsent_removed(removed),
            }
        if removed:
            removed_part = _("removed %(notices)s never attempted (%(channels)s)") % {
                "notices": _notices(removed),
                "channels": _removed_by_channel(data.get("removed_by_channel") or {}),
            }
        else:
            removed_part = _("removed nothing")
        # In the page's order: PostgreSQL's jsonb does not keep the keys' order.
        stored = data.get("kept") or {}
        order = [*KEPT_LABELS, *sorted(set(stored) - set(KEPT_LABELS))]
        kept = {key: stored[key] for key in order if stored.get(key)}
        if kept:
            kept_part = _("kept %(n)s (%(kinds)s)") % {
                "n": number(sum(kept.values())),
                "kinds": ", ".join(kept_text(key, n) for key, n in kept.items()),
            }
        else:
            kept_part = _("kept none")
        parts = [str(removed_part), str(kept_part)]
        for withdrawn in data.get("withdrawn") or []:
            parts.append(
                ngettext(
                    "withdrew letters PDF %(id)s (%(n)s letter removed)",
                    "withdrew letters PDF %(id)s (%(n)s letters removed)",
                    int(withdrawn.get("letters") or 0),
                )
                % {"id": withdrawn.get("download"), "n": number(withdrawn.get("letters"))}
            )
        return _("%(done)s: %(details)s") % {"done": self.done, "details": "; ".join(parts)}


class CompleteFormatter(CloseFormatter):
    label = _("Complete")
    done = _("Completed")


class ArchiveFormatter(CloseFormatter):
    label = _("Archive")
    done = _("Archived")


class CloneFormatter(LogFormatter):
    """On the new batch: where it came from."""

    label = _("Clone")

    def format_message(self, log_entry):
        data = log_entry.data
        try:
            source = data["source"]["name"]
        except (KeyError, TypeError):
            return _("Created as a clone")
        if data.get("reapplied_filter"):
            return _(
                "Cloned from '%(source)s', with its filter re-applied to today's register "
                "(%(n)s assemblies)"
            ) % {"source": source, "n": number(data.get("assemblies"))}
        return _("Cloned from '%(source)s' (%(n)s assemblies)") % {
            "source": source,
            "n": number(data.get("assemblies")),
        }


class ClonedFormatter(LogFormatter):
    """On the original batch: that a clone was made."""

    label = _("Cloned")

    def format_message(self, log_entry):
        try:
            return _("Cloned as '%(name)s'") % {"name": log_entry.data["clone"]["name"]}
        except (KeyError, TypeError):
            return _("Cloned")


FORMATTERS: dict[str, type[LogFormatter]] = {
    CREATE: CreateFormatter,
    ADD_ASSEMBLIES: AddAssembliesFormatter,
    GENERATE: GenerateFormatter,
    REGENERATE: RegenerateFormatter,
    GENERATED: GeneratedFormatter,
    GENERATION_FAILED: GenerationFailedFormatter,
    RESUME_GENERATION: ResumeGenerationFormatter,
    COMPLETE: CompleteFormatter,
    ARCHIVE: ArchiveFormatter,
    CLONE: CloneFormatter,
    CLONED: ClonedFormatter,
}

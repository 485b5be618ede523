"""The batch's history: log actions with readable labels and messages.

Registered through Wagtail's ``register_log_actions`` hook (see ``wagtail_hooks.py``); the
services write them with ``wagtail.log_actions.log(instance=batch, action=..., data=...)``.
Messages read their figures from the entry's ``data`` and fall back to a plain sentence when
a key is missing, so an old entry never breaks the history page.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.log_actions import LogActionRegistry, LogFormatter

PREFIX = "wagtail_batchcomms"


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
        from ..batches.closing import KEPT_LABELS, kept_text

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


# --- sending emails (emails.sending) ---


def _emails(count) -> str:
    return ngettext("%(n)s email", "%(n)s emails", int(count or 0)) % {"n": number(count)}


def copies_sentence(copies) -> str:
    """ "Every email also copied to a, b (CC) and c (BCC). Not copied, outside the allowed
    domains: d." from ``notices.copies.Copies.as_log_data()``; "" without copies."""
    if not isinstance(copies, dict):
        return ""
    parts = []
    cc, bcc, refused = copies.get("cc") or [], copies.get("bcc") or [], copies.get("refused")
    if cc or bcc:
        targets = [f"{', '.join(cc)} (CC)"] if cc else []
        targets += [f"{', '.join(bcc)} (BCC)"] if bcc else []
        parts.append(
            _("Every email also copied to %(targets)s.") % {"targets": _(" and ").join(targets)}
        )
    if refused:
        parts.append(
            _("Not copied, outside the allowed domains: %(addresses)s.")
            % {"addresses": ", ".join(refused)}
        )
    return " ".join(str(part) for part in parts)


class SendFormatter(LogFormatter):
    label = _("Send emails")

    def format_message(self, log_entry):
        data = log_entry.data
        if "queued" not in data:
            return _("Started sending emails")
        if data.get("retried"):
            message = _("Started sending: %(queued)s queued, %(retried)s of them retried") % {
                "queued": _emails(data["queued"]),
                "retried": number(data["retried"]),
            }
        else:
            message = _("Started sending: %(queued)s queued") % {"queued": _emails(data["queued"])}
        copies = copies_sentence(data.get("copies"))
        return f"{message}. {copies}" if copies else message


class SendRetryFormatter(LogFormatter):
    label = _("Retry emails")

    def format_message(self, log_entry):
        data = log_entry.data
        if "count" not in data:
            return _("Emails put back in the queue")
        return _(
            "%(emails)s put back in the queue (%(failed)s failed, %(unknown)s delivery unknown)"
        ) % {
            "emails": _emails(data["count"]),
            "failed": number(data.get("failed", 0)),
            "unknown": number(data.get("unknown", 0)),
        }


class PartiallySentFormatter(LogFormatter):
    label = _("Partially sent")

    def format_message(self, log_entry):
        return _("The first email was sent: the batch is Partially sent")


class SendStoppedFormatter(LogFormatter):
    label = _("Sending stopped")

    def format_message(self, log_entry):
        error = log_entry.data.get("error")
        if error and log_entry.data.get("crashed"):
            # The send task failed unexpectedly (not the mail server refusing connections).
            return _("Sending stopped: %(error)s") % {"error": error}
        if error:
            return _("Sending stopped, the rest stays queued: %(error)s") % {"error": error}
        return _("Sending stopped, the rest stays queued")


class DeliveryUnknownFormatter(LogFormatter):
    label = _("Delivery unknown")

    def format_message(self, log_entry):
        return _(
            "%(emails)s marked delivery unknown: the worker sending them stopped before "
            "recording the outcome. They are not sent again unless retried."
        ) % {"emails": _emails(log_entry.data.get("count", 0))}


FORMATTERS: dict[str, type[LogFormatter]] = {
    f"{PREFIX}.create": CreateFormatter,
    f"{PREFIX}.add_assemblies": AddAssembliesFormatter,
    f"{PREFIX}.generate": GenerateFormatter,
    f"{PREFIX}.regenerate": RegenerateFormatter,
    f"{PREFIX}.generated": GeneratedFormatter,
    f"{PREFIX}.generation_failed": GenerationFailedFormatter,
    f"{PREFIX}.resume_generation": ResumeGenerationFormatter,
    f"{PREFIX}.complete": CompleteFormatter,
    f"{PREFIX}.archive": ArchiveFormatter,
    f"{PREFIX}.clone": CloneFormatter,
    f"{PREFIX}.cloned": ClonedFormatter,
    f"{PREFIX}.send": SendFormatter,
    f"{PREFIX}.send_retry": SendRetryFormatter,
    f"{PREFIX}.partially_sent": PartiallySentFormatter,
    f"{PREFIX}.send_stopped": SendStoppedFormatter,
    f"{PREFIX}.delivery_unknown": DeliveryUnknownFormatter,
}


def register_batch_log_actions(actions: LogActionRegistry) -> None:
    """Called by the ``register_log_actions`` hook."""
    for action, formatter in FORMATTERS.items():
        actions.register_action(action)(formatter)

"""What closing a batch keeps as the record, labelled once for its confirm page
(``batches.closing.ClosingPlan``) and for the history entry (``history.batches.CloseFormatter``).
"""

from __future__ import annotations

from django.utils.translation import ngettext_lazy

#: What stays, in the order the confirm page and the history list it ("n" picks the plural,
#: "shown" is the number as printed).
KEPT_LABELS = {
    "sent": ngettext_lazy("%(shown)s email sent", "%(shown)s emails sent", "n"),
    "mailed": ngettext_lazy(
        "%(shown)s letter marked as mailed", "%(shown)s letters marked as mailed", "n"
    ),
    "failed": ngettext_lazy(
        "%(shown)s failed, with the server's answer",
        "%(shown)s failed, with the servers' answers",
        "n",
    ),
    "unknown": ngettext_lazy("%(shown)s of unknown delivery", "%(shown)s of unknown delivery", "n"),
    "sending": ngettext_lazy("%(shown)s being sent now", "%(shown)s being sent now", "n"),
    "requeued": ngettext_lazy(
        "%(shown)s queued again after an earlier attempt (not sent now)",
        "%(shown)s queued again after an earlier attempt (not sent now)",
        "n",
    ),
}


def kept_text(key: str, n: int) -> str:
    """E.g. "1,204 emails sent"; an unknown key (a newer entry read by older code) as is."""
    label = KEPT_LABELS.get(key)
    if label is None:
        return f"{n:,} {key}"
    return label % {"n": int(n), "shown": f"{int(n):,}"}

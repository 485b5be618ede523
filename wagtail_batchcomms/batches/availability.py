"""Which actions a user may use on a batch now, and, for the others, the real reason why not.

One place decides both: the batch page shows the buttons of ``allowed_actions`` and no others,
and an action view that is asked for anything else shows ``refusal_reason`` (the state, a
missing permission, a failed condition of the transition, or that there is nothing to do, such
as "No emails failed, so there is nothing to retry."). The services still check everything
again when they act (another admin may have been quicker).
"""

from __future__ import annotations

from functools import cached_property

from django.utils.translation import gettext as _
from django_fsm import has_transition_perm

from ..exceptions import BatchActionError
from ..letters.downloads import ACTIVE as ACTIVE_DOWNLOADS
from ..models import Batch, BatchStatus, Channel, CommunicationStatus
from .generation import generation_stalled_since, still_generating_message
from .transitions import (
    check_transition,
    state_error,
    user_has_batch_permission,
)

S = BatchStatus
ST = CommunicationStatus

#: Every action name ``allowed_actions`` can return, in the order of the batch page's buttons.
ACTIONS = [
    "edit",
    "generate",
    "regenerate",
    "resume_generation",
    "send",
    "retry",
    "download_letters",
    "mark_mailed",
    "complete",
    "archive",
    "clone",
    "delete",
]


class _Availability:
    """The facts about one batch and one user that the actions depend on, read once."""

    def __init__(self, batch: Batch, user, counts: dict | None = None) -> None:
        self.batch = batch
        self.user = user
        self.counts = counts

    def has(self, action: str) -> bool:
        return user_has_batch_permission(self.user, action)

    @cached_property
    def present(self) -> set[tuple[str, str]]:
        """(channel, status) pairs the batch's notices have (one query unless the counts were
        given; none to deliver in other states)."""
        if not self.batch.can_send:
            return set()
        counts = self.counts if self.counts is not None else self.batch.communications.counts()
        return {(ch, st) for ch, row in counts.items() for st, n in row.items() if n}

    def refusal(self, action: str) -> str | None:
        """None if ``action`` is allowed now, else the message saying why not."""
        return getattr(self, f"_{action}")()

    # --- editing and the state machine ---------------------------------------------------

    def _edit(self) -> str | None:
        if self.batch.status != S.OPEN:
            return str(state_error(self.batch, [S.OPEN], _("edited")))
        if not self.has("change"):
            return _("You do not have permission to change batches.")
        return None

    def _delete(self) -> str | None:
        if self.batch.status != S.OPEN:
            return str(state_error(self.batch, [S.OPEN], _("deleted")))
        if not self.has("delete"):
            return _("You do not have permission to delete batches.")
        return None

    def _transition(self, name: str) -> str | None:
        if has_transition_perm(getattr(self.batch, name), self.user):
            return None
        try:
            check_transition(self.batch, name, self.user)
        except BatchActionError as error:
            return str(error)
        return _("This action is not allowed on this batch now.")

    def _generate(self) -> str | None:
        if self.batch.status == S.GENERATING:
            return _("This batch is already being generated.")
        return self._transition("generate")

    def _regenerate(self) -> str | None:
        if self.batch.status == S.GENERATING:
            return _("This batch is already being generated.")
        return self._transition("regenerate")

    def _complete(self) -> str | None:
        return self._transition("complete")

    def _archive(self) -> str | None:
        return self._transition("archive")

    def _resume_generation(self) -> str | None:
        if self.batch.status != S.GENERATING:
            return str(state_error(self.batch, [S.GENERATING], _("restarted")))
        if not self.has("generate"):
            return _("You do not have permission to generate batch communications.")
        if generation_stalled_since(self.batch) is None:
            return still_generating_message(self.batch)
        return None

    def _clone(self) -> str | None:
        if not self.has("clone"):
            return _("You do not have permission to clone batches.")
        return None

    # --- delivery ----------------------------------------------------------------------

    def _deliverable(self, what: str) -> str | None:
        if not self.batch.can_send:
            # E.g. "This batch is Open; emails can be sent only from Generated or Partially
            # sent batches."
            return _("This batch is %(state)s; %(what)s only from %(sources)s batches.") % {
                "state": self.batch.get_status_display(),
                "what": what,
                "sources": _("Generated or Partially sent"),
            }
        return None

    def _may_send_emails(self) -> str | None:
        refused = self._deliverable(_("emails can be sent"))
        if refused:
            return refused
        if not self.has("send"):
            return _("You do not have permission to send this batch.")
        return None

    def _send(self) -> str | None:
        refused = self._may_send_emails()
        if refused:
            return refused
        if (Channel.EMAIL, ST.PENDING) not in self.present:
            return _("No emails are waiting to be sent.")
        return None

    def _retry(self) -> str | None:
        refused = self._may_send_emails()
        if refused:
            return refused
        if not {(Channel.EMAIL, ST.FAILED), (Channel.EMAIL, ST.UNKNOWN)} & self.present:
            return _("No emails failed, so there is nothing to retry.")
        return None

    def _letters(self) -> str | None:
        refused = self._deliverable(_("letters can be printed and mailed"))
        if refused:
            return refused
        if not self.has("send"):
            return _("You do not have permission to download or mail letters.")
        if (Channel.LETTER, ST.PENDING) not in self.present:
            return _("No letters are waiting to be printed.")
        return None

    def _download_letters(self) -> str | None:
        # While a download of this batch is queued or rendering, asking again makes no new
        # PDF: ``letters.request_letter_download`` hands back the active one (a scheduled
        # task already re-queues the work of a dead worker). So the batch page does not
        # offer "Download letters" as if it would start one; it shows that download's
        # progress bar and its row under Letter downloads instead. (Asked before the other
        # checks, so that the page makes as many queries with letters as without.)
        under_way = (
            self.batch.can_send
            and self.batch.letter_downloads.filter(status__in=ACTIVE_DOWNLOADS).exists()
        )
        refused = self._letters()
        if refused:
            return refused
        if under_way:
            return _(
                "The letters of this batch are already being prepared for download; "
                "their progress is shown on the batch page."
            )
        return None

    def _mark_mailed(self) -> str | None:
        return self._letters()


def allowed_actions(batch: Batch, user, *, counts: dict | None = None) -> list[str]:
    """The actions (names from ``ACTIONS``) this user may use on this batch now.

    State, conditions, permissions and whether there is anything to do, together: the batch
    page shows these buttons and no others, and each action view refuses anything not in
    this list with ``refusal_reason``. ``counts``: the batch's
    ``communications.counts()`` when the caller has them already (saves a query).
    """
    availability = _Availability(batch, user, counts)
    return [action for action in ACTIONS if availability.refusal(action) is None]


def refusal_reason(batch: Batch, user, action: str) -> str | None:
    """Why ``action`` is not available to ``user`` on ``batch`` now (a sentence for the admin),
    or None when it is."""
    return _Availability(batch, user).refusal(action)

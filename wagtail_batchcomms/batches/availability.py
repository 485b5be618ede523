"""Whether a batch action is available to a user now, and, if not, the real reason why.

The checks the action registry (``batches.actions``) composes, one per concept: the state, the
user's permission (the entry's ``permission``, asked through ``permissions.py``), a transition
of the state machine with its conditions, whether there is anything to do ("No emails failed,
so there is nothing to retry."). Each takes the facts about one batch and one user
(``BatchFacts``, read once for the whole batch page) and the action, and returns None when it
passes, else the sentence for the admin. An entry's checks run in order; the first refusal is
the reason. The use cases still check everything again when they act (another admin may have
been quicker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import has_transition_perm

from ..exceptions import BatchActionError
from ..letters.downloads import ACTIVE as ACTIVE_DOWNLOADS
from ..models import Batch, BatchStatus, Channel, CommunicationStatus
from .generation import generation_stalled_since, still_generating_message
from .transitions import check_transition, state_error, user_has_batch_permission

if TYPE_CHECKING:
    from .actions import BatchAction


class BatchFacts:
    """The facts about one batch and one user that the checks depend on, read once."""

    def __init__(self, batch: Batch, user, counts: dict | None = None) -> None:
        self.batch = batch
        self.user = user
        self.counts = counts

    def may(self, permission: str) -> bool:
        return user_has_batch_permission(self.user, permission)

    @cached_property
    def present(self) -> set[tuple[str, str]]:
        """(channel, status) pairs the batch's notices have (one query unless the counts were
        given; none to deliver in other states)."""
        if not self.batch.can_send:
            return set()
        counts = self.counts if self.counts is not None else self.batch.communications.counts()
        return {(ch, st) for ch, row in counts.items() for st, n in row.items() if n}


#: A check: None when ``action`` is available as far as it goes, else why not.
Check = Callable[[BatchFacts, "BatchAction"], "str | None"]


def first_refusal(facts: BatchFacts, action: BatchAction, checks: Iterable[Check]) -> str | None:
    """The first check's refusal, or None when every check passes."""
    for check in checks:
        refused = check(facts, action)
        if refused:
            return str(refused)
    return None


# --- state and permission ---------------------------------------------------------------------


def in_state(state: str, participle: str) -> Check:
    """Only in ``state``: "This batch is Complete; only Open batches can be <participle>."."""

    def check(facts: BatchFacts, action: BatchAction) -> str | None:
        if facts.batch.status != state:
            return str(state_error(facts.batch, [state], participle))
        return None

    return check


def permitted(message: str) -> Check:
    """The user holds the action's ``permission`` (the batch policy's), else ``message``."""

    def check(facts: BatchFacts, action: BatchAction) -> str | None:
        return None if facts.may(action.permission) else message

    return check


def transition(name: str) -> Check:
    """The state machine's transition ``name``: state, permission and conditions, each refusal
    explained (``transitions.check_transition``)."""

    def check(facts: BatchFacts, action: BatchAction) -> str | None:
        if has_transition_perm(getattr(facts.batch, name), facts.user):
            return None
        try:
            check_transition(facts.batch, name, facts.user)
        except BatchActionError as error:
            return str(error)
        return _("This action is not allowed on this batch now.")

    return check


# --- generation -------------------------------------------------------------------------------


def not_generating(facts: BatchFacts, action: BatchAction) -> str | None:
    if facts.batch.status == BatchStatus.GENERATING:
        return _("This batch is already being generated.")
    return None


def generation_stalled(facts: BatchFacts, action: BatchAction) -> str | None:
    """A generation that made no progress for a while (its task was lost) may be restarted."""
    if generation_stalled_since(facts.batch) is None:
        return still_generating_message(facts.batch)
    return None


# --- delivery ---------------------------------------------------------------------------------


def not_awaiting_review(facts: BatchFacts, action: BatchAction) -> str | None:
    """A batch of automatic notices held for review sends nothing until it is released."""
    if facts.batch.awaiting_review:
        return _(
            "This batch is awaiting review: its emails go out when a reviewer releases them "
            "(Release emails)."
        )
    return None


def awaiting_review(facts: BatchFacts, action: BatchAction) -> str | None:
    """Only a batch held for review (and not yet released) can be released."""
    if not facts.batch.awaiting_review:
        return _("This batch is not awaiting review (it was released or was not held).")
    if facts.batch.status != BatchStatus.GENERATED:
        return _("This batch is %(state)s; only Generated batches can be released.") % {
            "state": facts.batch.get_status_display()
        }
    return None


def deliverable(what: str) -> Check:
    """Only Generated or Partially sent batches deliver."""

    def check(facts: BatchFacts, action: BatchAction) -> str | None:
        if not facts.batch.can_send:
            # E.g. "This batch is Open; emails can be sent only from Generated or Partially
            # sent batches."
            return _("This batch is %(state)s; %(what)s only from %(sources)s batches.") % {
                "state": facts.batch.get_status_display(),
                "what": what,
                "sources": _("Generated or Partially sent"),
            }
        return None

    return check


def has_notices(channel: str, statuses: Iterable[str], message: str) -> Check:
    """Something to do: the batch has notices of ``channel`` in one of ``statuses``."""
    wanted = {(channel, status) for status in statuses}

    def check(facts: BatchFacts, action: BatchAction) -> str | None:
        return None if wanted & facts.present else message

    return check


#: Printing and mailing letters: from a delivering batch, with ``send_batch``, letters waiting.
LETTER_CHECKS: tuple[Check, ...] = (
    deliverable(gettext_lazy("letters can be printed and mailed")),
    permitted(gettext_lazy("You do not have permission to download or mail letters.")),
    has_notices(
        Channel.LETTER,
        [CommunicationStatus.PENDING],
        gettext_lazy("No letters are waiting to be printed."),
    ),
)


def letters_to_download(facts: BatchFacts, action: BatchAction) -> str | None:
    """``LETTER_CHECKS``, and no download of this batch already under way.

    While a download is queued or rendering, asking again makes no new PDF:
    ``letters.request_letter_download`` hands back the active one (a scheduled task already
    re-queues the work of a dead worker). So the batch page does not offer "Download letters"
    as if it would start one; it shows that download's progress bar and its row under Letter
    downloads instead. (Asked before the other checks, so that the page makes as many queries
    with letters as without.)
    """
    under_way = (
        facts.batch.can_send
        and facts.batch.letter_downloads.filter(status__in=ACTIVE_DOWNLOADS).exists()
    )
    refused = first_refusal(facts, action, LETTER_CHECKS)
    if refused:
        return refused
    if under_way:
        return _(
            "The letters of this batch are already being prepared for download; "
            "their progress is shown on the batch page."
        )
    return None

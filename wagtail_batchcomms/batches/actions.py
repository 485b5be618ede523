"""The batch actions: one registry entry per action, and which of them a user may use now.

An entry (``BatchAction``) declares everything about one action: its key (URL name, button
marker, what ``allowed_actions`` returns), label and icon, the batch permission it needs
(asked through ``permissions.py``), when it is available (its ``checks``, from
``availability``), the use case it runs, its confirm page (template, text, button, the facts
shown), the history id the use case writes and its success message. This layer imports no
view: ``views.batches.actions`` turns each entry into a URL, a button and an operation view.
Adding an action is one entry here plus its use case (and a confirm template if the generic
one does not do).

``ACTIONS`` is in the order ``allowed_actions`` lists them; the buttons are sorted by
``priority``. ``edit`` and ``delete`` run no use case here: they are the viewset's own generic
views (``run`` is None), listed for their buttons and availability.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from .. import history
from ..emails.sending import start_sending
from ..exceptions import BatchActionError, SendingError
from ..letters.downloads import mark_letters_mailed, request_letter_download
from ..models import Batch, BatchStatus, Channel, CommunicationStatus
from . import lifecycle, review
from .availability import (
    LETTER_CHECKS,
    BatchFacts,
    Check,
    awaiting_review,
    deliverable,
    first_refusal,
    generation_stalled,
    has_notices,
    in_state,
    letters_to_download,
    not_awaiting_review,
    not_generating,
    permitted,
    transition,
)
from .confirmations import (
    closing_facts,
    email_facts,
    generation_facts,
    letter_facts,
    past_due_warning,
    resume_text,
    retry_facts,
)

#: The confirm page every action has unless its entry names another (which extends it).
CONFIRM_TEMPLATE = "wagtail_batchcomms/admin/confirm_action.html"

GO_AHEAD = gettext_lazy("Yes, go ahead")

#: The exceptions by which use cases refuse an action, each carrying the admin's message
#: (``letters.downloads.LetterError`` is a ``BatchActionError``).
REFUSALS: tuple[type[Exception], ...] = (BatchActionError, SendingError)


@dataclass(frozen=True)
class BatchAction:
    """One batch action. Messages are format strings: ``%(name)s`` is the batch, ``%(result)s``
    what the use case returned (the new batch of a clone), ``%(count)s`` a number it returned,
    printed as "1,234"."""

    key: str
    label: Promise
    icon: str
    #: The batch policy's action ("send" is ``send_batch``) a user needs to open the action.
    permission: str
    #: When it is available: run in order, the first refusal is the reason (``availability``).
    checks: tuple[Check, ...]
    #: The use case: ``run(batch_id, user=..., **the confirm form's cleaned data)``.
    run: Callable[..., Any] | None = None
    #: The history entry the use case writes (``history``).
    history_id: str | None = None
    confirm_template: str = CONFIRM_TEMPLATE
    #: A sentence above the button; a function of the batch when it depends on it.
    confirm_text: Promise | Callable[[Batch], str] = ""
    confirm_button: Promise = GO_AHEAD
    confirm_button_classname: str = "button"
    #: What the confirm page shows (and its form is built from): a dict for its template.
    confirm_data: Callable[[Batch], dict] | None = None
    success_message: Promise | None = None
    #: Shown as a warning instead when the use case did nothing (returned 0): another admin
    #: was quicker between the check and the use case.
    nothing_done_message: Promise | None = None
    #: A warning about the result, shown after the success message (or None).
    warning: Callable[[Any], str | None] | None = None
    #: After success, go to the batch the use case returned (a clone), not this one.
    lands_on_result: bool = False
    #: A main header button (the others are under "More"); ``priority`` orders them.
    primary: bool = False
    priority: int = 100

    def refusal(self, facts: BatchFacts) -> str | None:
        """None if available to ``facts.user`` on ``facts.batch`` now, else why not."""
        return first_refusal(facts, self, self.checks)

    def message_values(self, batch: Batch, result) -> dict:
        count = f"{result:,}" if isinstance(result, int) else ""
        return {"name": batch, "result": result, "count": count}


# --- the registry ---------------------------------------------------------------------------

_SEND_CHECKS: tuple[Check, ...] = (
    deliverable(gettext_lazy("emails can be sent")),
    permitted(gettext_lazy("You do not have permission to send this batch.")),
    not_awaiting_review,
)

ACTIONS: list[BatchAction] = [
    BatchAction(
        key="edit",
        label=gettext_lazy("Edit"),
        icon="edit",
        permission="change",
        checks=(
            in_state(BatchStatus.OPEN, gettext_lazy("edited")),
            permitted(gettext_lazy("You do not have permission to change batches.")),
        ),
        history_id=history.EDIT,
        priority=40,
    ),
    BatchAction(
        key="generate",
        label=gettext_lazy("Generate"),
        icon="cogs",
        permission="generate",
        checks=(not_generating, transition("generate")),
        run=lifecycle.start_generation,
        history_id=history.GENERATE,
        confirm_template="wagtail_batchcomms/admin/confirm_generate.html",
        confirm_data=generation_facts,
        confirm_button=gettext_lazy("Generate the notices"),
        success_message=gettext_lazy(
            "Generating the notices of “%(name)s”. This page shows the progress."
        ),
        primary=True,
        priority=10,
    ),
    BatchAction(
        key="regenerate",
        label=gettext_lazy("Regenerate"),
        icon="resubmit",
        permission="generate",
        checks=(not_generating, transition("regenerate")),
        run=lifecycle.start_generation,
        history_id=history.REGENERATE,
        confirm_template="wagtail_batchcomms/admin/confirm_generate.html",
        confirm_data=generation_facts,
        confirm_text=gettext_lazy(
            "The notices generated so far are replaced by new ones from the template's "
            "current published version. Nothing has been sent yet. Emails already tried "
            "(failed ones, or ones put back in the queue) are kept as they are, with the mail "
            "server's answer, and get no second notice: use “Retry failed emails” to try "
            "them again."
        ),
        confirm_button=gettext_lazy("Regenerate the notices"),
        success_message=gettext_lazy(
            "Generating the notices of “%(name)s”. This page shows the progress."
        ),
        priority=15,
    ),
    BatchAction(
        key="resume_generation",
        label=gettext_lazy("Restart generation"),
        icon="rotate",
        permission="generate",
        checks=(
            in_state(BatchStatus.GENERATING, gettext_lazy("restarted")),
            permitted(gettext_lazy("You do not have permission to generate batch communications.")),
            generation_stalled,
        ),
        run=lifecycle.resume_generation,
        history_id=history.RESUME_GENERATION,
        confirm_text=resume_text,
        confirm_button=gettext_lazy("Restart generation"),
        success_message=gettext_lazy(
            "Generation of “%(name)s” restarted. This page shows the progress."
        ),
        primary=True,
        priority=12,
    ),
    BatchAction(
        key="send",
        label=gettext_lazy("Send emails"),
        icon="mail",
        permission="send",
        checks=(
            *_SEND_CHECKS,
            has_notices(
                Channel.EMAIL,
                [CommunicationStatus.PENDING],
                gettext_lazy("No emails are waiting to be sent."),
            ),
        ),
        run=start_sending,
        history_id=history.SEND,
        confirm_template="wagtail_batchcomms/admin/confirm_send.html",
        confirm_data=email_facts,
        confirm_button=gettext_lazy("Send the emails"),
        success_message=gettext_lazy(
            "%(count)s emails of “%(name)s” are queued for sending. This page shows the progress."
        ),
        primary=True,
        priority=20,
    ),
    BatchAction(
        key="release",
        label=gettext_lazy("Release emails"),
        icon="success",
        # The batch policy's "review" is RuleRun's review_rulerun (permissions.py).
        permission="review",
        checks=(
            permitted(gettext_lazy("You do not have permission to review automatic notices.")),
            awaiting_review,
        ),
        run=review.release_reviewed,
        history_id=history.RELEASE,
        confirm_data=email_facts,
        confirm_template="wagtail_batchcomms/admin/confirm_send.html",
        confirm_text=gettext_lazy(
            "These automatic notices were held for review. Releasing them sends the emails "
            "now; letters are downloaded and marked as mailed as usual. To reject the day's "
            "list instead, archive the batch."
        ),
        confirm_button=gettext_lazy("Release the emails"),
        success_message=gettext_lazy(
            "“%(name)s” is released: %(count)s emails are queued for sending."
        ),
        primary=True,
        priority=18,
    ),
    BatchAction(
        key="retry",
        label=gettext_lazy("Retry failed emails"),
        icon="repeat",
        permission="send",
        checks=(
            *_SEND_CHECKS,
            has_notices(
                Channel.EMAIL,
                [CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN],
                gettext_lazy("No emails failed, so there is nothing to retry."),
            ),
        ),
        run=start_sending,
        history_id=history.SEND_RETRY,
        confirm_template="wagtail_batchcomms/admin/confirm_send.html",
        confirm_data=retry_facts,
        confirm_button=gettext_lazy("Retry"),
        success_message=gettext_lazy(
            "%(count)s emails of “%(name)s” are queued for sending. This page shows the progress."
        ),
        priority=25,
    ),
    BatchAction(
        key="download_letters",
        label=gettext_lazy("Download letters"),
        icon="download",
        permission="send",
        checks=(letters_to_download,),
        run=request_letter_download,
        history_id=history.LETTERS_REQUESTED,
        confirm_template="wagtail_batchcomms/admin/confirm_letters.html",
        confirm_data=letter_facts,
        confirm_button=gettext_lazy("Prepare the letters PDF"),
        success_message=gettext_lazy(
            "The letters PDF is being prepared; it appears under Letter downloads when ready."
        ),
        primary=True,
        priority=30,
    ),
    BatchAction(
        key="mark_mailed",
        label=gettext_lazy("Mark letters as mailed"),
        icon="tick",
        permission="send",
        checks=LETTER_CHECKS,
        run=mark_letters_mailed,
        history_id=history.LETTERS_MAILED,
        confirm_template="wagtail_batchcomms/admin/confirm_mark_mailed.html",
        confirm_data=letter_facts,
        confirm_button=gettext_lazy("Mark them as mailed"),
        success_message=gettext_lazy("%(count)s letters recorded as mailed."),
        nothing_done_message=gettext_lazy("No letters are waiting to be printed."),
        priority=35,
    ),
    BatchAction(
        key="complete",
        label=gettext_lazy("Complete"),
        icon="success",
        permission="complete",
        checks=(transition("complete"),),
        run=lifecycle.complete_batch,
        history_id=history.COMPLETE,
        confirm_template="wagtail_batchcomms/admin/confirm_close.html",
        confirm_data=closing_facts,
        confirm_text=gettext_lazy(
            "Completing closes the batch out. It stays as the record of what was sent and can "
            "be cloned."
        ),
        confirm_button=gettext_lazy("Yes, complete it"),
        success_message=gettext_lazy("“%(name)s” is complete."),
        priority=50,
    ),
    BatchAction(
        key="archive",
        label=gettext_lazy("Archive"),
        icon="folder",
        permission="archive",
        checks=(transition("archive"),),
        run=lifecycle.archive_batch,
        history_id=history.ARCHIVE,
        confirm_template="wagtail_batchcomms/admin/confirm_close.html",
        confirm_data=closing_facts,
        confirm_text=gettext_lazy(
            "Archived batches are hidden from the listing unless you filter for them; they "
            "stay as the record and can be cloned."
        ),
        confirm_button=gettext_lazy("Yes, archive it"),
        confirm_button_classname="button serious",
        success_message=gettext_lazy("“%(name)s” is archived."),
        priority=70,
    ),
    BatchAction(
        key="clone",
        label=gettext_lazy("Clone"),
        icon="copy",
        permission="clone",
        checks=(permitted(gettext_lazy("You do not have permission to clone batches.")),),
        run=lifecycle.clone_batch,
        history_id=history.CLONE,
        confirm_template="wagtail_batchcomms/admin/confirm_clone.html",
        confirm_text=gettext_lazy(
            "The new batch is Open, with the same template, due date and working list."
        ),
        confirm_button=gettext_lazy("Clone"),
        success_message=gettext_lazy("“%(name)s” was cloned to “%(result)s”."),
        warning=past_due_warning,
        lands_on_result=True,
        priority=60,
    ),
    BatchAction(
        key="delete",
        label=gettext_lazy("Delete"),
        icon="bin",
        permission="delete",
        checks=(
            in_state(BatchStatus.OPEN, gettext_lazy("deleted")),
            permitted(gettext_lazy("You do not have permission to delete batches.")),
        ),
        history_id=history.DELETE,
        priority=80,
    ),
]
ACTIONS_BY_KEY: dict[str, BatchAction] = {action.key: action for action in ACTIONS}


def allowed_actions(batch: Batch, user, *, counts: dict | None = None) -> list[str]:
    """The keys of the actions this user may use on this batch now, in ``ACTIONS`` order.

    State, conditions, permissions and whether there is anything to do, together: the batch
    page shows these buttons and no others, and each action view refuses anything not in
    this list with ``refusal_reason``. ``counts``: the batch's ``communications.counts()``
    when the caller has them already (saves a query).
    """
    facts = BatchFacts(batch, user, counts)
    return [action.key for action in ACTIONS if action.refusal(facts) is None]


def refusal_reason(batch: Batch, user, key: str) -> str | None:
    """Why action ``key`` is not available to ``user`` on ``batch`` now (a sentence for the
    admin), or None when it is."""
    return ACTIONS_BY_KEY[key].refusal(BatchFacts(batch, user))

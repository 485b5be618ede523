"""Guarding the batch's state machine: state, permission and conditions, with messages.

``check_transition`` is the one gate every batch use case (``lifecycle``) passes before
calling a transition method: the state (``can_proceed`` without conditions), the user's
permission (the transition's ``permission``), the conditions (``can_proceed``, each failure
explained with ``CONDITION_MESSAGES``), and finally ``has_transition_perm``, which checks all
three again.

Only this capability moves a batch through the guard. Emails and letters move it only as a
side effect (Generated -> Partially sent, when the first email is sent or letters are marked
mailed) and ask just the permission (``permissions.user_can``), so they need nothing from
here; their refusals are in ``exceptions``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed, has_transition_perm

from ..exceptions import BatchActionError
from ..models import Batch, BatchStatus
from ..models.batches import CONDITION_MESSAGES
from ..permissions import user_can

#: transition name -> (participle for "only ... batches can be <participle>", verb).
TRANSITIONS = {
    "generate": (gettext_lazy("generated"), gettext_lazy("generate")),
    "regenerate": (gettext_lazy("regenerated"), gettext_lazy("regenerate")),
    "complete": (gettext_lazy("completed"), gettext_lazy("complete")),
    "archive": (gettext_lazy("archived"), gettext_lazy("archive")),
}


def lock_batch(batch_id: int) -> Batch:
    """The batch row, locked until the transaction ends (``select_for_update``)."""
    batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise BatchActionError(_("This batch no longer exists."))
    return batch


def state_error(batch: Batch, sources: Iterable[str], participle: str) -> BatchActionError:
    """The wrong-state refusal.

    E.g. "This batch is Complete; only Open batches can be generated."
    """
    labels = [str(BatchStatus(source).label) for source in BatchStatus if source in sources]
    return BatchActionError(
        _("This batch is %(state)s; only %(sources)s batches can be %(done)s.")
        % {
            "state": batch.get_status_display(),
            "sources": get_text_list(labels, _("or")),
            "done": participle,
        }
    )


def user_has_batch_permission(user, action: str) -> bool:
    """Whether ``user`` holds the batch permission ``action``: a model one ("add", "change",
    "delete", "view") or a custom one ("generate", "send", "complete", "archive", "clone"),
    through the permission policy Wagtail has for ``Batch`` (``<action>_batch``)."""
    return user_can(user, action, Batch)


def require_permission(user, action: str, message: str) -> None:
    """Refuse with ``message`` unless ``user_has_batch_permission(user, action)``."""
    if not user_has_batch_permission(user, action):
        raise BatchActionError(message)


def check_transition(batch: Batch, name: str, user) -> None:
    """Raise ``BatchActionError`` unless ``user`` may run transition ``name`` on ``batch`` now."""
    participle, verb = TRANSITIONS[name]
    method = getattr(batch, name)
    meta = method._django_fsm
    if not can_proceed(method, check_conditions=False):
        raise state_error(batch, meta.transitions.keys(), participle)
    transition = meta.get_transition(batch.status)
    if not transition.has_perm(batch, user):
        raise BatchActionError(
            _("You do not have permission to %(verb)s batch communications.") % {"verb": verb}
        )
    if not can_proceed(method):
        failed = [
            str(CONDITION_MESSAGES.get(condition, _("A condition for this action is not met.")))
            for condition in transition.conditions
            if not condition(batch)
        ]
        raise BatchActionError(" ".join(failed))
    if not has_transition_perm(method, user):
        raise BatchActionError(_("This action is not allowed on this batch now."))

"""Where a batch lives in the admin: the URLs every batch view links to.

Apart so that the viewset (which wires every batch view up) and the views (which link back to
the batch page) import it rather than each other.
"""

from __future__ import annotations

from django.contrib.admin.utils import quote
from django.urls import reverse

from ...models import Batch
from ...permissions import policy_for, user_can


def batch_url(batch_or_pk, view_name: str = "detail") -> str:
    pk = getattr(batch_or_pk, "pk", batch_or_pk)
    return reverse(f"wagtail_batchcomms_batch:{view_name}", args=[quote(pk)])


def batches_url() -> str:
    """The Batch Communications listing."""
    return reverse("wagtail_batchcomms_batch:index")


def batch_landing_url(user, batch) -> str:
    """Where to go after making or filling ``batch``: its page, or back to the Assemblies
    listing for a user who may start batches but not open them (add_batch alone)."""
    if user_can(user, "view", batch):
        return batch_url(batch)
    return reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")


def batch_policy():
    return policy_for(Batch)

"""django-q2 entry points. They take primary keys, call a service and hold no business rules.

Every task is idempotent: django-q2's ORM broker can deliver a task twice, and a worker can
die half way. The services they call are written so that running them again is harmless.
"""

from __future__ import annotations

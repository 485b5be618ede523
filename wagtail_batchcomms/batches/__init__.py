"""Batches: a batch communication's lifecycle.

Use cases (create, add assemblies, generate, complete, archive, clone, delete) in
``lifecycle``; the state machine's guard in ``transitions``; which actions a user may take now in
``availability``; closing out without losing the record in ``closing``; generating the notices
(``generation``) as set-based SQL (``generation_sql``).
"""

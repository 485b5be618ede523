"""Batches: a batch communication's lifecycle.

Use cases (create, add assemblies, generate, complete, archive, clone, delete) in
``lifecycle``; the state machine's guard in ``transitions``; the batch actions (key, label,
permission, availability, use case, confirm page, history id) in the registry ``actions``,
their checks in ``availability`` and what their confirm pages show in ``confirmations``;
closing out without losing the record in ``closing``; generating the notices (``generation``)
as set-based SQL (``generation_sql``).
"""

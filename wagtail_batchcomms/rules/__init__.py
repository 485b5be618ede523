"""Automatic notices: Communication Types applied by the daily run.

Owns which assemblies a type newly applies to (trigger, scope, escalation), the claims that make
each notice happen at most once per assembly, type and due cycle, the run itself (catch-up,
resume after a crash) and its preview. Delivery is the batch's: each run makes one batch per
type and hands it to ``batches`` generation, ``emails`` sending and ``letters``.
"""

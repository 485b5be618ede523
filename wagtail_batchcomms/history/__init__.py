"""The record in Wagtail's history: every log action id of the package and its formatter.

``batches`` holds the batch actions' formatters, ``letters`` the letter downloads'; ``ids``
the action ids that more than one capability writes or reads.
"""

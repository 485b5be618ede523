"""Sending a batch's emails exactly once: the use cases (start, the send task's body, retry:
``sending``), claiming rows and the send loop (``send_loop``), building one message
(``compose``), handing it to the mail server or provider and classifying the answer (one
transport per kind of backend: ``transports``) on a thread of its own (``pipeline``), what
providers report afterwards (``tracking``: delivered, bounced; a hard bounce flags the
contact's email) and how far sending has got (``progress``).

Imports run one way: ``sending`` -> ``send_loop`` -> ``compose``, ``pipeline`` ->
``transports``; ``progress`` stands alone. Below emails: ``letters`` (a notice's PDF
attachment), ``notices`` (rendering), the shared modules and the models.
"""

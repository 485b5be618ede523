"""Sending a batch's emails exactly once: the use cases (start, the send task's body, retry:
``sending``), claiming rows and the send loop (``send_loop``), building one message
(``compose``), handing it to the mail server and classifying the answer (``transport``) on a
thread of its own (``pipeline``), and how far sending has got (``progress``).

Imports run one way: ``sending`` -> ``send_loop`` -> ``compose``, ``pipeline`` ->
``transport``; ``progress`` stands alone. Below emails: ``letters`` (a notice's PDF
attachment), ``notices`` (rendering), the shared modules and the models.
"""

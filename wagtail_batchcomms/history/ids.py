"""Log action ids (``wagtail.log_actions``) that more than one capability writes or reads.

The strings are the record in every host's database: never change their values.
"""

from __future__ import annotations

# Sending emails (``emails``); the batch page reads the first two (``emails.progress``).
LOG_SEND = "wagtail_batchcomms.send"
LOG_SEND_STOPPED = "wagtail_batchcomms.send_stopped"
LOG_RETRY = "wagtail_batchcomms.send_retry"
LOG_DELIVERY_UNKNOWN = "wagtail_batchcomms.delivery_unknown"
# Generated -> Partially sent: by the first email sent (``emails``) or the first letters
# marked mailed (``letters``).
LOG_PARTIALLY_SENT = "wagtail_batchcomms.partially_sent"

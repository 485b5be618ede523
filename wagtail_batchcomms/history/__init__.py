"""The record in Wagtail's history: every log action id the package writes, declared once.

Capabilities write entries with ``wagtail.log_actions.log(instance, history.<ID>, ...)`` and
read them back by the same names; the formatters that turn an entry into a label and a
sentence are beside them, one module per capability that writes them (``batches``,
``emails``, ``letters``, ``logs``), and ``FORMATTERS`` (in ``formatters``) maps every id to its
formatter for the ``register_log_actions`` hook.

The ids' string values are stored in the host's database with every entry: never change one.
This package imports no capability (labels its formatters share with one live here, as
``kept_labels``), so any capability can import it.
"""

from __future__ import annotations

PREFIX = "wagtail_batchcomms"

# --- a batch's lifecycle (batches/) ---
CREATE = f"{PREFIX}.create"
ADD_ASSEMBLIES = f"{PREFIX}.add_assemblies"
GENERATE = f"{PREFIX}.generate"
REGENERATE = f"{PREFIX}.regenerate"
GENERATED = f"{PREFIX}.generated"
GENERATION_FAILED = f"{PREFIX}.generation_failed"
RESUME_GENERATION = f"{PREFIX}.resume_generation"
COMPLETE = f"{PREFIX}.complete"
ARCHIVE = f"{PREFIX}.archive"
CLONE = f"{PREFIX}.clone"
CLONED = f"{PREFIX}.cloned"
#: Wagtail's own ids (and formatters): editing and deleting an Open batch are recorded as
#: Wagtail records any edit (its generic edit view writes it) and deletion.
EDIT = "wagtail.edit"
DELETE = "wagtail.delete"

# --- sending emails (emails/) ---
SEND = f"{PREFIX}.send"
SEND_RETRY = f"{PREFIX}.send_retry"
PARTIALLY_SENT = f"{PREFIX}.partially_sent"
SEND_STOPPED = f"{PREFIX}.send_stopped"
DELIVERY_UNKNOWN = f"{PREFIX}.delivery_unknown"

# --- what providers report after sending (emails/tracking.py) ---
#: On the communication: a provider reported a bounce, complaint, rejection or failure.
DELIVERY_EVENT = f"{PREFIX}.delivery_event"
#: On the contact: its email bounced for good; generation no longer emails it.
EMAIL_FLAGGED = f"{PREFIX}.email_flagged"
EMAIL_FLAG_CLEARED = f"{PREFIX}.email_flag_cleared"

# --- letters (letters/, views.batches.downloads) ---
LETTERS_REQUESTED = f"{PREFIX}.letters_requested"
LETTERS_READY = f"{PREFIX}.letters_ready"
LETTERS_FAILED = f"{PREFIX}.letters_failed"
LETTERS_MAILED = f"{PREFIX}.letters_mailed"
LETTERS_EXPIRED = f"{PREFIX}.letters_expired"
LETTERS_DOWNLOADED = f"{PREFIX}.letters_downloaded"

# --- automatic notices (rules/) ---
#: On a batch the daily run made: which run (date) and Communication Type made it.
AUTOMATIC_RUN = f"{PREFIX}.automatic_run"

# --- automatic notices held for review (batches.review) ---
RELEASE = f"{PREFIX}.release"

# --- returned mail (letters/returned.py) ---
LETTERS_RETURNED = f"{PREFIX}.letters_returned"
ADDRESS_FLAGGED = f"{PREFIX}.address_flagged"
ADDRESS_FLAG_CLEARED = f"{PREFIX}.address_flag_cleared"
# --- one-time communications (logs/, emails.sending for their email) ---
LOG_RECORDED = f"{PREFIX}.log_recorded"
ONE_TIME_OUTCOME = f"{PREFIX}.one_time_outcome"
LOG_LETTER_MADE = f"{PREFIX}.log_letter_made"
LOG_LETTER_MAILED = f"{PREFIX}.log_letter_mailed"
# --- importing the register (imports/) ---
IMPORT_UPLOADED = f"{PREFIX}.import_uploaded"
IMPORT_CHECKED = f"{PREFIX}.import_checked"
IMPORT_DONE = f"{PREFIX}.import_done"
IMPORT_FAILED = f"{PREFIX}.import_failed"
#: A run whose task was lost or whose worker stopped, queued again by the housekeeping.
IMPORT_REQUEUED = f"{PREFIX}.import_requeued"
# --- listing exports written in the background (exports/) ---
EXPORT_REQUESTED = f"{PREFIX}.export_requested"
EXPORT_READY = f"{PREFIX}.export_ready"
EXPORT_FAILED = f"{PREFIX}.export_failed"
EXPORT_DOWNLOADED = f"{PREFIX}.export_downloaded"
EXPORT_EXPIRED = f"{PREFIX}.export_expired"

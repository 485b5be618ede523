"""Create Log: one-time communications an admin records with one contact (a phone call, a site
visit, a note, or an email or letter made now through the same sender and letter pipeline).

``recording`` is the use case (``record_log``: one Communication without a batch, its message
rendered once and kept on the row, a double submit recorded once; retrying its email,
marking its letter mailed); ``recipients`` says who a log can go to and where (the
contacts of a location, the address a letter goes to); ``letters`` makes a one-time
letter's PDF in a task and keeps it in the private letter storage. Its email is sent by
``emails.sending`` (``release_one_time_email``, ``send_one_time_email``): the batches' claim
and send loop, run for one row.
"""

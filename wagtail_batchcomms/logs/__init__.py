"""Create Log: one-time communications an admin records with one contact (a phone call, a site
visit, a note, or an email or letter made now through the same sender and letter pipeline)."""

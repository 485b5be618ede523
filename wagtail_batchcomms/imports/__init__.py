"""Importing the register from CSV or XLSX: read (``reading``), map the file's columns to ours
(``columns``), parse and check each row (``parsing``), plan created / updated / unchanged /
error per row against the register without writing (``planning``: the dry run), keep that plan
with the run (``stored``, which also removes a run's files), then write exactly that plan in
set-based raw SQL (``applying`` through ``sql``) once the register's records it read are
unchanged; ``runs`` holds the use cases the views and tasks call, and ``recovery`` queues
again a run whose task was lost or whose worker died (each task claims its run and beats a
heartbeat).

Natural keys (``planning``): a location by its account number; an assembly by (manufacturer,
serial number); a contact by its email when the row has one, else by (name, mailing address
line 1, mailing postal code), compared without case or repeated spaces (name and postal code
alone would merge two owners of one name in one town); a service area by its code or its
name, never created (an unknown one is a row error). An empty cell leaves the current value
as it is (and takes the model's default on a new record): an import never blanks what the
register holds.
"""

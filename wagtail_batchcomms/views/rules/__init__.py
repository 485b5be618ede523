"""The automatic notices' admin screens: Communication Types, their preview, the runs, the
batches awaiting review and the letters to print."""

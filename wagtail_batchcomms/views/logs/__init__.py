"""Create Log's screens: the form started from an assembly, location or contact page, and
the actions on a one-time communication's page (retry its email, download or mark its
letter)."""

"""Signal handlers, connected when the app is ready."""

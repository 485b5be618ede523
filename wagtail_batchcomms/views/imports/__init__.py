"""Register imports in the admin: the listing, upload, column mapping, the dry run's page
with its progress, the import, the errors file and the template file."""

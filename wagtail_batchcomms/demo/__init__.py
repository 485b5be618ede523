"""The demo: an optional Django app that fills a site with Riverbend Water's demo data.

It owns the demo register's plan (``plan``, ``words``), the seeding (``seeding``), the demo
groups, logins, letterhead and notice templates (``accounts``) and the ``seed_demo`` command.
No models, no migrations. A host adds ``"wagtail_batchcomms.demo"`` to ``INSTALLED_APPS`` only
to try the product, runs ``manage.py seed_demo`` (``--create-logins`` only on a development
site with ``DEBUG`` on), and removes the app again; the seeded rows stay ordinary data.
Nothing else in ``wagtail_batchcomms`` imports this package.
"""

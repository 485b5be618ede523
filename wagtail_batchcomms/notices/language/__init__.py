"""The template language of notices: Jinja2 in a sandbox, bounded, checked by place.

Its own package because it is one thing in seven modules, imported in one direction:
``limits`` (the budget of one notice's render, value sizes, the checked operations) <-
``filters`` (the whitelisted filters and tests, each checked) <- ``sandbox`` (the environment:
what a template can reach) <- ``compiler`` (forbidden constructs, the guards put into the
tree, ``compile_template`` and ``render``) <- ``field_check`` (names against the merge-field
catalogue) <- ``validation`` (every problem of a template by place, and the trial render);
``rich_text`` turns a paragraph's rich text into source and cleans what it renders to. The
rest of ``notices`` (merge data, rendering, previews) renders through ``compiler.render``.
"""

"""Notice templates: what editors write and how it becomes each recipient's email and letter.

- ``language/``: the template language, Jinja2 in a bounded sandbox, with validation by place
  and a trial render (see its docstring);
- ``merge_fields``: the merge-field catalogue, declared once; ``merge_data``: the plain data
  built from the register and a batch;
- ``rendering``: a notice's email and letter for each communication, from the batch's pinned
  revision; ``email_html`` (inlined styles, the text part) and ``letter_html`` (the print
  document of a chunk of letters) are its two media;
- ``previews``: the email and the letter for editors, over a sample location;
- ``copies``: CC/BCC copies and the domains they may go to; ``usage``: which templates a batch
  may pick and which batches block a template's deletion.

Imports run one way: merge_fields <- merge_data <- language <- email_html | letter_html |
copies | usage <- rendering <- previews. ``RenderError`` is in ``wagtail_batchcomms.exceptions``.
"""

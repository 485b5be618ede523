"""Notice templates: the Jinja2 sandbox they render in (``sandbox``) and its limits
(``limits``), validation by place (``validation``) and trial render (``trial``), the merge-field
catalogue (``merge_fields``) and the merge data built from the register (``merge_data``),
rendering notices (``rendering``) and the email HTML/text (``email_html``), previews for
editors (``previews``), CC/BCC copies (``copies``) and what blocks a template's deletion
(``deletion``).
"""

"""Letters: the download lifecycle an admin drives (request, progress, mark mailed, purge,
recover: ``downloads``), the workers' chunks (claim, render, merge: ``chunks``), laying out
letters into one PDF (``rendering``) and WeasyPrint with a URL fetcher that reads only our
files (``pdf``). The HTML document of the letters is ``notices.letter_html``.

Imports run one way: ``chunks`` -> ``rendering`` -> ``pdf``, and ``chunks`` -> ``downloads``;
letters import ``notices`` (the letters' HTML) and the shared modules, never ``emails`` or
``batches``.
"""

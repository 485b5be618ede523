"""Letters: the download lifecycle an admin drives (request, progress, mark mailed, purge,
recover: ``downloads``), the workers' chunks (``chunks``) and WeasyPrint with a URL fetcher
that reads only our files (``pdf``). The HTML document of a chunk is ``notices.letter_html``.
"""

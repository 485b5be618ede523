"""Letters: the download lifecycle an admin drives (request, progress, mark mailed, purge,
recover: ``downloads``), the workers' chunks (``chunks``), the HTML document of a chunk
(``document``) and WeasyPrint with a URL fetcher that reads only our files (``pdf``).

Imports run one way: ``chunks`` -> ``downloads``, ``pdf``; letters import ``notices`` (the
letters' HTML) and the shared modules, never ``emails`` or ``batches``.
"""

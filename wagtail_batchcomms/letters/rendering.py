"""Laying out letters and writing their PDF: the one place that turns a list of letters into
pages. The letter workers' chunks (``chunks``) and the emails that attach their letter
(``emails.send_loop``) both render through ``render_letters``.

Letters are laid out in small groups (``RENDER_GROUP`` letters per WeasyPrint document, since
every letter brings its own @page rules and WeasyPrint matches each page against all of a
document's rules), and the groups' pages are combined with ``Document.copy`` into one PDF with
the fonts embedded once.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..models import Communication
from ..notices.rendering import letters_html

#: Letters per WeasyPrint document inside a chunk (see the module docstring); measured with
#: bench/letters.py.
RENDER_GROUP = 25
#: Allocations between two runs of Python's youngest-generation garbage collection while a
#: chunk renders or merges (default 700; see ``few_collections``).
GC_THRESHOLD = 100_000


@contextmanager
def few_collections() -> Iterator[None]:
    """Let Python's cyclic garbage collector run rarely, then collect once at the end.

    Laying out pages (and merging PDFs) allocates millions of small, long-lived objects; with
    the default thresholds the collector runs thousands of times per chunk and scans them
    again each time, a large share of the CPU (bench/letters.py measures it). Used by the
    worker tasks only: the thresholds are per process, and a task runs alone in its worker
    process.
    """
    previous = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.collect()


def render_letters(
    communications: list[Communication],
    target,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Render ``communications`` as letters into one PDF at ``target``; return its pages.

    ``progress`` is called with the letters laid out so far after each render group.
    """
    # WeasyPrint takes about two seconds to import: only a process that renders letters
    # loads it (not every web process, nor an email worker without PDF attachments).
    from . import pdf

    documents = []
    images: dict = {}  # decoded images (the letterhead's logo), shared by the groups
    for start in range(0, len(communications), RENDER_GROUP):
        group = communications[start : start + RENDER_GROUP]
        documents.append(pdf.render_pdf(letters_html(group), cache=images))
        if progress is not None:
            progress(start + len(group))
    pages = [page for document in documents for page in document.pages]
    pdf.write_pdf(documents[0].copy(pages), target)
    return len(pages)

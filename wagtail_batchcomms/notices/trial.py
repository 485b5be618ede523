"""The trial render of a notice template: what the syntax check cannot see.

``{% for i in range(10**9) %}`` or ``{{ 'x' * 10**9 }}`` parse and name only known fields, yet
every notice made from them would fail at render, over the sandbox's budget. So validation
also renders the subject and the paragraphs once, in order and under one notice's budget
(``templating.render_budget``, the very limits every notice gets), over the built-in sample
data, and reports the first part that cannot render, named like the other problems.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from jinja2 import TemplateError

from .merge_data import organisation_data
from .merge_fields import builtin_sample
from .sandbox import render, render_budget
from .validation import Problem, template_parts


def sample_data(template) -> dict:
    """The built-in sample (no database), shaped by the template's grouping like a notice."""
    data = builtin_sample(timezone.localdate())
    if getattr(template, "grouping", None) == "assembly":
        data["assemblies"] = data["assemblies"][:1]
    data["organisation"] = organisation_data({})
    return data


def trial_render_problem(template) -> Problem | None:
    """The first part of ``template`` that cannot render over the sample data, or None.

    Call it only on a template without syntax or merge field problems (``template_problems``
    does): every part must compile.
    """
    data = sample_data(template)
    with render_budget():
        for part in template_parts(template):
            try:
                render(part.source, data, html=part.html)
            except (TemplateError, RecursionError) as error:
                reason = getattr(error, "message", None) or str(error) or type(error).__name__
                message = _("the notice could not be rendered: %(error)s") % {"error": reason}
                return Problem(part.field, part.block_index, part.place, None, message)
    return None

"""Validation of notice templates: every problem of a template, named by its place.

A template's parts (the subject and each paragraph, ``template_parts``) are checked one by one
(``validate_source``): syntax, forbidden constructs (``compiler``) and unknown merge fields
(``field_check``). Without such problems the template is also rendered once as a trial (below):
``{% for i in range(10**9) %}`` or ``{{ 'x' * 10**9 }}`` parse and name only known fields, yet
every notice made from them would fail at render, over the sandbox's budget. So the subject and
the paragraphs are rendered in order under one notice's budget (``limits.render_budget``, the
very limits every notice gets) over the built-in sample data, and the first part that cannot
render is reported like the other problems.

``template_validation_errors`` gives them as form errors for ``NoticeTemplate.clean()``, which
refuses to save a template (a draft too) with any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from jinja2 import TemplateError, TemplateSyntaxError
from jinja2.sandbox import SecurityError
from wagtail.blocks.stream_block import StreamBlockValidationError

from ..merge_data import organisation_data
from ..merge_fields import builtin_sample
from .compiler import compile_template, forbidden_constructs, render
from .field_check import FieldChecker
from .limits import render_budget
from .rich_text import paragraph_source
from .sandbox import get_environment


@dataclass(frozen=True)
class Problem:
    """One problem: ``field`` is the model field, ``block_index`` the body block (or None)."""

    field: str
    block_index: int | None
    place: str
    line: int | None
    message: str

    @property
    def full(self) -> str:
        return f"{self.place}: {self.message}"

    @property
    def short(self) -> str:
        if self.line is None:
            return self.message
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


@dataclass(frozen=True)
class TemplatePart:
    """One part of a notice template that renders on its own: the subject or a paragraph."""

    field: str  # "subject" or "body"
    block_index: int | None  # the paragraph's index in the body
    place: str  # "Subject", "Body, paragraph 2": how problems name it
    source: str  # Jinja source (a paragraph's rich text prepared by ``prepare_rich_text``)
    html: bool


def template_parts(template) -> list[TemplatePart]:
    """The subject and the body's paragraphs of a ``NoticeTemplate``, in order."""
    parts = [TemplatePart("subject", None, _("Subject"), template.subject or "", html=False)]
    paragraph = 0
    for index, block in enumerate(template.body or []):
        if block.block_type != "paragraph":
            continue
        paragraph += 1
        place = _("Body, paragraph %(n)s") % {"n": paragraph}
        parts.append(TemplatePart("body", index, place, paragraph_source(block.value), html=True))
    return parts


def validate_source(source: str, *, html: bool) -> list[tuple[int | None, str]]:
    """Problems of one template part as (line, message), in line order; [] when it is fine."""
    if not source:
        return []
    environment = get_environment(html)
    try:
        ast = environment.parse(source)
    except TemplateSyntaxError as error:
        return [(error.lineno, _syntax_message(error))]
    except RecursionError:
        return [(None, _("the template is nested too deeply"))]
    problems = forbidden_constructs(ast) + FieldChecker(environment).check(ast)
    if not problems:
        try:
            compile_template(source, html=html)
        except TemplateSyntaxError as error:
            problems.append((error.lineno, _syntax_message(error)))
        except SecurityError as error:
            problems.append((None, str(error)))
    seen: set[tuple[Any, str]] = set()
    unique = []
    for problem in sorted(problems, key=lambda p: p[0] or 0):
        if problem not in seen:
            seen.add(problem)
            unique.append(problem)
    return unique


def _syntax_message(error: TemplateSyntaxError) -> str:
    message = _("syntax error: %(message)s") % {"message": error.message}
    if "looking for the following tags" in (error.message or ""):
        message += " " + _("(a loop or condition must end in the same paragraph block)")
    return message


def template_problems(template) -> list[Problem]:
    """Every problem of a ``NoticeTemplate``'s subject and paragraph blocks, in order.

    Without syntax or merge field problems, the template is also rendered once over the
    built-in sample under a notice's budget (``trial_render_problem``): a template that would fail
    every notice (a runaway loop, a huge string) is refused here, not at sending."""
    problems = []
    for part in template_parts(template):
        for line, message in validate_source(part.source, html=part.html):
            if part.field == "subject":  # one line: its line number would say nothing
                problems.append(Problem(part.field, None, part.place, None, message))
                continue
            place = part.place
            if line is not None:
                place = _("%(place)s, line %(line)s") % {"place": place, "line": line}
            problems.append(Problem(part.field, part.block_index, place, line, message))
    if not problems:
        problem = trial_render_problem(template)
        if problem is not None:
            problems.append(problem)
    return problems


def template_errors(template) -> dict[str, list[str]]:
    """``{field: [message naming the place, ...]}`` for ``template``; empty when valid."""
    errors: dict[str, list[str]] = {}
    for problem in template_problems(template):
        errors.setdefault(problem.field, []).append(problem.full)
    return errors


def template_validation_errors(template) -> dict[str, list[ValidationError]]:
    """Like ``template_errors``, as ``ValidationError``s for ``NoticeTemplate.clean()``.

    The body's error is a ``StreamBlockValidationError``: the full messages show at the top of
    the body and each paragraph with a problem is marked in the editor.
    """
    problems = template_problems(template)
    errors: dict[str, list[ValidationError]] = {}
    subject = [ValidationError(p.full, code="template") for p in problems if p.field == "subject"]
    if subject:
        errors["subject"] = subject
    body = [p for p in problems if p.field == "body"]
    if body:
        per_block: dict[int, list[str]] = {}
        for problem in body:
            per_block.setdefault(problem.block_index, []).append(problem.short)
        error = StreamBlockValidationError(
            block_errors={i: ValidationError(msgs) for i, msgs in per_block.items()},
            non_block_errors=[ValidationError(p.full, code="template") for p in body],
        )
        # Its own message is a fixed "Validation error in StreamBlock"; say what is wrong, for
        # anything that shows the error outside the StreamField widget (logs, API, tests).
        error.message = "; ".join(p.full for p in body)
        error.code = "template"
        errors["body"] = [error]
    return errors


# --- the trial render ---------------------------------------------------------------------


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

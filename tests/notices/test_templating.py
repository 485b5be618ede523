"""The Jinja2 sandbox of notice templates: rendering, limits, escapes refused, validation."""

from __future__ import annotations

import datetime
import time

import factories
import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from jinja2 import TemplateError
from jinja2.sandbox import SecurityError

from wagtail_batchcomms.models import NoticeTemplate
from wagtail_batchcomms.notices.language.compiler import render
from wagtail_batchcomms.notices.language.limits import TemplateLimitError, render_budget
from wagtail_batchcomms.notices.language.rich_text import prepare_rich_text
from wagtail_batchcomms.notices.language.validation import template_errors, validate_source
from wagtail_batchcomms.notices.merge_fields import (
    CATALOGUE,
    MERGE_FIELDS,
    builtin_sample,
    catalogue_rows,
)
from wagtail_batchcomms.notices.usage import live_templates

TODAY = datetime.date(2025, 3, 3)


@pytest.fixture
def data():
    return builtin_sample(TODAY)


def test_merge_fields_render(data):
    out = render(
        "{{ contact.name }} / {{ location.account_number }} / {{ batch.due_date }} / "
        "{{ batch.due_date|date('j F Y') }} / {{ today }} / {{ assembly.serial_number }}",
        data,
        html=True,
    )
    assert out == (
        "Dana Whitfield / ACC-004521 / May 2, 2025 / 2 May 2025 / March 3, 2025 / 4521-RP-0087"
    )


def test_loop_over_assemblies(data):
    out = render(
        "{% for a in assemblies %}{{ loop.index }}. {{ a.serial_number }} ({{ a.type }}) "
        "due {{ a.next_test_due }}; {% endfor %}",
        data,
        html=True,
    )
    assert out == (
        "1. 4521-RP-0087 (RP) due March 28, 2025; 2. 4521-DC-0112 (DC) due February 16, 2025; "
    )


def test_html_parts_escape_and_subject_does_not(data):
    data["contact"]["name"] = "<script>alert(1)</script> & Co"
    assert render("{{ contact.name }}", data, html=True) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"
    )
    assert render("{{ contact.name }}", data, html=False) == "<script>alert(1)</script> & Co"


def test_none_prints_empty_and_unknown_key_fails_at_render(data):
    data["assembly"]["last_tested_on"] = None
    assert render("[{{ assembly.last_tested_on }}]", data, html=True) == "[]"
    with pytest.raises(TemplateError):
        render("{{ contact.nmae }}", data, html=True)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__ }}",
        "{{ namespace }}",
        "{{ self }}",
        "{{ self.__dict__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ range.__globals__ }}",
        "{{ contact._foo }}",
        "{{ contact['__class__'] }}",
        "{{ contact.name.mro }}",
        "{{ ''.mro() }}",
        "{{ contact.name.format }}",
        "{{ '{0.__class__}'.format(contact) }}",
        "{{ '{0:>999999999}'.format(1) }}",
        "{{ '%s' % contact }}",
        "{{ contact|attr('__class__') }}",
        "{{ contact.name|safe }}",
        "{% autoescape false %}{{ contact.name }}{% endautoescape %}",
        "{% include 'x.html' %}",
        "{% import 'x.html' as x %}",
        "{% extends 'x.html' %}",
        "{{ contact.items.__self__ }}",
        "{{ assemblies.append(1) }}",
        "{{ contact.update({'name': 'x'}) }}",
        "{{ today.strftime('%Y') }}",
        "{{ loop.__class__ }}",
        "{% for a in assemblies recursive %}{{ loop(a) }}{% endfor %}",
    ],
)
def test_sandbox_escapes_are_refused(source, data):
    with pytest.raises((SecurityError, TemplateError)):
        render(source, data, html=True)
    # ... and validation refuses them before anything is saved.
    assert validate_source(source, html=True)


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(10**9) %}x{% endfor %}",
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        "{% for c in 'x' * 150000 %}{% endfor %}",
        "{{ 'x' * 10**9 }}",
        "{{ [1] * 10**9 }}",
        "{{ 7 ** 999999 }}",
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
        "{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('x' * 1000) }}",
        "{{ range(5000)|join('x' * 100000) }}",
        "{{ ('ab' * 1000)|replace('', 'x' * 100000) }}",
        "{% for i in range(5000) %}{{ 'y' * 1000 }}{% endfor %}",
    ],
)
def test_runaway_templates_are_stopped_quickly(source, data):
    # CPU time, not wall time: what the template costs, whatever else the machine is doing.
    started = time.process_time()
    with pytest.raises(TemplateLimitError):
        render(source, data, html=True)
    assert time.process_time() - started < 2


@override_settings(WAGTAIL_BATCHCOMMS={"MAX_LOOP_ITERATIONS": 5})
def test_loop_limit_follows_the_setting(data):
    assert render("{% for i in range(5) %}{{ i }}{% endfor %}", data, html=True) == "01234"
    with pytest.raises(TemplateLimitError):
        render(
            "{% for i in range(3) %}{% for j in range(2) %}{% endfor %}{% endfor %}",
            data,
            html=True,
        )


def test_budget_is_shared_by_a_notices_parts(data):
    source = "{% for i in range(6000) %}{% endfor %}"
    render(source, data, html=True)  # each render alone is within the budget
    with render_budget(), pytest.raises(TemplateLimitError):
        render(source, data, html=True)
        render(source, data, html=True)


def test_rich_text_entities_and_markup_inside_merge_fields(data):
    source = (
        '<p data-block-key="a1">Due {{ batch.due_date|date(&quot;j F&quot;) }}, '
        "dear {{ <b>contact.name</b> }}{{&nbsp;contact.role&nbsp;}}</p>"
        "<p>{% if assemblies|length &gt; 1 %}several{% endif %}</p>"
    )
    out = render(prepare_rich_text(source), data, html=True)
    assert "Due 2 May, dear Dana WhitfieldOwner</p>" in out
    assert "<p>several</p>" in out


# --- validation ----------------------------------------------------------------------------


def _template(subject="Test due {{ batch.due_date }}", body=None) -> NoticeTemplate:
    return NoticeTemplate(
        name="Validation",
        subject=subject,
        body=body or [("paragraph", "<p>Dear {{ contact.name }},</p>")],
        contact_roles=["owner"],
    )


def test_valid_template_has_no_errors():
    body = [
        (
            "paragraph",
            "<p>Dear {{ contact.name }}{% if contact.organisation %}, "
            "{{ contact.organisation }}{% endif %},</p>",
        ),
        ("assemblies_table", {"heading": "Your assemblies", "columns": ["serial_number"]}),
        (
            "paragraph",
            "<ul><li>{% for a in assemblies %}{{ a.serial_number }} "
            "{{ a.next_test_due|date(&quot;M j&quot;) }}{% endfor %}</li></ul>"
            "<p>{{ organisation.phone }} {{ today }} {{ assembly.placement }}</p>",
        ),
        ("signature", {"closing": "Sincerely,", "use_letterhead": True}),
    ]
    assert template_errors(_template(body=body)) == {}


def test_unknown_field_is_named_with_its_place():
    body = [
        ("paragraph", "<p>Hello {{ contact.name }}</p>"),
        ("assemblies_table", {"heading": "", "columns": ["serial_number"]}),
        ("paragraph", "<p>Dear {{ contact.nmae }},</p>"),
    ]
    errors = template_errors(_template(body=body))
    assert errors == {
        "body": [
            "Body, paragraph 2, line 1: unknown merge field 'contact.nmae' "
            "(did you mean 'contact.name'?)"
        ]
    }


def test_syntax_error_is_named_with_its_place_and_line():
    body = [("paragraph", "<p>First line</p><p>Second {{ contact.name </p>")]
    errors = template_errors(_template(subject="Due {% if %}", body=body))
    assert errors["subject"][0].startswith("Subject: syntax error:")
    assert errors["body"][0].startswith("Body, paragraph 1, line 2: syntax error:")


def test_loop_variables_know_their_items_fields():
    assert (
        validate_source(
            "{% for a in assemblies %}{{ a.serial_number }}{{ a.hazard }}{% endfor %}", html=True
        )
        == []
    )
    problems = validate_source("{% for a in assemblies %}{{ a.serial }}{% endfor %}", html=True)
    assert problems == [(1, "unknown merge field 'a.serial' (did you mean 'a.serial_number'?)")]
    problems = validate_source("{{ a.serial_number }}", html=True)
    assert problems == [(1, "unknown merge field 'a'")]
    problems = validate_source("{{ assemblies.serial_number }}", html=True)
    assert "'assemblies' is a list" in problems[0][1]


def test_unknown_filter_and_unclosed_loop():
    assert validate_source("{{ contact.name|shout }}", html=True) == [(1, "unknown filter 'shout'")]
    ((_line, message),) = validate_source("{% for a in assemblies %}{{ a.type }}", html=True)
    assert "same paragraph block" in message


def test_date_format_is_checked():
    assert validate_source('{{ today|date("j F Y") }}', html=True) == []
    ((_line, message),) = validate_source('{{ today|date("H:i") }}', html=True)
    assert message.startswith("invalid date format:")


def test_catalogue_lists_every_field_the_data_has():
    data = builtin_sample(TODAY)
    for field in MERGE_FIELDS:
        if field.name == "organisation":
            continue  # added from the letterhead by rendering
        assert field.name in data
        if field.fields and field.kind == "object":
            assert set(data[field.name]) == set(field.child_names), field.name
    assert set(data["assemblies"][0]) == set(CATALOGUE.child("assemblies").child_names)
    codes = [row["code"] for row in catalogue_rows()]
    assert "{{ contact.name }}" in codes and "{{ a.serial_number }}" in codes


@pytest.mark.django_db
def test_saving_a_template_with_an_error_is_refused():
    template = factories.notice_template()
    template.body = [("paragraph", "<p>Dear {{ contact.nmae }}</p>")]
    with pytest.raises(ValidationError) as raised:
        template.full_clean()
    assert "body" in raised.value.error_dict
    assert "Body, paragraph 1, line 1: unknown merge field 'contact.nmae'" in str(raised.value)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{% for i in range(10**9) %}x{% endfor %}", "range() may give at most 10000 numbers."),
        ("{{ 'x' * 10**9 }}", "The template builds a text longer than 200000 characters."),
        (
            "{% for i in range(9) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
            "The template repeats more than 10000 times; a notice may loop at most that.",
        ),
        ("{% for i in range(5000) %}{{ 'y' * 1000 }}{% endfor %}", "longer than 200000"),
        ("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
        ("{{ contact.name + 1 }}", "TypeError: "),
        ("{{ (assemblies|first).serial_number[99] }}", "UndefinedError"),
    ],
)
def test_a_template_that_cannot_render_is_refused_with_its_place(source, reason):
    """Valid syntax and known fields, yet every notice would fail at render: validation
    renders it once over the built-in sample, under a notice's budget, and names the place."""
    body = [
        ("paragraph", "<p>Dear {{ contact.name }},</p>"),
        ("assemblies_table", {"heading": "", "columns": ["serial_number"]}),
        ("paragraph", f"<p>{source}</p>"),
    ]
    started = time.process_time()
    errors = template_errors(_template(body=body))
    assert time.process_time() - started < 2
    [message] = errors["body"]
    assert message.startswith("Body, paragraph 2: the notice could not be rendered: "), message
    if reason != "UndefinedError":
        assert reason in message, message
    assert list(errors) == ["body"]


def test_the_subject_is_trial_rendered_too_and_shares_the_budget():
    errors = template_errors(_template(subject="{{ 'x' * 10**9 }}"))
    assert errors == {
        "subject": [
            "Subject: the notice could not be rendered: The template builds a text longer "
            "than 200000 characters."
        ]
    }
    # Each part alone is within the budget; the notice as a whole is not.
    loop = "<p>{% for i in range(6000) %}{% endfor %}</p>"
    errors = template_errors(_template(body=[("paragraph", loop), ("paragraph", loop)]))
    assert errors["body"][0].startswith("Body, paragraph 2: the notice could not be rendered:")
    assert template_errors(_template(body=[("paragraph", loop)])) == {}


def test_the_trial_render_follows_the_limits_setting():
    source = "<p>{% for i in range(20) %}{{ i }}{% endfor %}</p>"
    assert template_errors(_template(body=[("paragraph", source)])) == {}
    with override_settings(WAGTAIL_BATCHCOMMS={"MAX_LOOP_ITERATIONS": 10}):
        errors = template_errors(_template(body=[("paragraph", source)]))
    assert "range() may give at most 10 numbers." in errors["body"][0]


@pytest.mark.django_db
def test_saving_or_publishing_a_runaway_template_is_refused():
    template = factories.notice_template()
    revision = template.live_revision_id
    template.body = [("paragraph", "<p>{% for i in range(10**9) %}x{% endfor %}</p>")]
    with pytest.raises(ValidationError) as raised:
        template.save_revision()
    assert (
        "Body, paragraph 1: the notice could not be rendered: range() may give at most "
        "10000 numbers." in str(raised.value)
    )
    template.refresh_from_db()
    assert template.live_revision_id == revision


@pytest.mark.django_db
@pytest.mark.parametrize("publish", [False, True], ids=["draft", "publish"])
def test_the_edit_form_refuses_a_runaway_template_on_its_block(admin_client, publish):
    from django.urls import reverse
    from notice_admin_data import form_data
    from wagtail.models import Revision

    template = factories.notice_template()
    revisions = Revision.objects.for_instance(template).count()
    data = form_data(
        paragraphs=["<p>Hello</p>", "<p>{{ 'x' * 10**9 }}</p>"],
        **({"action-publish": "1"} if publish else {}),
    )
    edit = reverse("wagtailsnippets_wagtail_batchcomms_noticetemplate:edit", args=[template.pk])
    response = admin_client.post(edit, data)
    assert response.status_code == 200
    error = response.context["form"].errors["body"].as_data()[0]
    assert str(error.non_block_errors.as_data()[0].message) == (
        "Body, paragraph 2: the notice could not be rendered: The template builds a text "
        "longer than 200000 characters."
    )
    assert "could not be rendered" in error.block_errors[1].messages[0]
    assert Revision.objects.for_instance(template).count() == revisions


@pytest.mark.django_db
def test_live_templates_are_the_published_ones():
    published = factories.notice_template()
    draft = factories.notice_template(publish=False)
    live = list(live_templates())
    assert published in live and draft not in live


# --- every intermediate value is bounded before it is computed ------------------------------
#
# Each operand is within the limits on its own (an int of 4096 bits, a text, escaped text or
# list just under MAX_RENDERED_LENGTH); an operator or filter that would take the result over
# them is refused with TemplateLimitError, and the ones that cannot grow a value are not.

LIMIT = 200_000  # MAX_RENDERED_LENGTH's default

OPERANDS = {
    "int": "2 ** 4095",
    "float": "1.5e300",
    "str": "'\"<' * 75000",  # 150,000 characters; escaping makes 675,000
    "markup": "('\"<' * 20000)|e",  # 180,000 characters of escaped text
    "list": "['\"<'] * 25000",  # 150,000 characters as text
    "dict": "{'k': '\"<' * 75000}",
}
TEXTY = {"str", "markup", "list", "dict"}  # over the limit when two of them are joined
OPERATORS = ["*", "**", "%", "+", "-", "/", "//", "~"]


def _grows(operator: str, left: str, right: str) -> bool:
    """Whether ``left <operator> right`` of the OPERANDS is over a limit: the expectation,
    from what each operator does with each type."""
    ints = left == right == "int"
    if operator == "~":
        return left in TEXTY and right in TEXTY
    if operator == "+":
        return ints or {left, right} <= {"str", "markup"} or left == right == "list"
    if operator == "*":
        return ints or {left, right} in ({"int", "str"}, {"int", "markup"}, {"int", "list"})
    return ints and operator in ("-", "**")  # 2**4095 - x may need 4097 bits; / is a float


@pytest.mark.parametrize("right", list(OPERANDS))
@pytest.mark.parametrize("left", list(OPERANDS))
@pytest.mark.parametrize("operator", OPERATORS)
def test_every_operator_on_every_type_is_bounded_before_it_computes(operator, left, right, data):
    _assert_refused_exactly_when_over(
        f"{{% set a = {OPERANDS[left]} %}}{{% set b = {OPERANDS[right]} %}}"
        f"{{% set c = a {operator} b %}}",
        _grows(operator, left, right),
        data,
    )


def _assert_refused_exactly_when_over(source: str, over: bool, data: dict) -> None:
    """``source`` (which sets ``c``) is refused if ``over``; else it renders a value within
    the limit, or fails for another reason (a type error such as "a" - 1, text % x)."""
    source += "{{ c|length if c is sequence else 'value' }}"
    if over:
        with pytest.raises(TemplateLimitError):
            render(source, data, html=True)
        return
    try:
        out = render(source, data, html=True)
    except TemplateLimitError:  # pragma: no cover - the assertion's message says which
        pytest.fail(f"{source[:200]} stays within the limits but was refused")
    except TemplateError:
        return
    assert out == "value" or int(out) <= LIMIT


FILTER_CASES = {
    # filter expression: the operand types whose result is over the limit
    "a|upper": TEXTY,  # a case change may triple a text: counted as such
    "a|lower": TEXTY,
    "a|title": TEXTY,
    "a|capitalize": TEXTY,
    "a|e": {"str", "list", "dict"},  # escaped text stays as it is
    "a|escape": {"str", "list", "dict"},
    "a|replace('<', '<<<<<<<<')": {"str", "list", "dict"},
    "a|replace(';', ';;;;;;;;')": {"markup"},  # escaped text has no "<" but many ";"
    "[a, a, a]|join": TEXTY,
    "[a, a, a]|join(a)": TEXTY,
    "a|urlencode": TEXTY,
    "a|list": {"str", "markup"},  # a list of its characters
    "a|round(-1000000000)": set(OPERANDS),  # 10**10**9 inside Python's round()
    "a|round(2, 'ceil')": {"int"},  # 2**4095 * 10**2
    "a|string": set(),
    "a|trim": set(),
    "a|striptags": set(),
    "a|truncate(10**9)": set(),
    "a|reverse": set(),
    "a|sort|first": {"str", "markup"},  # a list of its characters, like list
    "a|unique|first": set(),
    "a|length": set(),
    "a|first": set(),
    "a|int": set(),
    "a|float": set(),
    "a|abs": set(),
    "a|wordcount": set(),
    "a|default(a)": set(),
    "a|sum": set(),
    "a|max": set(),
    "a|map('upper')|first": set(),
    "a|select|first": set(),
    "a.upper()": {"str", "markup"},
    "a.strip()": set(),
}


@pytest.mark.parametrize("operand", list(OPERANDS))
@pytest.mark.parametrize("expression", list(FILTER_CASES))
def test_every_filter_and_method_on_every_type_is_bounded(expression, operand, data):
    _assert_refused_exactly_when_over(
        f"{{% set a = {OPERANDS[operand]} %}}{{% set c = {expression} %}}",
        operand in FILTER_CASES[expression],
        data,
    )


# The spellings and their relatives: each step multiplies the size, so a sandbox that
# computed first and checked afterwards would run for hours or take gigabytes. They must be
# refused on the first step over the limit.
RUNAWAY_GROWTH = [
    "{%set a=10**999%}" + "{%set a=a*a*a*a%}" * 4 + "{{a>1}}",
    '{%set a="x"*200000%}' + "{%set a=a~a~a~a~a~a~a~a~a~a%}" * 4 + "{{a|length}}",
    '{%set a="x"*20000%}' + "{%set a=a+a+a+a+a+a+a+a+a+a%}" * 4 + "{{a|length}}",
    '{%set a=["x"]*20000%}' + "{%set a=a+a+a+a+a+a+a+a+a+a%}" * 4 + "{{a|length}}",
    '{%set a=["x"]*20000%}' + "{%set a=[a,a,a,a,a,a,a,a,a,a]%}" * 8 + "{{a == a[:]}}",
    '{%set a={"k": "x"*20000}%}' + "{%set a={'a': a, 'b': a, 'c': a, 'd': a}%}" * 8 + "{{a}}",
    '{%set a="x"*20000%}' + "{%set a=[a,a,a,a,a,a,a,a,a,a]|join%}" * 4 + "{{a|length}}",
    '{%set a="x"*20000%}' + "{%set a=a|replace('x','xxxxxxxxxx')%}" * 4 + "{{a|length}}",
    '{%set a="x"*20000%}' + "{%set a=(a ~ a ~ a)|upper ~ a%}" * 4 + "{{a|length}}",
    "{%set a=7%}" + "{%set a=a**a%}" * 4 + "{{a}}",
    "{%set a=2**4000%}" + "{%set a=a+a%}" * 200 + "{{a}}",
    "{{ (10**999)|round(-10**9) }}",
    '{% set a = "x" * 100000 %}{% macro m() %}{% for i in range(9000) %}{{ a }}'
    "{% endfor %}{% endmacro %}{% set b = m() %}done",
    '{% set a %}{% for i in range(9000) %}{{ "y" * 100000 }}{% endfor %}{% endset %}done',
    '{% filter upper %}{% for i in range(9000) %}{{ "y" * 100000 }}{% endfor %}{% endfilter %}',
    '{% set a = "x" * 100000 %}{% for i in range(9000) %}{% if a == a ~ "" %}{% endif %}'
    "{% endfor %}done",
    '{% set a = "x" * 100000 %}{% for i in range(9000) %}{% set b = a[1:] %}{% endfor %}done',
]


@pytest.mark.parametrize("source", RUNAWAY_GROWTH)
def test_runaway_growth_is_refused_on_the_first_step_over(source, data):
    with pytest.raises(TemplateLimitError):
        render(source, data, html=True)


def test_runaway_growth_never_holds_the_process(tmp_path):
    """The same templates in a child process with its address space capped a little above
    what it needs to start and a generous time limit: a sandbox that computed before it
    checked would die of MemoryError or run out the clock; this one refuses each quickly."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "runaway.py"
    script.write_text(
        "import datetime, json, resource, sys\n"
        "import django\n"
        "django.setup()\n"
        "from wagtail_batchcomms.notices.merge_fields import builtin_sample\n"
        "from wagtail_batchcomms.notices.language.compiler import render\n"
        "from wagtail_batchcomms.notices.language.limits import TemplateLimitError\n"
        "data = builtin_sample(datetime.date(2025, 3, 3))\n"
        "render('{{ contact.name|upper }}', data, html=True)  # warm up imports\n"
        "with open('/proc/self/statm') as statm:\n"
        "    size = int(statm.read().split()[0]) * resource.getpagesize()\n"
        "limit = size + 256 * 1024 * 1024  # 256 MB more than it has now\n"
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        "results = []\n"
        "for source in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        render(source, data, html=True)\n"
        "        results.append('rendered')\n"
        "    except TemplateLimitError:\n"
        "        results.append('refused')\n"
        "    except MemoryError:\n"
        "        results.append('MemoryError')\n"
        "print(json.dumps(results))\n"
    )
    tests = Path(__file__).resolve().parents[1]  # tests/, for testproject
    env = {
        **__import__("os").environ,
        "PYTHONPATH": f"{tests}{__import__('os').pathsep}{tests.parent}",
        "DJANGO_SETTINGS_MODULE": "testproject.settings",
    }
    completed = subprocess.run(
        [sys.executable, str(script), json.dumps(RUNAWAY_GROWTH)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(completed.stdout.splitlines()[-1]) == ["refused"] * len(RUNAWAY_GROWTH)

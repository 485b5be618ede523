"""Creating, filling, cloning and deleting batches, and the actions a user is offered."""

from __future__ import annotations

import datetime

import factories
import pytest
from django.utils import timezone
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.batches.actions import ACTIONS_BY_KEY, allowed_actions
from wagtail_batchcomms.batches.lifecycle import (
    add_assemblies,
    clone_batch,
    create_batch,
    delete_batch,
)
from wagtail_batchcomms.exceptions import BatchActionError
from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchAssembly,
    BatchStatus,
    Communication,
)
from wagtail_batchcomms.register.working_list import assemblies_from_filter_query

pytestmark = pytest.mark.django_db
APP = "wagtail_batchcomms"
TODAY = timezone.localdate


def soon(days: int = 14) -> datetime.date:
    return TODAY() + datetime.timedelta(days=days)


def user_with(name: str, *codenames: str):
    return factories.user(name, perms=[f"{APP}.{codename}" for codename in codenames])


def working_list(batch: Batch) -> set[tuple[int, int]]:
    return set(BatchAssembly.objects.filter(batch=batch).values_list("assembly_id", "location_id"))


def new(user, assemblies, **kwargs) -> Batch:
    options = {"name": "Fire services 2026", "template": None, "due_date": soon()}
    options.update(kwargs)
    return create_batch(user=user, assemblies=assemblies, **options)


@pytest.fixture
def register():
    """Twelve assemblies over six locations; half RP, half DC; a third non-health."""
    made = []
    for i in range(6):
        loc = factories.location()
        for j in range(2):
            made.append(
                factories.assembly(
                    loc,
                    assembly_type="RP" if (i + j) % 2 else "DC",
                    hazard="non_health" if i % 3 == 0 else "health",
                )
            )
    return made


# --- create_batch --------------------------------------------------------------------------------


def test_create_snapshots_exactly_the_queryset_in_one_statement(
    register, superuser, django_assert_max_num_queries
):
    wanted = Assembly.objects.filter(assembly_type="RP", hazard="health").order_by("-serial_number")
    template = factories.notice_template()
    # Constant whatever the size: permission, create, one INSERT ... SELECT, count, log.
    with django_assert_max_num_queries(12):
        batch = new(superuser, wanted, template=template, filter_query="assembly_type=RP")
    expected = {(a.pk, a.location_id) for a in wanted}
    assert working_list(batch) == expected
    assert batch.assembly_count == len(expected) == 4
    assert (batch.status, batch.template, batch.created_by) == (
        BatchStatus.OPEN,
        template,
        superuser,
    )
    assert batch.filter_query == "assembly_type=RP"
    [entry] = ModelLogEntry.objects.filter(object_id=str(batch.pk), action=f"{APP}.create")
    assert entry.message == "Created with 4 assemblies"


def test_create_with_a_filtered_and_annotated_listing_queryset(register, superuser):
    """The listing's own queryset (annotations, joins, search) snapshots as is."""
    listing = (
        Assembly.objects.with_compliance()
        .select_related("location")
        .filter(location__in=[register[0].location, register[2].location])
    )
    batch = new(superuser, listing)
    assert working_list(batch) == {(a.pk, a.location_id) for a in register[:4]}


def test_create_from_a_queryset_that_repeats_assemblies_takes_each_once(register, superuser):
    """A filter across a location's contacts returns an assembly once per matching contact;
    the working list (a plain insert into a new batch) holds it once."""
    location = register[0].location
    for role in ("owner", "tenant"):
        factories.role(location, factories.contact(), role)
    repeated = Assembly.objects.filter(location__location_contacts__role__in=["owner", "tenant"])
    assert repeated.count() == 4  # two assemblies, each twice
    batch = new(superuser, repeated)
    assert working_list(batch) == {(a.pk, a.location_id) for a in register[:2]}
    assert batch.assembly_count == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "   "}, "Give the batch a name."),
        ({"name": "x" * 201}, "The name is too long: 200 characters at most."),
        ({"due_date": TODAY() - datetime.timedelta(days=1)}, "cannot be in the past"),
        ({"template": "draft"}, "is not published; pick a published template."),
    ],
)
def test_create_validates_its_input(register, superuser, kwargs, message):
    if kwargs.get("template") == "draft":
        kwargs["template"] = factories.notice_template(publish=False, name="Draft notice")
    with pytest.raises(BatchActionError, match=message):
        new(superuser, Assembly.objects.all(), **kwargs)
    assert not Batch.objects.exists()


def test_create_refuses_an_empty_selection_and_leaves_nothing(register, superuser):
    for empty in (Assembly.objects.none(), Assembly.objects.filter(serial_number="nope")):
        with pytest.raises(BatchActionError, match="No assemblies match"):
            new(superuser, empty)
    assert not Batch.objects.exists()
    assert not BatchAssembly.objects.exists()


def test_create_needs_the_add_permission(register):
    with pytest.raises(BatchActionError, match="permission to create"):
        new(user_with("clerk", "change_batch"), Assembly.objects.all())
    batch = new(user_with("officer", "add_batch"), Assembly.objects.all(), due_date=None)
    assert batch.assembly_count == 12


def test_a_later_move_of_an_assembly_does_not_change_the_working_list(register, superuser):
    batch = new(superuser, Assembly.objects.filter(pk=register[0].pk))
    old_location = register[0].location_id
    register[0].location = factories.location()
    register[0].save()
    assert working_list(batch) == {(register[0].pk, old_location)}


# --- add_assemblies ------------------------------------------------------------------------------


def test_add_assemblies_skips_those_already_there(register, superuser):
    batch = new(superuser, Assembly.objects.filter(pk__in=[a.pk for a in register[:5]]))
    added = add_assemblies(batch.pk, Assembly.objects.filter(assembly_type="RP"), user=superuser)
    rp_not_yet = [a for a in register if a.assembly_type == "RP" and a not in register[:5]]
    assert added == len(rp_not_yet) > 0
    batch.refresh_from_db()
    assert batch.assembly_count == 5 + added == BatchAssembly.objects.filter(batch=batch).count()
    assert add_assemblies(batch.pk, Assembly.objects.all()[:3], user=superuser) == 0
    [entry] = ModelLogEntry.objects.filter(object_id=str(batch.pk), action=f"{APP}.add_assemblies")
    assert entry.message == f"Added {added} assemblies to the working list"


@pytest.mark.parametrize(
    "state",
    [BatchStatus.GENERATING, BatchStatus.GENERATED, BatchStatus.COMPLETE, BatchStatus.ARCHIVED],
)
def test_add_assemblies_only_into_an_open_batch(register, superuser, state):
    batch = Batch.objects.create(name="Closed", status=state)
    with pytest.raises(
        BatchActionError, match=f"This batch is {BatchStatus(state).label}; only Open"
    ):
        add_assemblies(batch.pk, Assembly.objects.all(), user=superuser)
    assert not BatchAssembly.objects.filter(batch=batch).exists()


def test_add_assemblies_needs_the_change_permission(register):
    batch = Batch.objects.create(name="Open")
    with pytest.raises(BatchActionError, match="permission to change"):
        add_assemblies(batch.pk, Assembly.objects.all(), user=user_with("viewer", "view_batch"))


# --- clone_batch ---------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(BatchStatus.values))
def test_clone_from_any_state_copies_template_due_date_and_working_list(register, state):
    template = factories.notice_template()
    source = Batch.objects.create(
        name="Hydrant season",
        status=state,
        template=template,
        due_date=TODAY() - datetime.timedelta(days=30),  # past: kept for the admin to change
        filter_query="hazard=health",
    )
    for asm in register[:7]:
        BatchAssembly.objects.create(batch=source, assembly=asm, location=asm.location)
    user = user_with("cloner", "clone_batch")

    clone = clone_batch(source.pk, user=user)

    assert (clone.name, clone.status, clone.template, clone.due_date) == (
        "Hydrant season (copy)",
        BatchStatus.OPEN,
        template,
        source.due_date,
    )
    assert (clone.cloned_from, clone.created_by, clone.filter_query) == (
        source,
        user,
        "hazard=health",
    )
    assert working_list(clone) == working_list(source)
    assert clone.assembly_count == 7
    new_entry = ModelLogEntry.objects.get(object_id=str(clone.pk), action=f"{APP}.clone")
    assert new_entry.message == "Cloned from 'Hydrant season' (7 assemblies)"
    old_entry = ModelLogEntry.objects.get(object_id=str(source.pk), action=f"{APP}.cloned")
    assert old_entry.message == "Cloned as 'Hydrant season (copy)'"
    assert new_entry.user_id == old_entry.user_id == user.pk


def test_clone_with_a_name(register, superuser):
    source = new(superuser, Assembly.objects.all())
    assert clone_batch(source.pk, user=superuser, name="  Round two ").name == "Round two"


def test_clone_reapplies_the_saved_filter_to_todays_register(register, superuser):
    query = "assembly_type=RP&hazard=health"
    source = new(
        superuser, assemblies_from_filter_query(query), filter_query=query, name="RP health"
    )
    assert source.assembly_count == 4
    # The register changes: one assembly becomes non-health, a new matching one appears.
    changed = Assembly.objects.filter(batch_memberships__batch=source).first()
    changed.hazard = "non_health"
    changed.save()
    fresh = factories.assembly(assembly_type="RP", hazard="health")

    clone = clone_batch(source.pk, user=superuser, reapply_filter=True)

    today = Assembly.objects.filter(assembly_type="RP", hazard="health")
    assert working_list(clone) == {(a.pk, a.location_id) for a in today}
    assert fresh.pk in {pk for pk, _ in working_list(clone)}
    assert changed.pk not in {pk for pk, _ in working_list(clone)}
    entry = ModelLogEntry.objects.get(object_id=str(clone.pk), action=f"{APP}.clone")
    assert entry.data["reapplied_filter"] is True
    assert "re-applied" in entry.message


def test_reapplied_filter_includes_the_search(register, superuser):
    target = register[3]
    query = f"q={target.serial_number}"
    assert list(assemblies_from_filter_query(query)) == [target]
    source = new(superuser, assemblies_from_filter_query(query), filter_query=query)
    clone = clone_batch(source.pk, user=superuser, reapply_filter=True)
    assert working_list(clone) == {(target.pk, target.location_id)}


def test_reapply_is_refused_without_a_saved_filter_or_with_an_invalid_one(register, superuser):
    plain = new(superuser, Assembly.objects.all())
    with pytest.raises(BatchActionError, match="no filter to re-apply"):
        clone_batch(plain.pk, user=superuser, reapply_filter=True)
    broken = new(superuser, Assembly.objects.all(), filter_query="assembly_type=XX")
    with pytest.raises(BatchActionError, match="The saved filter no longer applies"):
        clone_batch(broken.pk, user=superuser, reapply_filter=True)
    nothing = new(superuser, Assembly.objects.all(), filter_query="q=no-such-serial")
    with pytest.raises(BatchActionError, match="matches no assemblies"):
        clone_batch(nothing.pk, user=superuser, reapply_filter=True)
    assert Batch.objects.count() == 3


def test_clone_needs_the_clone_permission(register, superuser):
    source = new(superuser, Assembly.objects.all())
    with pytest.raises(BatchActionError, match="permission to clone"):
        clone_batch(source.pk, user=user_with("adder", "add_batch", "change_batch"))
    assert Batch.objects.count() == 1


# --- delete_batch --------------------------------------------------------------------------------


def test_delete_an_open_batch(register, superuser):
    batch = new(superuser, Assembly.objects.all())
    user = user_with("deleter", "delete_batch")
    delete_batch(batch.pk, user=user)
    assert not Batch.objects.filter(pk=batch.pk).exists()
    assert not BatchAssembly.objects.exists()
    entry = ModelLogEntry.objects.get(object_id=str(batch.pk), action="wagtail.delete")
    assert (entry.user_id, entry.deleted) == (user.pk, True)


@pytest.mark.parametrize("state", [s for s in BatchStatus.values if s != BatchStatus.OPEN])
def test_delete_is_refused_unless_open(register, superuser, state):
    batch = Batch.objects.create(name="Kept", status=state)
    with pytest.raises(BatchActionError, match="only Open batches can be deleted"):
        delete_batch(batch.pk, user=superuser)
    assert Batch.objects.filter(pk=batch.pk).exists()


def test_delete_needs_the_delete_permission(register, superuser):
    batch = new(superuser, Assembly.objects.all())
    with pytest.raises(BatchActionError, match="permission to delete"):
        delete_batch(batch.pk, user=user_with("clerk", "change_batch", "archive_batch"))
    assert Batch.objects.filter(pk=batch.pk).exists()


# --- the working list's keys (migration 0011) ----------------------------------------------------


def test_deleting_a_location_an_assembly_moved_from_takes_it_off_working_lists(register, superuser):
    """The working list's location key has no database constraint (a snapshot's speed), so the
    cascade is Django's: deleting the old location of an assembly that moved away removes the
    rows that still point at it, and only those."""
    batch = new(superuser, Assembly.objects.all())
    moved = register[0]
    old_location = moved.location
    others = {(a.pk, a.location_id) for a in register if a.location_id != old_location.pk}
    Assembly.objects.filter(location=old_location).update(location=factories.location())
    old_location.delete()
    assert working_list(batch) == others
    assert not BatchAssembly.objects.filter(location_id=old_location.pk).exists()


def test_the_working_list_still_refuses_an_assembly_that_does_not_exist(register, superuser):
    """The assembly key keeps its constraint: it is what refuses a snapshot of an assembly
    deleted while the snapshot was being taken (checked at commit)."""
    from django.db import IntegrityError, connection, transaction

    batch = new(superuser, Assembly.objects.filter(pk=register[0].pk))
    gone = Assembly.objects.order_by("-pk").first().pk + 1000
    with pytest.raises(IntegrityError), transaction.atomic():
        BatchAssembly.objects.create(batch=batch, assembly_id=gone, location=register[0].location)
        connection.check_constraints(table_names=[BatchAssembly._meta.db_table])
    assert working_list(batch) == {(register[0].pk, register[0].location_id)}


def test_only_the_working_list_s_assembly_key_is_a_database_constraint():
    """PostgreSQL checks each foreign key once per inserted row at commit: the batch and
    location keys (which the snapshot cannot break) carry none, to keep a 100,000-assembly
    snapshot under a second; the assembly key keeps its own."""
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, BatchAssembly._meta.db_table)
    keys = {info["columns"][0] for info in constraints.values() if info["foreign_key"]}
    assert keys == {"assembly_id"}


# --- allowed_actions -----------------------------------------------------------------------------


def _batch(state, *, pending=()):
    template = factories.notice_template()
    batch = Batch.objects.create(name="B", status=state, template=template, due_date=soon())
    asm = factories.assembly()
    BatchAssembly.objects.create(batch=batch, assembly=asm, location=asm.location)
    for channel in pending:
        Communication.objects.create(
            batch=batch,
            location=asm.location,
            contact=factories.contact(),
            role="owner",
            channel=channel,
            recipient_name="R",
        )
    return batch


@pytest.mark.parametrize(
    ("state", "pending", "expected"),
    [
        (BatchStatus.OPEN, (), ["edit", "generate", "archive", "clone", "delete"]),
        (BatchStatus.GENERATING, (), ["clone"]),
        (
            BatchStatus.GENERATED,
            ("email", "letter"),
            [
                "regenerate",
                "send",
                "download_letters",
                "mark_mailed",
                "complete",
                "archive",
                "clone",
            ],
        ),
        (
            BatchStatus.GENERATED,
            ("letter",),
            ["regenerate", "download_letters", "mark_mailed", "complete", "archive", "clone"],
        ),
        (BatchStatus.PARTIALLY_SENT, ("email",), ["send", "complete", "archive", "clone"]),
        (BatchStatus.PARTIALLY_SENT, (), ["complete", "archive", "clone"]),
        (BatchStatus.COMPLETE, (), ["archive", "clone"]),
        (BatchStatus.ARCHIVED, (), ["clone"]),
    ],
)
def test_allowed_actions_for_a_superuser_follow_state_and_content(state, pending, expected):
    superuser = factories.user("root", superuser=True)
    batch = _batch(state, pending=pending)
    assert allowed_actions(batch, superuser) == expected
    assert set(expected) <= set(ACTIONS_BY_KEY)


def test_allowed_actions_follow_conditions(superuser):
    batch = _batch(BatchStatus.OPEN)
    batch.due_date = None
    batch.save()
    assert "generate" not in allowed_actions(batch, superuser)


@pytest.mark.parametrize(
    ("codenames", "state", "expected"),
    [
        ((), BatchStatus.OPEN, []),
        (("view_batch",), BatchStatus.OPEN, []),
        (("change_batch",), BatchStatus.OPEN, ["edit"]),
        (("generate_batch",), BatchStatus.OPEN, ["generate"]),
        (("delete_batch",), BatchStatus.OPEN, ["delete"]),
        (("archive_batch",), BatchStatus.OPEN, ["archive"]),
        (("send_batch",), BatchStatus.GENERATED, ["send", "download_letters", "mark_mailed"]),
        (("complete_batch",), BatchStatus.GENERATED, ["complete"]),
        (("clone_batch",), BatchStatus.COMPLETE, ["clone"]),
        (("change_batch", "delete_batch"), BatchStatus.GENERATED, []),
    ],
)
def test_allowed_actions_follow_permissions(codenames, state, expected):
    user = user_with("someone", *codenames)
    batch = _batch(state, pending=("email", "letter"))
    assert allowed_actions(batch, user) == expected

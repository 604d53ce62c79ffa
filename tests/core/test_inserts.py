"""core.inserts.insert_family: a row and its children as one unit (one statement on PostgreSQL)."""

import pytest
from django.db import IntegrityError, connection, transaction

from dothi.core import audit
from dothi.core.inserts import insert_family
from dothi.core.models import AuditEvent, City, Organisation

pytestmark = pytest.mark.django_db


def _family(slug: str):
    city = City(slug=slug, name_vi="Thành phố thử", name_en="Test city", province_code="48")
    agency = Organisation(city=city, code="agency", name_vi="Sở thử")
    record = audit.build(actor=None, action="create", obj=city, summary=f"city {slug}")
    return city, agency, record


def test_parent_and_children_are_linked():
    city, agency, record = _family("insert-family")
    pk = insert_family(city, [(agency, ("city_id", "")), (record, ("object_id", "text"))])
    assert pk == city.pk == City.objects.get(slug="insert-family").pk
    stored = Organisation.objects.get(city_id=pk, code="agency")
    assert stored.name_vi == "Sở thử"
    event = AuditEvent.objects.get(object_type="core.city", object_id=str(pk))
    assert event.summary == "city insert-family" and event.actor_label == "anonymous"
    assert event.at is not None  # defaults are the model's own


def test_a_clash_stores_nothing_and_leaves_the_transaction_usable():
    first = _family("clash")
    insert_family(first[0], [(first[1], ("city_id", "")), (first[2], ("object_id", "text"))])
    organisations, events = Organisation.objects.count(), AuditEvent.objects.count()
    city, agency, record = _family("clash")  # the same unique slug
    with pytest.raises(IntegrityError):
        insert_family(city, [(agency, ("city_id", "")), (record, ("object_id", "text"))])
    # Still inside the test's transaction: it must be usable, and nothing of the family stored.
    assert Organisation.objects.count() == organisations
    assert AuditEvent.objects.count() == events
    assert City.objects.filter(slug="clash").count() == 1


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_is_one_statement():
    city, agency, record = _family("autocommit")
    assert not connection.in_atomic_block
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        insert_family(city, [(agency, ("city_id", "")), (record, ("object_id", "text"))])
    statements = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and statements[0].startswith("WITH parent AS (INSERT")
    else:
        assert sum(s.startswith("INSERT") for s in statements) == 3
    with transaction.atomic():
        assert Organisation.objects.filter(city=city).count() == 1


def test_an_unknown_cast_is_refused():
    city, agency, _record = _family("cast")
    if connection.vendor != "postgresql":
        pytest.skip("casts are PostgreSQL SQL")
    with pytest.raises(ValueError):
        insert_family(city, [(agency, ("city_id", "int; DROP TABLE x"))])

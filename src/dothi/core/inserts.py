"""Insert a row and the rows that hang from it (its timeline event, its follower, its audit record) as
one unit, in as few round trips as the database allows.

On PostgreSQL the family is one statement: the parent's `INSERT … RETURNING id` in a data-modifying
CTE, each child an `INSERT … SELECT … FROM parent` taking the new id. One statement is atomic on its
own, so outside a transaction it costs one round trip and one commit; inside one it runs in a savepoint,
so a unique clash leaves the outer transaction usable. Elsewhere (SQLite) the rows are saved one after
another inside `transaction.atomic()`: the same result, more round trips.

Values are prepared by the models' own fields (`pre_save`, `get_db_prep_save`), so defaults, `auto_now`
and JSON columns behave as `Model.save()` would. Signals are not sent (nothing in dothi listens to
these models' `post_save`); callers that need them use `save()`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.db import connections, transaction
from django.db.models import Model

# A child's link: the attribute that takes the parent's new id, and the SQL cast for it ("" or "text").
Link = tuple[str, str]


@functools.cache
def _fields(model, link: str | None) -> tuple:
    """The fields of `model` an insert writes, in order, but its auto primary key (and the link)."""
    meta = model._meta
    return tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field and f.attname != link)


@functools.lru_cache(maxsize=64)
def _sql(alias: str, parent_model, children: tuple[tuple[type, Link], ...]) -> str:
    """The family's statement; it depends on the models only (every value is a parameter), so it is built
    once per shape and process."""
    qn = connections[alias].ops.quote_name

    def columns(model, link: str | None) -> list[str]:
        names = [qn(f.column) for f in _fields(model, link)]
        return names + ([qn(model._meta.get_field(link).column)] if link else [])

    parent_columns = columns(parent_model, None)
    placeholders = ", ".join(["%s"] * len(parent_columns))
    parts = [
        f"parent AS (INSERT INTO {qn(parent_model._meta.db_table)} ({', '.join(parent_columns)}) "  # noqa: S608
        f"VALUES ({placeholders}) RETURNING {qn(parent_model._meta.pk.column)} AS id)"
    ]
    for n, (model, (attname, cast)) in enumerate(children):
        if cast not in ("", "text"):
            raise ValueError(f"Unsupported cast {cast!r}")
        c_columns = columns(model, attname)
        values = ["%s"] * (len(c_columns) - 1) + [f"parent.id::{cast}" if cast else "parent.id"]
        parts.append(
            f"child{n} AS (INSERT INTO {qn(model._meta.db_table)} ({', '.join(c_columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM parent)"
        )
    return "WITH " + ", ".join(parts) + " SELECT id FROM parent"  # noqa: S608


def _params(obj: Model, connection, link: str | None) -> list:
    """The values `obj` is inserted with, prepared by its fields as `Model.save()` would."""
    return [
        field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
        for field in _fields(type(obj), link)
    ]


def _statement(parent: Model, children: Sequence[tuple[Model, Link]], connection) -> tuple[str, list]:
    sql = _sql(connection.alias, type(parent), tuple((type(c), link) for c, link in children))
    params = _params(parent, connection, None)
    for child, (attname, _cast) in children:
        params.extend(_params(child, connection, attname))
    return sql, params


def insert_family(parent: Model, children: Sequence[tuple[Model, Link]] = (), *, using: str = "default"):
    """Insert `parent` (a new, unsaved row) and each child, whose `attname` (e.g. "report_id", or
    "object_id" with cast "text") takes the parent's new primary key. All or nothing: an IntegrityError
    (a unique clash) stores none of them and leaves any outer transaction usable. Sets `pk` on every
    object and the link attributes on the children; returns the parent's primary key.

    Children's own primary keys are not read back on PostgreSQL (their `pk` stays None)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            parent.save(force_insert=True, using=using)
            for child, (attname, cast) in children:
                setattr(child, attname, str(parent.pk) if cast == "text" else parent.pk)
                child.save(force_insert=True, using=using)
        return parent.pk
    sql, params = _statement(parent, children, connection)
    if connection.in_atomic_block:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute(sql, params)
            pk = cursor.fetchone()[0]
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            pk = cursor.fetchone()[0]
    parent.pk = pk
    parent._state.adding = False
    parent._state.db = using
    for child, (attname, cast) in children:
        setattr(child, attname, str(pk) if cast == "text" else pk)
        child._state.db = using
    return pk

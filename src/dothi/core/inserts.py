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

from collections.abc import Sequence

from django.db import connections, transaction
from django.db.models import Model

# A child's link: the attribute that takes the parent's new id, and the SQL cast for it ("" or "text").
Link = tuple[str, str]


def _columns(obj: Model, connection, links: dict[str, str]) -> tuple[list[str], list[str], list]:
    """The column names, SQL expressions and parameters to insert `obj`; linked attributes take
    `parent.id` (cast as asked) instead of a parameter."""
    meta = obj._meta
    columns, expressions, params = [], [], []
    for field in meta.local_concrete_fields:
        if field is meta.auto_field:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in links:
            cast = links[field.attname]
            if cast not in ("", "text"):
                raise ValueError(f"Unsupported cast {cast!r}")
            expressions.append(f"parent.id::{cast}" if cast else "parent.id")
            continue
        value = field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
        expressions.append("%s")
        params.append(value)
    return columns, expressions, params


def _statement(parent: Model, children: Sequence[tuple[Model, Link]], connection) -> tuple[str, list]:
    # Identifiers come from the models' metadata, quoted; every value is a parameter.
    qn = connection.ops.quote_name
    columns, expressions, params = _columns(parent, connection, {})
    pk_column = qn(parent._meta.pk.column)
    parts = [
        f"parent AS (INSERT INTO {qn(parent._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(expressions)}) RETURNING {pk_column} AS id)"
    ]
    for n, (child, (attname, cast)) in enumerate(children):
        c_columns, c_expressions, c_params = _columns(child, connection, {attname: cast})
        parts.append(
            f"child{n} AS (INSERT INTO {qn(child._meta.db_table)} ({', '.join(c_columns)}) "  # noqa: S608
            f"SELECT {', '.join(c_expressions)} FROM parent)"
        )
        params.extend(c_params)
    return "WITH " + ", ".join(parts) + " SELECT id FROM parent", params  # noqa: S608


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

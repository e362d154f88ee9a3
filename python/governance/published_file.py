"""The contents of a published file: the consumer schemas of a work file, and nothing else.

A published file holds, for every relation of the consumer schemas of the (checkpointed) work
file: tables with their columns, types and NOT NULL constraints (DuckDB's own DDL of each) and
rows; views with their SQL (schema-qualified, so they read the file's own tables); every table,
view and column comment.

`write` makes such a file from nothing. `update` brings a copy of the previous published file to
the same contents at a cost that follows what changed, not the history:

- tables gone from the work file are dropped, schemas no longer published too;
- a table dbt updates by whole partitions (a ``delete+insert`` incremental model: its
  ``unique_key`` columns in ``partition_keys``, read from dbt's manifest by `partition_keys`)
  whose DDL did not change gets what dbt did to it: the partitions that differ are deleted and
  the work file's rows of those partitions inserted. A partition differs when its row count or
  the earliest or latest build stamp of its rows (``processed_at``, the start of the dbt run
  that wrote the row) differs between the two files: every row a build writes carries that
  build's new stamp, so a partition the night rewrote, one it added and one it emptied all
  differ, and one it left alone does not;
- every other table is dropped, created and filled again, every view created again, and the
  comments that differ are set.

What goes (tables dropped, partitions deleted) is checkpointed before what comes is written, so
the new rows reuse the space in the file instead of growing it night after night.

`write` is `update` of an empty file, so both give the same relations, rows and comments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from governance.documented_table import sql_literal

#: The name of the work file, attached read-only, in the SQL that copies from it.
SOURCE = "build_state"
#: When the build that wrote a row started (macros/incremental/windows.sql, build_started_at).
BUILD_STAMP_COLUMN = "processed_at"

Relation = tuple[str, str]  # (schema, name)


@dataclass
class Changes:
    """What a write or an update did to the published file."""

    #: Whether the file started from an earlier published file (else from nothing).
    incremental: bool = False
    #: What it started from (governance.publish): ``standby`` (the standby file, moved),
    #: ``copy`` (a copy of the published file) or ``nothing``.
    started_from: str = "nothing"
    #: Why the standby file was not used, when it was not.
    standby_not_used: str = ""
    tables_rewritten: list[str] = field(default_factory=list)
    #: Partitioned tables brought up to date by partition, with the partitions rewritten.
    partitions_rewritten: dict[str, int] = field(default_factory=dict)
    tables_dropped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: how the file was written and what was rewritten."""
        why = f" ({self.standby_not_used})" if self.standby_not_used else ""
        if not self.incremental:
            return f"written from nothing{why}: {len(self.tables_rewritten)} tables"
        start = (
            "started from the standby file (the published file before the last)"
            if self.started_from == "standby"
            else f"copied from the previous published file{why}"
        )
        partitions = ", ".join(f"{t} {n}" for t, n in sorted(self.partitions_rewritten.items()))
        return (
            f"{start}, then {len(self.tables_rewritten)} tables "
            f"rewritten, {len(self.tables_dropped)} dropped, partitions rewritten: "
            f"{partitions or 'no partitioned table'}"
        )


def partition_keys(manifest: Path) -> dict[str, tuple[str, ...]]:
    """The tables dbt updates by whole partitions, by relation (``schema.name``): the models
    materialized ``incremental`` with the ``delete+insert`` strategy, and their ``unique_key``
    columns, from a dbt manifest. Empty when the manifest cannot be read: every table is then
    rewritten whole."""
    try:
        nodes = json.loads(Path(manifest).read_text())["nodes"].values()
    except (OSError, ValueError, KeyError, AttributeError):
        return {}
    keys = {}
    for node in nodes:
        config = node.get("config") or {}
        unique_key = config.get("unique_key")
        if (
            node.get("resource_type") == "model"
            and config.get("materialized") == "incremental"
            and config.get("incremental_strategy") == "delete+insert"
            and unique_key
        ):
            columns = (unique_key,) if isinstance(unique_key, str) else tuple(unique_key)
            keys[f"{node['schema']}.{node.get('alias') or node['name']}"] = columns
    return keys


def write(work: Path, target: Path, schemas: tuple[str, ...]) -> Changes:
    """A new published file at ``target`` from the consumer ``schemas`` of ``work``."""
    for path in (target, target.with_name(target.name + ".wal")):
        path.unlink(missing_ok=True)
    return update(work, target, schemas, {})


def update(
    work: Path,
    target: Path,
    schemas: tuple[str, ...],
    keys: Mapping[str, tuple[str, ...]],
) -> Changes:
    """Brings the published file ``target`` (a copy of the previous one) to what `write` would
    make from ``work``; ``keys``: the partitioned tables (`partition_keys`). Checkpointed."""
    # Row order need not be kept: the copy then writes in parallel.
    con = duckdb.connect(str(target), config={"preserve_insertion_order": False})
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach {sql_literal(str(work))} as {SOURCE} (read_only)")
        changes = _bring_up_to_date(con, schemas, keys)
        con.execute(f"detach {SOURCE}")
        con.execute("checkpoint")
    finally:
        con.close()
    return changes


def _bring_up_to_date(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...], keys: Mapping[str, tuple[str, ...]]
) -> Changes:
    """Two transactions: what goes is removed and checkpointed, so that what comes reuses its
    space in the file; then what comes is written."""
    changes = Changes()
    wanted = _tables(con, SOURCE, schemas)
    con.execute("begin")
    by_partition = _remove_what_changed(con, schemas, wanted, keys, changes)
    con.execute("commit")
    con.execute("checkpoint")
    con.execute("begin")
    for relation, ddl in sorted(wanted.items()):
        if relation in by_partition:
            _insert_changed_partitions(con, relation, by_partition[relation])
        else:
            con.execute(ddl)
            con.execute(f"insert into {_name(*relation)} select * from {_name(*relation, SOURCE)}")
            changes.tables_rewritten.append(".".join(relation))
    _create_views(con, schemas)
    _set_comments(con, schemas)
    con.execute("commit")
    return changes


def _remove_what_changed(
    con: duckdb.DuckDBPyConnection,
    schemas: tuple[str, ...],
    wanted: dict[Relation, str],
    keys: Mapping[str, tuple[str, ...]],
    changes: Changes,
) -> dict[Relation, tuple[str, ...]]:
    """Drops the views, the schemas not published and the tables gone or to be written whole;
    deletes the partitions that changed of the tables brought up to date by partition, which it
    returns with their keys."""
    _drop_views(con)
    _keep_only_schemas(con, schemas)
    by_partition = {}
    for relation, ddl in sorted(_tables(con, _own(con), schemas).items()):
        relation_keys = keys.get(".".join(relation))
        if wanted.get(relation) == ddl and _partitioned(con, relation, relation_keys):
            by_partition[relation] = relation_keys
            changes.partitions_rewritten[".".join(relation)] = _delete_changed_partitions(
                con, relation, relation_keys
            )
        else:
            con.execute(f"drop table {_name(*relation)}")
            if relation not in wanted:
                changes.tables_dropped.append(".".join(relation))
    return by_partition


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _name(schema: str, name: str, catalog: str | None = None) -> str:
    parts = (catalog, schema, name) if catalog else (schema, name)
    return ".".join(_identifier(p) for p in parts)


def _own(con: duckdb.DuckDBPyConnection) -> str:
    """The catalog of the published file itself."""
    return con.execute("select current_database()").fetchone()[0]


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...]) -> dict:
    """{(schema, name): DDL} of the tables of ``catalog`` in ``schemas``."""
    rows = con.execute(
        "select schema_name, table_name, sql from duckdb_tables() "
        "where database_name = $db and schema_name in (select unnest($schemas))",
        {"db": catalog, "schemas": list(schemas)},
    ).fetchall()
    return {(schema, name): ddl for schema, name, ddl in rows}


def _drop_views(con: duckdb.DuckDBPyConnection) -> None:
    """Views are created again from the work file's (they hold no rows)."""
    views = con.execute(
        "select schema_name, view_name from duckdb_views() "
        "where database_name = current_database() and not internal"
    ).fetchall()
    for schema, name in views:
        con.execute(f"drop view {_name(schema, name)}")


def _keep_only_schemas(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> None:
    """Creates the published ``schemas`` and drops any other schema of the file."""
    held = con.execute(
        "select schema_name from duckdb_schemas() "
        "where database_name = current_database() and not internal"
    ).fetchall()
    for (schema,) in held:
        if schema not in schemas:
            con.execute(f"drop schema {_identifier(schema)} cascade")
    for schema in schemas:
        con.execute(f"create schema if not exists {_identifier(schema)}")


def _partitioned(
    con: duckdb.DuckDBPyConnection, relation: Relation, keys: tuple[str, ...] | None
) -> bool:
    """Whether ``relation`` can be brought up to date by partition: it has partition ``keys``
    and holds them and the build stamp."""
    if not keys:
        return False
    columns = {
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() "
            "where database_name = $db and schema_name = $schema and table_name = $name",
            {"db": SOURCE, "schema": relation[0], "name": relation[1]},
        ).fetchall()
    }
    return {*keys, BUILD_STAMP_COLUMN} <= columns


def _changed_partitions(relation: Relation) -> str:
    """The temporary table of the keys of ``relation``'s partitions that changed."""
    return _identifier(f"changed partitions of {relation[0]}.{relation[1]}")


def _same_partition(keys: tuple[str, ...], relation: Relation) -> str:
    return " and ".join(
        f"rows.{_identifier(k)} is not distinct from {_changed_partitions(relation)}."
        f"{_identifier(k)}"
        for k in keys
    )


def _delete_changed_partitions(
    con: duckdb.DuckDBPyConnection, relation: Relation, keys: tuple[str, ...]
) -> int:
    """The first half of dbt's delete+insert on the published copy: the partitions that differ
    from the work file's are noted and deleted. How many."""
    key_list = ", ".join(_identifier(k) for k in keys)
    fingerprint = (
        f"select {key_list}, count(*) as n_rows, min({BUILD_STAMP_COLUMN}) as first_stamp, "
        f"max({BUILD_STAMP_COLUMN}) as last_stamp from {{}} group by all"
    )
    changed = _changed_partitions(relation)
    con.execute(
        f"""
        create temp table {changed} as
        with held as materialized ({fingerprint.format(_name(*relation))}),
        wanted as materialized ({fingerprint.format(_name(*relation, SOURCE))})
        select distinct {key_list} from (
            (select * from held except select * from wanted)
            union all
            (select * from wanted except select * from held)
        )
        """
    )
    con.execute(
        f"delete from {_name(*relation)} as rows using {changed} "
        f"where {_same_partition(keys, relation)}"
    )
    return con.execute(f"select count(*) from {changed}").fetchone()[0]


def _insert_changed_partitions(
    con: duckdb.DuckDBPyConnection, relation: Relation, keys: tuple[str, ...]
) -> None:
    """The second half: the work file's rows of the partitions noted are inserted."""
    changed = _changed_partitions(relation)
    con.execute(
        f"insert into {_name(*relation)} select rows.* from {_name(*relation, SOURCE)} as rows "
        f"semi join {changed} on {_same_partition(keys, relation)}"
    )
    con.execute(f"drop table {changed}")


def _create_views(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> None:
    views = con.execute(
        "select sql from duckdb_views() where database_name = $db and not internal "
        "and schema_name in (select unnest($schemas)) order by all",
        {"db": SOURCE, "schemas": list(schemas)},
    ).fetchall()
    for (ddl,) in views:
        con.execute(ddl)


# The comments of a catalog's relations and columns (column name '' for a relation), empty ones
# as null.
_COMMENTS = """
    select schema_name, table_name as name, '' as column_name, 'table' as kind,
        nullif(comment, '') as comment
    from duckdb_tables() where database_name = {db}
    union all
    select schema_name, view_name, '', 'view', nullif(comment, '') from duckdb_views()
    where database_name = {db} and not internal
    union all
    select schema_name, table_name, column_name, 'column', nullif(comment, '')
    from duckdb_columns() where database_name = {db}
"""


def _set_comments(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> None:
    """The comments of the work file's relations and columns, where the file's own differ."""
    differing = con.execute(
        f"""
        select wanted.kind, wanted.schema_name, wanted.name, wanted.column_name, wanted.comment
        from ({_COMMENTS.format(db="$source")}) as wanted
        left join ({_COMMENTS.format(db=sql_literal(_own(con)))}) as held
            using (schema_name, name, column_name, kind)
        where wanted.schema_name in (select unnest($schemas))
            and wanted.comment is distinct from held.comment
        order by all
        """,
        {"source": SOURCE, "schemas": list(schemas)},
    ).fetchall()
    for kind, schema, name, column, comment in differing:
        target = _name(schema, name) + (f".{_identifier(column)}" if column else "")
        text = "null" if comment is None else sql_literal(comment)
        con.execute(f"comment on {kind} {target} is {text}")

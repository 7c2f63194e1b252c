"""Loading millions of rows into empty tables the way PostgreSQL's manual advises ("Populating a Database"): the
tables' secondary indexes, unique and foreign-key constraints are dropped first and created again afterwards, so
each index is built once by sorting and each foreign key is checked by one join instead of a lookup per row.

Invariant: used inside one transaction, which drops and re-creates them from their own definitions
(`pg_get_indexdef`, `pg_get_constraintdef`), the schema afterwards is exactly the one before, and a load that fails
rolls back with the schema untouched. Primary keys and check constraints stay (rows are keyed as they go in; checks
are cheap). PostgreSQL only.
"""

from dataclasses import dataclass, field

from django.db import connection

_INDEXES = """
SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                  WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
ORDER BY c.relname
"""
_CONSTRAINTS = """
SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %s::regclass AND contype IN ('u', 'f')
ORDER BY conname
"""


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@dataclass
class SetAside:
    """The secondary indexes and unique / foreign-key constraints of `tables`, while they are dropped."""

    tables: list[str]
    indexes: list[str] = field(default_factory=list)  # CREATE INDEX ...
    unique: list[str] = field(default_factory=list)  # ALTER TABLE ... ADD CONSTRAINT ... UNIQUE
    foreign_keys: list[str] = field(default_factory=list)  # ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY

    def drop(self) -> None:
        if not connection.in_atomic_block:
            raise RuntimeError("indexes are set aside inside a transaction only")
        with connection.cursor() as cursor:
            for table in self.tables:
                cursor.execute(_CONSTRAINTS, [table])
                for name, kind, definition in cursor.fetchall():
                    add = f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}"
                    (self.unique if kind == "u" else self.foreign_keys).append(add)
                    cursor.execute(f"ALTER TABLE {_quote(table)} DROP CONSTRAINT {_quote(name)}")
                cursor.execute(_INDEXES, [table])
                for name, definition in cursor.fetchall():
                    self.indexes.append(definition)
                    cursor.execute(f"DROP INDEX {_quote(name)}")

    def restore(self) -> None:
        """Indexes and unique constraints first, then the foreign keys (checked now, against those indexes)."""
        with connection.cursor() as cursor:
            for statement in self.indexes + self.unique + self.foreign_keys:
                cursor.execute(statement)
        self.indexes, self.unique, self.foreign_keys = [], [], []

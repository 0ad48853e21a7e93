"""Database engines: SQLite in WAL mode by default, PostgreSQL by URL; migrations with Alembic."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url

log = logging.getLogger("evalfed.storage")

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 32 * 1024
"""Page cache per SQLite connection (SQLite's default is 2 MiB). Record ids are hashes, so
each insert lands on a random page of the id index; a cache that holds the index keeps those
pages from being read again for every batch (raw inserts of 5,000 rows a transaction into a
300,000-row table: 37 to 31 µs of CPU per row). A longer WAL (wal_autocheckpoint 10,000) made
inserts cheaper too, but catch-up from such a node slower (its reads walk the WAL), so the
checkpoint is left at SQLite's default."""


def make_engine(url: str) -> Engine:
    """An engine for `url`; `postgresql://` URLs use psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_owner_only(Path(parsed.database))
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No server-side prepared statements: their generic plans, made while a table is still
    # small, keep scanning it once it is large (seen with 300,000 records: 3 s per query).
    return create_engine(
        parsed,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"prepare_threshold": None},
    )


def _create_owner_only(path: Path) -> None:
    """Creates the database file 0600 before SQLite does (SQLite would make it 0644, and gives
    its -wal and -shm files the database file's permissions)."""
    if not path.exists() and path.parent.is_dir():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest revision (a no-op when it is already there), all in one
    transaction: a node stopped mid-migration restarts from the revision it had."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        if is_sqlite(engine):
            _transactional_ddl(connection)
        with connection.begin():
            current = MigrationContext.configure(connection).get_current_revision()
            if current != head:
                log.info("migrating the database schema from %s to %s", current or "empty", head)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def _transactional_ddl(connection: Connection) -> None:
    """pysqlite begins transactions only before INSERT, UPDATE and DELETE, so each ALTER TABLE
    committed on its own: a node killed while 0004 filled in key_id kept the new columns at
    revision 0003 and could not start again ("duplicate column name: key_id"). Here SQLite
    itself runs the transaction, and its BEGIN covers the DDL too (SQLAlchemy's pysqlite
    recipe, on this one connection only)."""
    connection.execution_options(isolation_level="AUTOCOMMIT")
    event.listen(connection, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))

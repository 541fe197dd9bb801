"""Database engine, sessions and the declarative base shared by every part.

SQLite is the embedded default (WAL, foreign keys on, writing transactions serialised with
``BEGIN IMMEDIATE`` so a read-then-write transaction never fails half way, reading ones not);
PostgreSQL through psycopg 3 serves several processes at once.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sqlite3
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    DateTime,
    Engine,
    Enum,
    MetaData,
    Result,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from crrt.core.config import PRIVATE_FILE, make_private_dir

log = logging.getLogger("crrt.db")

READ_ONLY = "crrt_read_only"
QUERY_ONLY = "crrt_query_only"  # SQLite: whether the connection has PRAGMA query_only on

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every table of crrt; one metadata so one migration chain covers them all."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC instant: stored naive-UTC on every engine, always returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC instant is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and drive them with psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def withheld(orig: BaseException) -> str | None:
    """A PostgreSQL error's message without what may quote the data: its DETAIL ("Key
    (email)=(…) already exists", "Failing row contains (…)"), its CONTEXT and HINT, and the
    whole message of a data exception (class 22: "invalid input syntax …: "<the value>"").
    What is left names the constraint, table and column and the SQLSTATE. None for an error
    that is not PostgreSQL's own (SQLite's messages name columns, never values)."""
    sqlstate = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    if not sqlstate or diag is None:
        return None
    primary = None if sqlstate.startswith("22") else diag.message_primary
    named = [f"{what} {name}" for what, name in (("constraint", diag.constraint_name),
                                                  ("table", diag.table_name),
                                                  ("column", diag.column_name)) if name]
    return (f"{primary or type(orig).__name__} (SQLSTATE {sqlstate}"
            f"{''.join('; ' + n for n in named)}; detail withheld)")


def refusal(exc: DBAPIError) -> str:
    """What a log may say of a database's refusal: the SQLSTATE and the constraint's name on
    PostgreSQL, SQLite's own message (which names the columns, never the values) on SQLite."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    if sqlstate and diag is not None:
        return f"SQLSTATE {sqlstate}, constraint {diag.constraint_name or '-'}, " \
               f"table {diag.table_name or '-'}"
    if isinstance(orig, sqlite3.Error):
        return f"{type(orig).__name__}: {orig}"
    return type(orig).__name__


def _withhold_details(context: ExceptionContext) -> None:
    """Rewrite a PostgreSQL error's message where it is raised (see :func:`withheld`), so no
    log, traceback or stored job error can carry the values it quotes. ``diag`` keeps the
    structured fields for code that needs them."""
    orig = context.original_exception
    safe = withheld(orig)
    if safe is None:
        return
    orig.args = (safe,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:  # its message was copied from the driver's when it was made
        wrapped.args = (f"({type(orig).__module__}.{type(orig).__name__}) {safe}",)


def _create_private(path: Path) -> None:
    """Create an empty SQLite database file readable by this account alone (0600), in a
    private folder, whatever the umask. SQLite gives its -wal and -shm files the mode of the
    database file, so they are private too. An existing file keeps its mode."""
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE)  # the umask may have narrowed it; never left wider
    finally:
        os.close(fd)


def json_text(value: Any) -> str:
    """A JSON column's text: orjson (several times faster, and the STIX store writes its
    objects by the thousand), the standard library for what orjson refuses (integers past
    64 bits, keys that are not strings)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the per-backend settings crrt relies on.

    Statement parameters never appear in an error's message (``hide_parameters``): they are
    the data, names and e-mail addresses among them, and messages reach the logs.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_serializer", json_text)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
        event.listen(engine, "handle_error", _withhold_details)

        @event.listens_for(engine, "begin")
        def _read_only(connection: Any) -> None:
            # psycopg starts the transaction itself, as BEGIN READ ONLY when asked: no
            # statement of ours, no round trip (the connection is idle until the first one).
            reading = connection.get_execution_options().get(READ_ONLY, False)
            driver = connection.connection.driver_connection
            if not hasattr(driver, "read_only"):  # a driver other than psycopg 3
                if reading:
                    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                return
            # None, not False, for a writer: psycopg then sends a plain BEGIN, and a server
            # set to default_transaction_read_only (maintenance) still refuses the write.
            wanted = True if reading else None
            if driver.read_only is not wanted:
                driver.read_only = wanted

        return engine

    if parsed.database and parsed.database != ":memory:":
        _create_private(Path(parsed.database))
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        # SQLite's own lower()/upper() know only ASCII; names here are Lithuanian, Polish...
        for name, fold in (("lower", str.lower), ("upper", str.upper)):
            dbapi_connection.create_function(
                name, 1, lambda v, fold=fold: fold(v) if isinstance(v, str) else v,
                deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        reading = connection.get_execution_options().get(READ_ONLY, False)
        pooled = connection.connection
        # Straight to the driver: these two carry no data and no parameters, and every
        # request runs them. query_only stays set on the connection, so it changes only
        # when the kind of transaction does (reads follow reads on a busy server).
        if pooled.info.get(QUERY_ONLY) is not reading:
            _driver_execute(connection, f"PRAGMA query_only = {'ON' if reading else 'OFF'}")
            pooled.info[QUERY_ONLY] = reading
        _driver_execute(connection, "BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def _driver_execute(connection: Any, statement: str) -> None:
    """Run ``statement`` on the driver's connection; its errors (a busy database) surface as
    SQLAlchemy's, like those of any other statement, and one that lost the connection drops
    it from the pool."""
    pooled = connection.connection
    try:
        pooled.driver_connection.execute(statement)
    except sqlite3.Error as error:
        lost = connection.dialect.is_disconnect(error, pooled.dbapi_connection, None)
        if lost:
            pooled.invalidate(error)
        raise DBAPIError.instance(statement, None, error, sqlite3.Error,
                                  connection_invalidated=lost) from error


def removed(result: Result[Any]) -> int:
    """How many rows a bulk UPDATE or DELETE touched (its cursor's row count)."""
    return result.rowcount if isinstance(result, CursorResult) else 0


def serialise(db: Session, key: str) -> None:
    """Make the writers that name ``key`` run one at a time, until this transaction ends:
    a check-then-write (one lead at a time, a count of sign-in failures) then holds.

    PostgreSQL takes a transaction-level advisory lock on the key; SQLite needs nothing, as
    its writing transactions run one at a time already (``BEGIN IMMEDIATE``).
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` talks to SQLite (some statements differ)."""
    return engine.dialect.name == "sqlite"


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    """A read-only session that tries to write is a bug: fail loudly, in tests first."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only session (a GET) tried to write; use WriteDb")


class Database:
    """One engine and its session factory: what the app, the CLI and the worker hold."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        # What every session of this database carries in ``Session.info`` (the audit chain's
        # key, bound by the app, the CLI and the tests): read when a session opens.
        self.info: dict[str, Any] = {}
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info=self.info)
        # Reads take no write lock on SQLite, so they run side by side with each other.
        self.read_sessions = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}),
                                          expire_on_commit=False, info=self.info)
        event.listen(self.read_sessions, "before_flush", _refuse_writes)

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error.

        ``read_only`` is a promise to write nothing; on SQLite it starts a plain ``BEGIN``
        instead of ``BEGIN IMMEDIATE``, so readers do not queue behind one another.
        """
        db = self.open(read_only=read_only)
        try:
            yield db
        except BaseException as error:
            self.finish(db, error)
            raise
        self.finish(db)

    def open(self, *, read_only: bool = False) -> Session:
        """A session that connects at its first statement (so opening it does no I/O); end it
        with :meth:`finish`. :meth:`session` is the usual way; the HTTP edge opens and
        finishes apart, so that only the finishing waits for a thread."""
        return (self.read_sessions if read_only else self.sessions)()

    @staticmethod
    def finish(db: Session, error: BaseException | None = None) -> None:
        """Commit ``db``'s work, or roll it back when ``error`` ended it or the commit fails;
        then close it."""
        try:
            if error is None:
                db.commit()
            else:
                db.rollback()
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()

    def dispose(self) -> None:
        self.engine.dispose()


def str_enum(cls: type) -> Enum:
    """A column for a ``StrEnum``: stored as its value in a VARCHAR, the same on every engine."""
    return Enum(cls, native_enum=False, length=32, validate_strings=True,
                values_callable=lambda members: [m.value for m in members])


@dataclass
class Inserted:
    """What :func:`insert_rows` did: how many rows went in (those skipped not counted) and,
    when asked for and the database gives them back (PostgreSQL), their ``returning``
    columns."""

    count: int
    rows: list[tuple[Any, ...]] | None = None


_UNSEEN = object()
# the same object, the same value (a datetime is a date)
_IMMUTABLE = (date, str, int, float, enum.Enum, uuid.UUID, type(None))


def _row_values(dialect: Any, table: Table, names: Sequence[str]
                ) -> Callable[[Mapping[str, Any]], list[Any]]:
    """What turns a row into its values for ``names`` (the table's own columns: ``table.c``
    refuses any other), each through its column type's bind processor, only for the columns
    whose type has one (a JSON, a time)."""
    # each: where, the processor, and the last value it was given and gave back: a bulk load's
    # rows share one instant, one enum, and a processor costs microseconds a call
    memos: list[list[Any]] = [
        [at, process, _UNSEEN, None] for at, name in enumerate(names)
        if (process := table.c[name].type.bind_processor(dialect)) is not None]

    def values_of(row: Mapping[str, Any]) -> list[Any]:
        value = [row[name] for name in names]
        for memo in memos:
            at, process, seen, out = memo
            given = value[at]
            if given is not seen or not isinstance(given, _IMMUTABLE):
                out = process(given)
                memo[2], memo[3] = given, out
            value[at] = out
        return value
    return values_of


def _prepared(connection: Any, table: Table, rows: Sequence[Mapping[str, Any]]
              ) -> tuple[list[str], list[list[Any]]]:
    """The rows' column names and their values (:func:`_row_values`)."""
    names = list(rows[0])
    values_of = _row_values(connection.dialect, table, names)
    return names, [values_of(row) for row in rows]


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], *,
                skip_existing: bool = False, returning: Sequence[str] = ()) -> Inserted:
    """Insert many rows as plain SQL through the driver, each value through its column
    type's own bind processor; with ``skip_existing``, rows a unique constraint already
    holds are skipped. For the bulk paths (thousands of rows a request), where SQLAlchemy's
    per-row machinery costs more than the inserts themselves: SQLite (in the process) takes
    one executemany; PostgreSQL a COPY into a staging table of the session's, then one
    INSERT from it (a third of the time of as many INSERTs, and no statement to re-parse),
    or, with nothing to skip and nothing to give back, a COPY straight into the table.
    """
    if not rows:
        return Inserted(0, [] if returning else None)
    table = cast(Table, model.__table__)
    connection = session.connection()
    dialect = connection.dialect
    names, values = _prepared(connection, table, rows)
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    tail = " ON CONFLICT DO NOTHING" if skip_existing else ""
    if dialect.name != "postgresql":
        marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in names)
        done = connection.exec_driver_sql(
            f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks}){tail}",  # noqa: S608
            [tuple(value) for value in values])
        return Inserted(int(max(done.rowcount, 0)))  # sqlite3 sums an executemany's changes
    staging = quote(f"crrt_bulk_{table.name}")
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, _driver_errors(connection, f"COPY {table.name}"):
        if not skip_existing and not returning:  # nothing to skip: straight into the table
            _copy(cursor, quote(table.name), columns, values)
            _keep_statistics(cursor, connection.engine, table.name, quote(table.name), len(values))
            return Inserted(len(values))
        # the columns' types, nothing else (no defaults: no sequence spent), for this
        # connection's life, emptied at each commit and after each use
        shape = f"SELECT * FROM {quote(table.name)} WITH NO DATA"  # noqa: S608
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS "
                       f"AS {shape}")
        _copy(cursor, staging, columns, values)
        back = f" RETURNING {', '.join(quote(table.c[n].name) for n in returning)}" \
            if returning else ""
        cursor.execute(f"INSERT INTO {quote(table.name)} ({columns}) "  # noqa: S608
                       f"SELECT {columns} FROM {staging}{tail}{back}")
        inserted = max(cursor.rowcount, 0)  # not those a unique constraint already held
        given = [tuple(row) for row in cursor.fetchall()] if returning else None
        cursor.execute(f"DELETE FROM {staging}")  # noqa: S608 - TRUNCATE costs a new file
        _keep_statistics(cursor, connection.engine, table.name, quote(table.name), inserted)
    return Inserted(inserted, given)


@contextmanager
def _driver_errors(connection: Any, statement: str) -> Iterator[None]:
    """The errors of the driver's own cursor (the bulk paths' COPY and their statements) as
    SQLAlchemy's, like those of any other statement: their message withheld as
    :func:`withheld` says, the request's error handlers matching them (a conflict is a 409),
    and a connection that was lost dropped from the pool."""
    try:
        yield
    except psycopg.Error as error:
        pooled = connection.connection
        lost = connection.dialect.is_disconnect(error, pooled.dbapi_connection, None)
        if lost:
            pooled.invalidate(error)
        safe = withheld(error)
        if safe is not None:
            error.args = (safe,)
        raise DBAPIError.instance(statement, None, error, psycopg.Error,
                                  connection_invalidated=lost) from error


def _copy(cursor: Any, target: str, columns: str, values: list[list[Any]]) -> None:
    with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)


def _insert_fresh_sqlite(session: Session, connection: Any, table: Table, names: list[str],
                         values: list[list[Any]]) -> list[int] | None:
    """SQLite's way: a writing transaction holds the database's one write lock from its
    BEGIN IMMEDIATE, so the ids after the highest are this transaction's to give (what
    SQLite itself would give a table without AUTOINCREMENT); one executemany, in a
    savepoint."""
    quote = connection.dialect.identifier_preparer.quote
    highest = connection.exec_driver_sql(
        f"SELECT coalesce(max(id), 0) FROM {quote(table.name)}").scalar()  # noqa: S608
    ids = list(range(int(highest) + 1, int(highest) + 1 + len(values)))
    for value, given in zip(values, ids, strict=True):
        value.append(given)
    columns = ", ".join(quote(n) for n in [*names, "id"])
    marks = ", ".join("?" for _ in range(len(names) + 1))
    try:
        with session.begin_nested():  # its SAVEPOINT goes with the session's next statement
            session.connection().exec_driver_sql(
                f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})",  # noqa: S608
                [tuple(value) for value in values])
    except IntegrityError:
        return None
    return ids


# each table's id sequence and primary key constraint, by engine: asked of the database once
_SEQUENCES: weakref.WeakKeyDictionary[Engine, dict[str, tuple[str | None, str | None]]] = \
    weakref.WeakKeyDictionary()


@dataclass
class FreshRows:
    """Rows going into a table as they are made (:func:`fresh_rows`): ``add`` one; once the
    block ends, ``ids`` holds each added row's new id in order, or None when a unique
    constraint held one of them already and none went in."""

    add: Callable[[Mapping[str, Any]], None]
    ids: list[int] | None = None


@contextmanager
def fresh_rows(session: Session, model: type[Base], columns: Sequence[str], *,
               expected: int) -> Iterator[FreshRows]:
    """Insert rows that no unique constraint is expected to hold yet, as the block makes
    them, at most ``expected``; their ids are given first, so nothing is looked up and
    nothing handles conflicts row by row. On PostgreSQL the ids are drawn from the table's
    sequence and each row goes into a COPY straight into the table as soon as it is added,
    so the database stores the first rows while the block still makes the last (the
    block must not use the session meanwhile: the connection is busy with the COPY); on
    SQLite the rows are gathered and given the ids after the highest, one executemany at
    the end. Either in a savepoint. When a row was held already, nothing is written and
    ``ids`` is None: the caller then takes :func:`insert_rows` with ``skip_existing``. That
    is the bulk load's usual case (new objects); a repeated one pays a refused insert (and
    on PostgreSQL the ids it drew), so a caller that knows some are there goes to
    :func:`insert_rows` directly. An id already
    taken is an error, never a row skipped."""
    connection = session.connection()
    table = cast(Table, model.__table__)
    dialect = connection.dialect
    names = list(columns)
    value_of = _row_values(dialect, table, names)
    if dialect.name != "postgresql":
        gathered: list[list[Any]] = []
        out = FreshRows(lambda row: gathered.append(value_of(row)))
        yield out
        if not gathered:
            out.ids = []
        elif dialect.name == "sqlite":
            out.ids = _insert_fresh_sqlite(session, connection, table, names, gathered)
        return  # another database: ids None, the caller's insert that skips does it
    quote = dialect.identifier_preparer.quote
    driver = connection.connection.driver_connection
    assert driver is not None
    sequences = _SEQUENCES.setdefault(connection.engine, {})
    with driver.cursor() as cursor, _driver_errors(connection, f"COPY {table.name}"):
        if table.name not in sequences:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id'), (SELECT conname FROM "
                           "pg_constraint WHERE conrelid = %s::regclass AND contype = 'p')",
                           (table.name, quote(table.name)))
            sequences[table.name] = tuple(cursor.fetchone())
        sequence, primary_key = sequences[table.name]
        if sequence is None or expected == 0:  # no sequence gives this table its ids
            out = FreshRows(lambda row: None)
            yield out
            out.ids = None if sequence is None else []
            return
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                       (sequence, expected))
        drawn = iter([row[0] for row in cursor.fetchall()])
        given: list[int] = []
        out = FreshRows(lambda row: None)
        failed: BaseException | None = None
        cursor.execute("SAVEPOINT crrt_fresh")
        try:
            with cursor.copy(f"COPY {quote(table.name)} "
                             f"({', '.join(quote(n) for n in [*names, 'id'])}) FROM STDIN"
                             ) as copy:

                def add(row: Mapping[str, Any]) -> None:
                    value = value_of(row)
                    given_id = next(drawn, None)
                    if given_id is None:
                        raise RuntimeError(f"more rows than the {expected} expected")
                    given.append(given_id)
                    value.append(given_id)
                    copy.write_row(value)

                out.add = add
                try:
                    yield out
                except BaseException as exc:  # the block's own failure, never swallowed
                    failed = exc
                    raise
        except psycopg.errors.UniqueViolation as error:
            if failed is not None:  # the COPY was cut short by the block's failure
                raise failed from None
            if error.diag.constraint_name == primary_key:
                raise  # an id the sequence gave is taken: the sequence is behind, not skipped
            cursor.execute("ROLLBACK TO SAVEPOINT crrt_fresh")  # the ids drawn stay unused
            cursor.execute("RELEASE SAVEPOINT crrt_fresh")
            out.ids = None
            return
        cursor.execute("RELEASE SAVEPOINT crrt_fresh")
        out.ids = given
        _keep_statistics(cursor, connection.engine, table.name, quote(table.name), len(given))


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` for the bulk paths' batches of hundreds: on PostgreSQL as
    ``= ANY`` of one array parameter (one parameter to send and plan, not hundreds: a batch
    of 500 ids is read in half the time); elsewhere a plain IN."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[bool], column == any_(
            bindparam(None, list(values), type_=ARRAY(column.type))))
    return cast(ColumnElement[bool], column.in_(values))


STALE_ROWS = 1000  # rows a table may gain before its planner statistics are worth renewing
# for each engine, the rows this process may still insert into a table before it asks the
# database whether the table needs analysing: the question costs a round trip, and most
# inserts are far from it
_UNASKED: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()


def _keep_statistics(cursor: Any, engine: Engine, name: str, quoted: str, added: int) -> None:
    """Analyse a table that this insert takes to twice the rows the planner last counted (or
    past :data:`STALE_ROWS`, if it never counted), in this transaction, which sees its own
    rows. Until autovacuum gets there, a minute or more, the planner plans for the table as
    it was: for a page of a collection, a sort of the whole collection instead of a walk down
    its index (50 ms a page of 1,000 instead of 6). Doubling keeps it to a few analyses in a
    table's life, and the database is asked only once this process has inserted as many
    rows as were still wanting at its last answer. A best effort, never a failure of the
    insert: skipped after 200 ms if another transaction holds the table's statistics lock
    (left to autovacuum), and a rolled-back load leaves the count high, so the next
    analysis comes later."""
    _unasked = _UNASKED.setdefault(engine, {})
    wanting = _unasked.get(name, 0) - added
    if wanting > 0:
        _unasked[name] = wanting
        return
    cursor.execute("SELECT greatest(reltuples, 0), pg_stat_get_live_tuples(oid) FROM pg_class "
                   "WHERE oid = %s::regclass", (name,))
    counted, live = cursor.fetchone()
    threshold = max(STALE_ROWS, 2 * counted)
    if live + added < threshold:
        _unasked[name] = int(threshold - live - added)
        return
    _unasked[name] = int(max(STALE_ROWS, live + added))  # the count once analysed, doubled
    cursor.execute("SAVEPOINT crrt_statistics")
    try:
        cursor.execute("SELECT current_setting('lock_timeout'), "
                       "set_config('lock_timeout', '200ms', true)")
        before = cursor.fetchone()[0]
        cursor.execute(f"ANALYZE {quoted}")
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", (before,))
    except psycopg.Error as exc:  # the lock held elsewhere, above all
        cursor.execute("ROLLBACK TO SAVEPOINT crrt_statistics")  # undoes the timeout too
        log.info("statistics of %s left to autovacuum: %s", name, type(exc).__name__)
    cursor.execute("RELEASE SAVEPOINT crrt_statistics")

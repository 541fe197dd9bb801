"""The database layer: SQLite set up for safe concurrent use, UTC instants on every engine."""

from __future__ import annotations

import logging
import stat
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, String, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crrt.core.db import (
    STALE_ROWS,
    Database,
    UTCDateTime,
    fresh_rows,
    insert_rows,
    is_sqlite,
    normalise_url,
    refusal,
)
from crrt.organisations.enums import OrgKind
from crrt.organisations.models import Institution, Organisation


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/fresh/crrt.db")
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert is_sqlite(database.engine)
        assert (tmp_path / "fresh").is_dir()  # the data folder is made on first use
    finally:
        database.dispose()


def test_foreign_keys_are_enforced_on_every_engine(database):
    with pytest.raises(IntegrityError), database.session() as db:
        db.add(Institution(organisation_id=999_999, name="Ghost CSIRT", kind="csirt"))
        db.flush()


def test_a_utc_instant_comes_back_aware_and_equal(database):
    moment = datetime(2030, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with database.session() as db:
        db.add(Organisation(code="XA", name="Somewhere", kind=OrgKind.NATION,
                            created_at=moment))
    with database.session() as db:
        stored = db.scalars(select(Organisation.created_at)
                            .where(Organisation.code == "XA")).one()
    assert stored == moment
    assert stored.tzinfo is UTC
    assert stored.hour == 7


def test_a_naive_datetime_is_refused(database):
    with pytest.raises(StatementError, match="naive datetime"), database.session() as db:
        db.add(Organisation(code="XB", name="Nowhere", kind=OrgKind.NATION,
                            created_at=datetime(2030, 1, 1, 0, 0)))
        db.flush()


def test_a_session_commits_on_success_and_rolls_back_on_error(database):
    with pytest.raises(RuntimeError), database.session() as db:
        db.add(Organisation(code="XC", name="Rolled back", kind=OrgKind.NATION))
        db.flush()
        raise RuntimeError("boom")
    with database.session() as db:
        db.add(Organisation(code="XD", name="Kept", kind=OrgKind.NATION))
    with database.session() as db:
        codes = set(db.scalars(select(Organisation.code)))
    assert codes == {"XD"}


def test_plain_postgresql_urls_are_driven_by_psycopg3():
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_writers_wait_instead_of_failing(tmp_path):
    """BEGIN IMMEDIATE plus busy_timeout: a second writer queues behind the first."""
    import threading

    url = f"sqlite:///{tmp_path}/busy.db"
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            connection.execute(text("CREATE TABLE counter (n INTEGER)"))
            connection.execute(text("INSERT INTO counter VALUES (0)"))

        def bump() -> None:
            for _ in range(25):
                with database.session() as db:
                    n = db.execute(text("SELECT n FROM counter")).scalar_one()
                    db.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

        threads = [threading.Thread(target=bump) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with database.session() as db:
            assert db.execute(text("SELECT n FROM counter")).scalar_one() == 50
    finally:
        database.dispose()


def test_a_writer_that_waits_too_long_fails_as_sqlalchemy_says_so(tmp_path):
    """The transaction starts on the driver directly; its busy error still comes as
    SQLAlchemy's OperationalError, which the HTTP edge answers with a 503 and Retry-After."""
    from sqlalchemy.exc import OperationalError

    database = Database(f"sqlite:///{tmp_path}/locked.db")
    try:
        with database.session() as holder:
            holder.execute(text("CREATE TABLE t (n INTEGER)"))  # holds the write lock
            impatient = database.engine.raw_connection()  # the pool's other connection
            impatient.driver_connection.execute("PRAGMA busy_timeout = 50")
            impatient.close()
            with pytest.raises(OperationalError, match="locked"), database.session() as db:
                db.execute(text("SELECT 1"))
    finally:
        database.dispose()


def test_a_read_only_session_refuses_to_write(database):
    with pytest.raises(RuntimeError, match="read-only"), database.session(read_only=True) as db:
        db.add(Organisation(code="xx-ro", name="Read only", kind=OrgKind.PARTNER))
        db.flush()


def test_reads_go_on_while_a_writer_holds_its_transaction(database, client, world):
    """On SQLite a GET takes no write lock, so it is not queued behind a long write.

    The writer is held by this very thread, so a read that needed its lock could never get
    it: it would give up after the busy timeout with a 503, never answer 200."""
    from crrt.access.enums import Role

    client.get("/api/v1/organisations", headers=world.headers(Role.OBSERVER))  # token use noted
    with database.session() as writer:
        writer.execute(text("UPDATE organisations SET name = name WHERE code = 'LT'"))
        response = client.get("/api/v1/organisations", headers=world.headers(Role.OBSERVER))
        assert writer.in_transaction()  # the write is still open while the read answered
    assert response.status_code == 200


def test_a_read_only_session_refuses_core_statements_too(database):
    """Statements that bypass the ORM's flush are refused by the database itself."""
    from sqlalchemy import delete, insert, update
    from sqlalchemy.exc import DBAPIError

    with database.session() as db:
        db.add(Organisation(code="xx-kept", name="Kept as it was", kind=OrgKind.PARTNER))
    statements = [
        update(Organisation).where(Organisation.code == "xx-kept").values(name="Changed"),
        delete(Organisation).where(Organisation.code == "xx-kept"),
        insert(Organisation).values(code="xx-new", name="New", kind=OrgKind.PARTNER,
                                    created_at=datetime(2030, 1, 1, tzinfo=UTC)),
    ]
    for statement in statements:
        with pytest.raises(DBAPIError, match=r"(?i)read-?only"), \
                database.session(read_only=True) as db:
            db.execute(statement)
    with database.session() as db:
        assert db.execute(select(Organisation.code, Organisation.name)
                          .where(Organisation.code.like("xx-%"))).all() == [
            ("xx-kept", "Kept as it was")]
        # the pooled connection writes again once it leaves read-only use
        db.execute(update(Organisation).where(Organisation.code == "xx-kept")
                   .values(name="Renamed"))
    with database.session(read_only=True) as db:
        assert db.scalar(select(Organisation.name).where(Organisation.code == "xx-kept")) == \
            "Renamed"


def test_one_connection_reads_writes_and_reads_again_as_each_session_says(database):
    """The kind of transaction is set on the connection at each begin (PRAGMA query_only on
    SQLite, psycopg's read_only on PostgreSQL): with one pooled connection going from
    reading to writing and back, each session gets its own kind."""
    from sqlalchemy import update
    from sqlalchemy.exc import DBAPIError

    one = Database(database.url, pool_size=1, max_overflow=0)
    rename = update(Organisation).where(Organisation.code == "xx-one").values(name="Renamed")
    try:
        with one.session() as db:
            db.add(Organisation(code="xx-one", name="One", kind=OrgKind.PARTNER))
        for _ in range(2):
            with pytest.raises(DBAPIError, match=r"(?i)read-?only"), \
                    one.session(read_only=True) as db:
                db.execute(rename)
            with one.session() as db:
                db.execute(rename)
        with one.session(read_only=True) as db:
            assert db.scalar(select(Organisation.name)
                             .where(Organisation.code == "xx-one")) == "Renamed"
    finally:
        one.dispose()


SECRET = "kadri.saar@ria.ee.example"


def _told(exc: BaseException) -> str:
    """Everything a log could say of ``exc``: its traceback, chained driver errors included."""
    import traceback

    return "".join(traceback.format_exception(exc))


@pytest.mark.parametrize("case", ["duplicate", "null", "cast"])
def test_a_refused_statement_never_carries_the_data_in_its_message(database, case):
    """PostgreSQL quotes the data in an error's DETAIL (the duplicate key, the whole failing
    row) and a data exception's message quotes the input; SQLAlchemy adds the parameters.
    Logs, tracebacks and stored job errors all take the message: none of it may hold data."""
    statements = {
        "duplicate": ("INSERT INTO organisations (code, name, kind, created_at) VALUES "
                      "(:v, 'x', 'partner', '2030-01-01'), (:v, 'y', 'partner', '2030-01-01')"),
        "null": ("INSERT INTO organisations (code, name, kind, created_at) VALUES "
                 "(:v, NULL, 'partner', '2030-01-01')"),
        "cast": "SELECT CAST(:v AS INTEGER) + 1 WHERE CAST(:v AS INTEGER) > 0",
    }
    try:
        with database.session() as db:
            value = db.execute(text(statements[case]), {"v": SECRET}).scalar()
    except DBAPIError as exc:
        told = _told(exc)
        assert SECRET not in told
        if database.engine.dialect.name == "postgresql":
            assert "SQLSTATE" in told and "detail withheld" in told
            assert exc.orig.diag.message_detail or case == "cast"  # kept for code to read
        if case == "duplicate":
            assert "uq_organisations_code" in refusal(exc) or "organisations.code" in \
                refusal(exc)
    else:  # SQLite casts any text to a number (0)
        assert case == "cast" and is_sqlite(database.engine) and value is None


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_is_private_whatever_the_umask(tmp_path, permissive_umask):
    """The database holds every expert's personal data: its folder is 0700, the file and its
    -wal and -shm companions 0600, even under a umask of 0."""
    folder = tmp_path / "data" / "var"
    database = Database(f"sqlite:///{folder}/crrt.db")
    try:
        with database.session() as db:
            db.execute(text("CREATE TABLE people (email TEXT)"))
            db.execute(text("INSERT INTO people VALUES (:e)"), {"e": SECRET})
        with database.session(read_only=True) as db:  # -wal and -shm exist while it is open
            assert db.execute(text("SELECT count(*) FROM people")).scalar() == 1
            modes = {name: _mode(folder / name) for name in ("crrt.db", "crrt.db-wal",
                                                               "crrt.db-shm")}
    finally:
        database.dispose()
    assert modes == {"crrt.db": 0o600, "crrt.db-wal": 0o600, "crrt.db-shm": 0o600}
    assert _mode(folder) == 0o700 and _mode(folder.parent) == 0o700


def test_an_existing_database_and_folder_keep_the_mode_they_were_given(tmp_path):
    (tmp_path / "shared").mkdir(mode=0o750)
    (tmp_path / "shared").chmod(0o750)
    path = tmp_path / "shared" / "crrt.db"
    path.touch()
    path.chmod(0o640)  # say, read by a backup group
    Database(f"sqlite:///{path}").dispose()
    assert (_mode(tmp_path / "shared"), _mode(path)) == (0o750, 0o640)


# --- bulk inserts keep PostgreSQL's planner statistics fresh -----------------------------------

class _Bulk(DeclarativeBase):
    pass


class _Row(_Bulk):
    __tablename__ = "test_bulk_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(40))


class _Keyed(_Bulk):
    __tablename__ = "test_bulk_keyed"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(40), unique=True)


@pytest.fixture
def bulk_table(database):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's bulk path (COPY, planner statistics); SQLite takes one "
                    "executemany and its planner needs no statistics")
    _Bulk.metadata.create_all(database.engine)
    yield database
    _Bulk.metadata.drop_all(database.engine)


def _planned_rows(connection) -> float:
    return connection.exec_driver_sql(
        "SELECT reltuples FROM pg_class WHERE oid = 'test_bulk_rows'::regclass").scalar()


def test_a_bulk_load_past_the_threshold_is_analysed_in_its_own_transaction(bulk_table):
    with bulk_table.session() as db:
        insert_rows(db, _Row, [{"value": f"v{n}"} for n in range(10)])
        assert _planned_rows(db.connection()) < 0  # a few rows: left to autovacuum
        insert_rows(db, _Row, [{"value": f"v{n}"} for n in range(STALE_ROWS + 500)])
        assert _planned_rows(db.connection()) == STALE_ROWS + 510  # seen by this transaction
        assert db.connection().exec_driver_sql("SHOW lock_timeout").scalar() == "0"
    with bulk_table.engine.connect() as connection:
        assert _planned_rows(connection) == STALE_ROWS + 510  # and kept by its commit


def test_a_bulk_load_waits_at_most_a_moment_for_a_statistics_lock_held_elsewhere(bulk_table,
                                                                               caplog):
    caplog.set_level(logging.INFO, logger="crrt.db")
    with bulk_table.engine.connect() as other:
        other.exec_driver_sql("BEGIN")
        other.exec_driver_sql("LOCK TABLE test_bulk_rows IN SHARE UPDATE EXCLUSIVE MODE")
        started = time.monotonic()
        with bulk_table.session() as db:
            insert_rows(db, _Row, [{"value": f"v{n}"} for n in range(STALE_ROWS + 1)])
            assert _planned_rows(db.connection()) < 0  # not analysed: the lock was taken
            assert db.connection().exec_driver_sql("SHOW lock_timeout").scalar() == "0"
            insert_rows(db, _Row, [{"value": "after"}])  # the transaction goes on
        assert time.monotonic() - started < 5
        assert "statistics of test_bulk_rows left to autovacuum: LockNotAvailable" in caplog.text
        other.exec_driver_sql("ROLLBACK")
    with bulk_table.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM test_bulk_rows").scalar() == \
            STALE_ROWS + 2


# --- rows expected new go in with their ids given first ----------------------------------------

@pytest.fixture
def keyed_table(database):
    _Keyed.__table__.create(database.engine)
    yield database
    _Keyed.__table__.drop(database.engine)


def insert_fresh(db, model, rows: list[dict]) -> list[int] | None:
    """Rows made already through :func:`fresh_rows`: their new ids, or None."""
    with fresh_rows(db, model, list(rows[0]) if rows else [], expected=len(rows)) as fresh:
        for row in rows:
            fresh.add(row)
    return fresh.ids


def _keyed(db) -> dict[str, int]:
    return dict(db.execute(select(_Keyed.value, _Keyed.id)).tuples().all())


def test_fresh_rows_go_in_with_their_new_ids_in_the_rows_order(keyed_table):
    with keyed_table.session() as db:
        ids = insert_fresh(db, _Keyed, [{"value": f"k{n}"} for n in range(5)])
        assert ids is not None and len(set(ids)) == 5
        assert [_keyed(db)[f"k{n}"] for n in range(5)] == ids
        more = insert_fresh(db, _Keyed, [{"value": "k5"}])
        assert more is not None and more[0] not in ids
        assert insert_fresh(db, _Keyed, []) == []


def test_a_row_held_already_writes_none_of_them_and_the_transaction_goes_on(keyed_table):
    with keyed_table.session() as db:
        insert_fresh(db, _Keyed, [{"value": "k1"}])
    with keyed_table.session() as db:
        assert insert_fresh(db, _Keyed, [{"value": "k0"}, {"value": "k1"},
                                         {"value": "k2"}]) is None
        assert sorted(_keyed(db)) == ["k1"]
        insert_rows(db, _Keyed, [{"value": "k3"}])  # the transaction is still usable
    with keyed_table.session(read_only=True) as db:
        assert sorted(_keyed(db)) == ["k1", "k3"]


def test_an_id_already_taken_is_an_error_not_a_row_skipped(keyed_table):
    if is_sqlite(keyed_table.engine):
        pytest.skip("SQLite gives the ids after the highest: none can be taken")
    with keyed_table.session() as db:  # a row put in by hand, the sequence left behind
        db.execute(text("INSERT INTO test_bulk_keyed (id, value) VALUES (1, 'by hand')"))
    with pytest.raises(IntegrityError), keyed_table.session() as db:
        insert_fresh(db, _Keyed, [{"value": "k0"}])
    with keyed_table.session(read_only=True) as db:
        assert _keyed(db) == {"by hand": 1}


@pytest.mark.parametrize("held", [False, True], ids=["all new", "one held already"])
def test_a_failure_of_the_block_that_makes_the_rows_is_never_swallowed(keyed_table, held):
    if held:  # the database refuses a row too: its refusal must not hide the block's failure
        with keyed_table.session() as db:
            insert_fresh(db, _Keyed, [{"value": "k1"}])
    with pytest.raises(ValueError, match="the block failed"), keyed_table.session() as db, \
            fresh_rows(db, _Keyed, ["value"], expected=3000) as fresh:
        fresh.add({"value": "k1"})
        for n in range(2999):  # enough for the driver to send them, and the database to balk
            fresh.add({"value": f"row {n:05} " + "x" * 20})
        time.sleep(0.2)
        raise ValueError("the block failed")
    with keyed_table.session(read_only=True) as db:
        assert sorted(_keyed(db)) == (["k1"] if held else [])


def test_more_rows_than_expected_is_an_error(keyed_table):
    if is_sqlite(keyed_table.engine):
        pytest.skip("SQLite gathers the rows and gives their ids at the end: none drawn ahead")
    with pytest.raises(RuntimeError, match="more rows than the 1 expected"), \
            keyed_table.session() as db, fresh_rows(db, _Keyed, ["value"], expected=1) as fresh:
        fresh.add({"value": "k0"})
        fresh.add({"value": "k1"})


class _Typed(_Bulk):
    __tablename__ = "test_bulk_typed"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    tags: Mapped[list[str]] = mapped_column(JSON)


def test_rows_that_share_a_value_each_keep_their_own(database):
    """A bulk load's rows share one instant, which goes through its column's processing once;
    a value that can change between rows (a list) is taken as each row has it."""
    _Typed.__table__.create(database.engine)
    try:
        instant = datetime(2026, 11, 28, 12, tzinfo=UTC)
        later, tags = instant + timedelta(hours=1), ["a"]
        with database.session() as db:
            with fresh_rows(db, _Typed, ["at", "tags"], expected=3) as fresh:
                for at in (instant, instant, later):
                    fresh.add({"at": at, "tags": tags})
                    tags.append("b")  # the same list, changed once its row is made
            insert_rows(db, _Typed, [{"at": later, "tags": tags}, {"at": instant, "tags": ["c"]}])
        with database.session(read_only=True) as db:
            rows = db.execute(select(_Typed.at, _Typed.tags).order_by(_Typed.id)).tuples().all()
    finally:
        _Typed.__table__.drop(database.engine)
    assert rows == [(instant, ["a"]), (instant, ["a", "b"]), (later, ["a", "b", "b"]),
                    (later, ["a", "b", "b", "b"]), (instant, ["c"])]

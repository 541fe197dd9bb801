"""Work queued for a transaction's commit: done there once, in one go, before the commit hooks
registered the usual way (so the locks a commit takes come in one order in every process);
what a rolled-back savepoint queued goes with it, and a rollback forgets it all."""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.audit.models import AuditEvent
from crrt.core.at_commit import AtCommit
from crrt.organisations.enums import OrgKind
from crrt.organisations.models import Organisation

ACTOR = Principal.system("test")


def test_the_queue_is_written_at_the_commit_once_before_the_usual_hooks(database):
    order: list[object] = []

    def usual(db: Session) -> None:  # registered first, as the audit log's seal may be
        if db.info.get("test.at_commit.marker") and not db.in_nested_transaction():
            order.append("usual hook")

    event.listen(Session, "before_commit", usual)
    queue: AtCommit[int] = AtCommit("test.at_commit.queue",
                                    lambda db, items: order.append(("written", items)))
    try:
        with database.session() as db:
            db.info["test.at_commit.marker"] = True
            queue.add(db, [1])
            queue.add(db, [2, 3])
            with db.begin_nested():
                queue.add(db, [4])  # released: kept
            with db.begin_nested() as savepoint:
                queue.add(db, [5])
                savepoint.rollback()  # goes with its savepoint
            assert order == []  # nothing before the commit
        with database.session() as db:
            db.info["test.at_commit.marker"] = True
            queue.add(db, [6])
            db.rollback()
        assert order == [("written", [1, 2, 3, 4]), "usual hook", "usual hook"]
    finally:
        event.remove(Session, "before_commit", usual)
        queue.remove()


def test_what_a_savepoint_whose_flush_failed_queued_goes_with_it(database):
    """A flush refused inside a savepoint rolls the savepoint back by way of the flush's own
    transaction: what was queued there, and the audit events recorded there, go too."""
    written: list[list[str]] = []
    queue: AtCommit[str] = AtCommit("test.at_commit.flush", lambda db, items: written.append(items))
    try:
        with database.session() as db:
            db.add(Organisation(code="XA", name="Somewhere", kind=OrgKind.NATION))
            queue.add(db, ["kept"])
            audit.record(db=db, actor=ACTOR, action="test.kept", object_type="test", object_id=1)
            try:
                with db.begin_nested():
                    queue.add(db, ["refused"])
                    audit.record(db=db, actor=ACTOR, action="test.refused", object_type="test",
                                 object_id=2)
                    db.add(Organisation(code="XA", name="Twice", kind=OrgKind.NATION))
                    db.flush()
            except IntegrityError:
                pass
        with database.session(read_only=True) as db:
            actions = list(db.scalars(select(AuditEvent.action).where(
                AuditEvent.object_type == "test").order_by(AuditEvent.seq)))
    finally:
        queue.remove()
    assert (written, actions) == ([["kept"]], ["test.kept"])

"""Work queued for a transaction's commit: done there once, in one go, before the commit hooks
registered the usual way (so the locks a commit takes come in one order in every process);
what a rolled-back savepoint queued goes with it, and a rollback forgets it all."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from crrt.core.at_commit import AtCommit


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

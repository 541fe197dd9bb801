"""Work a transaction queues for its commit, done there in one go.

For rows that must be written in the order transactions commit (the correlation index, which
its readers follow by id): queued as the transaction goes, they are written by the commit,
under whatever lock the writer takes, so no transaction holds that lock while it does the
rest of its work. What was queued inside a savepoint that rolls back goes with it, and
whatever is left when the transaction ends without committing is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

T = TypeVar("T")


def rolled_back_savepoint(previous: SessionTransaction) -> SessionTransaction | None:
    """The savepoint an ``after_soft_rollback`` undid, or None when it was the transaction
    itself. A flush that fails inside a savepoint rolls back the flush's own inner
    transaction, which is not the savepoint; the savepoint goes with it."""
    undone: SessionTransaction | None = previous
    while undone is not None and not undone.nested:
        undone = undone.parent
    return undone


def inside(savepoint: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    """Whether ``savepoint`` (the innermost one open when something was queued) is
    ``rolled_back`` or nested in it."""
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


@dataclass
class _Queued(Generic[T]):
    savepoint: SessionTransaction | None  # the innermost savepoint open when it was queued
    items: Sequence[T]


class AtCommit(Generic[T]):
    """A queue per session, its items handed to ``write(db, items)`` when the session's
    transaction commits (not when a savepoint is released).

    Its commit hook runs before every hook registered the usual way (the audit log's seal
    among them), whatever order the modules were imported in: the locks taken at a commit
    are then taken in one order in every process. It flushes the session first, so the
    transaction's row locks are all taken before ``write`` takes its own. A transaction is
    committed by ``Session.commit()``, which releases any savepoint still open first (the
    transaction object's own ``commit()`` under an open savepoint writes nothing of it).
    """

    def __init__(self, key: str, write: Callable[[Session, list[T]], None]) -> None:
        self.key = key
        self.write = write
        self._hooks: list[tuple[str, Callable[..., None], bool]] = [
            ("before_commit", self._commit, True),
            ("after_soft_rollback", self._forget_rolled_back, False),
            ("after_transaction_end", self._forget, False)]
        for name, hook, first in self._hooks:
            event.listen(Session, name, hook, insert=first)

    def remove(self) -> None:
        """Stop listening (a queue made for a while, as a test's is)."""
        for name, hook, _first in self._hooks:
            event.remove(Session, name, hook)

    def add(self, db: Session, items: Sequence[T]) -> None:
        if items:
            if not db.in_transaction():  # the transaction they belong to, begun (no I/O)
                db.begin()
            queued: list[_Queued[T]] = db.info.setdefault(self.key, [])
            queued.append(_Queued(db.get_nested_transaction(), items))

    def _commit(self, db: Session) -> None:
        queued: list[_Queued[T]] | None = db.info.get(self.key)
        if not queued or db.in_nested_transaction():
            return
        db.flush()
        self.write(db, [item for batch in queued for item in batch.items])
        queued.clear()  # only once written: a write that failed leaves them to the rollback

    def _forget_rolled_back(self, db: Session, previous: SessionTransaction) -> None:
        queued: list[_Queued[T]] | None = db.info.get(self.key)
        undone = rolled_back_savepoint(previous)
        if queued and undone is not None:
            queued[:] = [batch for batch in queued if not inside(batch.savepoint, undone)]

    def _forget(self, db: Session, transaction: SessionTransaction, *_: Any) -> None:
        if transaction.parent is None and self.key in db.info:
            db.info[self.key].clear()

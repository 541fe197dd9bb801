"""The teams and deployments a user is on, as the parts that keep them tell it.

A part that puts people on teams (deployments, exercises) registers a provider; the keys it
gives (``deployment:<public id>``) land in :attr:`Principal.teams`, and rules match them
against the ``team`` a record declares in its ``__access__``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

Provider = Callable[[Session, int, str], Iterable[str]]

_providers: list[Provider] = []


def provider(fn: Provider) -> Provider:
    """Register ``fn(db, user_id, email)``, which yields the team keys of one user (the
    e-mail address too, which the caller has at hand: providers ask no query for it)."""
    _providers.append(fn)
    return fn


def of(db: Session, user_id: int, email: str) -> frozenset[str]:
    """Every team key of the user, from every registered provider."""
    return frozenset(key for fn in _providers for key in fn(db, user_id, email))

"""The expert tables: the database itself keeps one active nomination per email in a nation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crrt.experts.models import Expert
from crrt.organisations.enums import OrgKind
from crrt.organisations.models import Organisation

EMAIL = "kadri.saar@ria.ee.example"


@pytest.fixture
def nations(database) -> dict[str, int]:
    with database.session() as db:
        orgs = [Organisation(code=code, name=name, kind=OrgKind.NATION)
                for code, name in (("EE", "Estonia"), ("ES", "Spain"))]
        db.add_all(orgs)
        db.flush()
        return {org.code: org.id for org in orgs}


def _add(database, org_id: int, *, name: str = "Kadri Saar",
         erased_at: datetime | None = None) -> None:
    with database.session() as db:
        db.add(Expert(organisation_id=org_id, name=name, email=EMAIL, erased_at=erased_at))


def _count(database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(Expert)) or 0


def test_two_active_experts_of_a_nation_cannot_share_an_email(database, nations):
    _add(database, nations["EE"])
    with pytest.raises(IntegrityError):
        _add(database, nations["EE"], name="Kadri Saar (twice)")
    assert _count(database) == 1


def test_an_erased_row_with_the_same_email_does_not_block(database, nations):
    _add(database, nations["EE"], name="Erased expert", erased_at=datetime(2030, 1, 1,
                                                                             tzinfo=UTC))
    _add(database, nations["EE"])
    _add(database, nations["EE"], name="Erased again", erased_at=datetime(2030, 2, 1,
                                                                            tzinfo=UTC))
    assert _count(database) == 3


def test_another_nation_may_nominate_the_same_email(database, nations):
    _add(database, nations["EE"])
    _add(database, nations["ES"])
    assert _count(database) == 2

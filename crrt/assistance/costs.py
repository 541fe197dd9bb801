"""A deployment's costs: items as paid, the sharing policy, and the totals it gives.

Amounts stay in the currency they were paid in: no exchange rate is assumed, so every total is
per currency. What each nation owes follows the policy: the requester pays all; costs lie where
they fall (each nation bears what it paid); or a common budget is split by a key of shares.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from babel.numbers import list_currencies
from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.assistance import deployments
from crrt.assistance.enums import Sharing
from crrt.assistance.models import CostItem, Deployment
from crrt.assistance.schemas import CostIn, CostOut, CostsOut, SharingIn, Sums
from crrt.audit import service as audit
from crrt.core import clock
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.organisations import service as organisations

CURRENCIES = frozenset(list_currencies())
CENT = Decimal("0.01")
MAX_ITEMS = 1000  # a deployment's cost sheet, bounded


def add(*, db: Session, actor: Principal, deployment_id: uuid.UUID, data: CostIn) -> CostItem:
    """Record a cost; a POC records what its own nation paid, a coordinator any."""
    deployment = deployments.get(db=db, actor=actor, deployment_id=deployment_id,
                                 for_update=True)
    if data.currency not in CURRENCIES:
        raise Invalid.field("currency", f"{data.currency} is not an ISO 4217 currency.")
    payer = organisations.get(db=db, actor=actor, code=data.paid_by, field="paid_by")
    policy.require(actor, Permission.COSTS_WRITE, payer,
                   refusal="A POC records what its own nation paid.")
    count = len(_items(db, deployment))
    if count >= MAX_ITEMS:
        raise Conflict(f"A deployment holds at most {MAX_ITEMS} cost items.")
    item = CostItem(deployment_id=deployment.id, kind=data.kind, description=data.description,
                    amount=data.amount, currency=data.currency, paid_by=payer.id,
                    added_by=actor.user_id, added_at=clock.now())
    db.add(item)
    db.flush()
    audit.record(db=db, actor=actor, action="deployment.cost", object_type=deployments.KIND,
                 object_id=deployment.public_id,
                 changes={"item": str(item.public_id), "kind": data.kind.value,
                          "amount": str(data.amount), "currency": data.currency,
                          "paid_by": payer.code})
    return item


def remove(*, db: Session, actor: Principal, deployment_id: uuid.UUID,
           item_id: uuid.UUID) -> None:
    deployment = deployments.get(db=db, actor=actor, deployment_id=deployment_id,
                                 for_update=True)
    item = db.scalar(select(CostItem).where(CostItem.deployment_id == deployment.id,
                                            CostItem.public_id == item_id))
    if item is None:
        raise NotFound("No such cost item.")
    payer = organisations.by_id(db=db, actor=actor, org_id=item.paid_by)
    policy.require(actor, Permission.COSTS_WRITE, payer,
                   refusal="A POC removes what its own nation paid.")
    db.delete(item)
    db.flush()
    audit.record(db=db, actor=actor, action="deployment.cost_removed",
                 object_type=deployments.KIND, object_id=deployment.public_id,
                 changes={"item": str(item_id)})


def set_sharing(*, db: Session, actor: Principal, deployment_id: uuid.UUID,
                data: SharingIn) -> Deployment:
    """Set who bears the costs; a key names nations by code, each with a positive share."""
    deployment = deployments.get(db=db, actor=actor, deployment_id=deployment_id,
                                 for_update=True)
    policy.require(actor, Permission.DEPLOYMENTS_MANAGE)
    key = {}
    for code, share in data.key.items():
        org = organisations.get(db=db, actor=actor, code=code, field="key")
        key[org.code] = str(share)
    deployment.sharing, deployment.sharing_key = data.policy, key
    db.flush()
    audit.record(db=db, actor=actor, action="deployment.sharing", object_type=deployments.KIND,
                 object_id=deployment.public_id,
                 changes={"policy": data.policy.value, "key": key})
    return deployment


def _items(db: Session, deployment: Deployment) -> list[CostItem]:
    return list(db.scalars(select(CostItem).where(CostItem.deployment_id == deployment.id)
                           .order_by(CostItem.added_at, CostItem.id)))


def _add(sums: Sums, code: str, currency: str, amount: Decimal) -> None:
    sums.setdefault(code, {})
    sums[code][currency] = sums[code].get(currency, Decimal(0)) + amount


def split(total: Decimal, shares: dict[str, Decimal]) -> dict[str, Decimal]:
    """``total`` split by ``shares`` to the cent; the cents rounding leaves go to the
    largest shares first, so the parts always add up to the total."""
    whole = sum(shares.values())
    parts = {c: (total * s / whole).quantize(CENT, rounding=ROUND_HALF_EVEN)
             for c, s in shares.items()}
    left = total - sum(parts.values())
    step = CENT if left > 0 else -CENT
    for code in sorted(shares, key=lambda c: (-shares[c], c)):
        if left == 0:
            break
        parts[code] += step
        left -= step
    return parts


def costs(*, db: Session, actor: Principal, deployment_id: uuid.UUID) -> CostsOut:
    """The items, what each nation paid, the totals, and what each owes under the policy."""
    deployment = deployments.get(db=db, actor=actor, deployment_id=deployment_id)
    items = _items(db, deployment)
    codes = {o: organisations.by_id(db=db, actor=actor, org_id=o).code
             for o in {i.paid_by for i in items} | {deployment.organisation_id}}
    paid: Sums = {}
    total: dict[str, Decimal] = defaultdict(Decimal)
    for i in items:
        _add(paid, codes[i.paid_by], i.currency, i.amount)
        total[i.currency] += i.amount
    owed: Sums = {}
    key = {c: Decimal(s) for c, s in (deployment.sharing_key or {}).items()}
    if deployment.sharing is Sharing.REQUESTER_PAYS:
        for currency, amount in total.items():
            _add(owed, codes[deployment.organisation_id], currency, amount)
    elif deployment.sharing is Sharing.COMMON_BUDGET and key:
        for currency, amount in total.items():
            for code, part in split(amount, key).items():
                _add(owed, code, currency, part)
    else:
        owed = {c: dict(v) for c, v in paid.items()}
    return CostsOut(
        items=[CostOut(id=i.public_id, kind=i.kind, amount=i.amount, currency=i.currency,
                       paid_by=codes[i.paid_by], description=i.description,
                       added_at=i.added_at) for i in items],
        sharing=deployment.sharing, key=key, paid=paid, total=dict(total), owed=owed)

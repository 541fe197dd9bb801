"""Signed webhooks after the Standard Webhooks specification (https://www.standardwebhooks.com).

Each endpoint's secret is derived, never stored: ``whsec_`` + base64(HMAC-SHA256(server key,
"webhook:{public_id}:{version}")). It is shown once, when the endpoint is added or its secret
rotated; rotating raises the version, so the old secret stops verifying at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock, urls
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.core.text import visible_name
from crrt.notify.models import WebhookEndpoint

SECRET_PREFIX = "whsec_"
TIMEOUT_SECONDS = 10.0  # each step: connecting, each read, each write
DEADLINE_SECONDS = 30.0  # the whole delivery, however slowly the endpoint drips its answer
OBJECT_TYPE = "webhook_endpoint"


def endpoint_secret(secret_key: str, public_id: uuid.UUID, version: int) -> str:
    """The signing secret of one endpoint at one version, in the ``whsec_`` form."""
    digest = hmac.new(secret_key.encode(), f"webhook:{public_id}:{version}".encode(),
                      hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode()


def sign(secret: str, *, webhook_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 of "id.timestamp.body"."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _origin(url: str) -> str:
    """What the audit log keeps of a URL: its path and query may carry a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def add_endpoint(*, db: Session, actor: Principal, organisation_id: int, organisation_code: str,
                 name: str, url: str, secret_key: str) -> tuple[WebhookEndpoint, str]:
    """Add an organisation's endpoint; returns it with its secret, shown this once. The
    organisation is named by its code in the audit log, as everywhere outside the database."""
    policy.require(actor, Permission.WEBHOOKS_MANAGE)
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid.field("name", "A name has 1 to 200 characters.")
    try:  # the same rule as every other name: one line, something to see, no bidi tricks
        visible_name(name)
    except ValueError as exc:
        raise Invalid.field("name", f"The name {exc}.") from None
    url = urls.check(url)
    if db.scalar(select(WebhookEndpoint.id).where(
            WebhookEndpoint.organisation_id == organisation_id,
            WebhookEndpoint.name == name)) is not None:
        raise Conflict(f"The organisation has an endpoint named '{name}' already.")
    endpoint = WebhookEndpoint(public_id=uuid.uuid4(), organisation_id=organisation_id,
                               name=name, url=url, active=True, secret_version=1)
    db.add(endpoint)
    audit.record(db=db, actor=actor, action="webhook.add", object_type=OBJECT_TYPE,
                 object_id=endpoint.public_id,
                 changes={"org": organisation_code, "name": name,
                          "url": _origin(url)})
    return endpoint, endpoint_secret(secret_key, endpoint.public_id, endpoint.secret_version)


def list_endpoints(*, db: Session, actor: Principal,
                   organisation_id: int | None = None) -> list[WebhookEndpoint]:
    """Every endpoint (or one organisation's), oldest first; never their secrets."""
    policy.require(actor, Permission.WEBHOOKS_MANAGE)
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if organisation_id is not None:
        query = query.where(WebhookEndpoint.organisation_id == organisation_id)
    return list(db.scalars(query))


def get_endpoint(*, db: Session, public_id: uuid.UUID) -> WebhookEndpoint:
    """The endpoint with ``public_id``, or 404."""
    endpoint = db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.public_id == public_id))
    if endpoint is None:
        raise NotFound(f"No webhook endpoint has the id {public_id}.")
    return endpoint


def rotate_secret(*, db: Session, actor: Principal, public_id: uuid.UUID,
                  secret_key: str) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new secret (the old one stops verifying); returns the new one."""
    policy.require(actor, Permission.WEBHOOKS_MANAGE)
    endpoint = get_endpoint(db=db, public_id=public_id)
    endpoint.secret_version += 1
    audit.record(db=db, actor=actor, action="webhook.rotate_secret", object_type=OBJECT_TYPE,
                 object_id=public_id, changes={"secret_version": endpoint.secret_version})
    return endpoint, endpoint_secret(secret_key, public_id, endpoint.secret_version)


def deactivate(*, db: Session, actor: Principal, public_id: uuid.UUID,
               reason: str = "") -> WebhookEndpoint:
    """Stop delivering to the endpoint; its messages still queued are given up."""
    policy.require(actor, Permission.WEBHOOKS_MANAGE)
    endpoint = get_endpoint(db=db, public_id=public_id)
    if endpoint.active:
        endpoint.active = False
        audit.record(db=db, actor=actor, action="webhook.deactivate", object_type=OBJECT_TYPE,
                     object_id=public_id,
                     changes={"active": [True, False]} | ({"reason": reason} if reason else {}))
    return endpoint


@dataclass(frozen=True)
class Target:
    """Where one webhook goes, read when it is claimed so it is sent with no session open."""

    public_id: uuid.UUID
    url: str
    secret_version: int


class WebhookRefused(Exception):
    """The endpoint answered something else than a 2xx: tried again later."""


class WebhookGone(WebhookRefused):
    """The endpoint answered 410 Gone: it is deactivated and the message given up."""


def post(target: Target, *, webhook_id: str, body: str, secret_key: str,
         deadline: float = DEADLINE_SECONDS) -> None:
    """Send one signed delivery; the timestamp (and so the signature) is new on each attempt.

    TLS is verified and redirects are not followed. Each step times out after 10 s, and the
    whole delivery after ``deadline`` (a ``TimeoutError``), so an endpoint that answers one
    byte at a time cannot hold the outbox.
    """
    timestamp = int(clock.now().timestamp())
    secret = endpoint_secret(secret_key, target.public_id, target.secret_version)
    headers = {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id=webhook_id, timestamp=timestamp,
                                  body=body),
    }

    async def deliver() -> httpx.Response:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False,
                                     verify=True) as http:
            with anyio.fail_after(deadline):
                return await http.post(target.url, content=body.encode(), headers=headers)

    response = anyio.run(deliver)
    if response.status_code == 410:
        raise WebhookGone("HTTP 410 Gone: the endpoint asked to receive nothing more")
    if not 200 <= response.status_code < 300:
        raise WebhookRefused(f"HTTP {response.status_code} from the endpoint")

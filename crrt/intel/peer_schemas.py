"""What the federation API takes and gives: peers (never their token: a peer says only
whether it has one) and the log of their sync rounds. The rules a peer's fields must keep
together (its TLP ceiling, HTTP Basic's user name) are the service's, :mod:`crrt.intel.peers`,
which checks a change as much as a new peer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr

from crrt.access.enums import Tlp
from crrt.core.inputs import Input
from crrt.core.text import Label
from crrt.core.urls import MAX_URL
from crrt.intel.enums import Direction, PeerAuth, SyncOutcome
from crrt.intel.schemas import OrgCode

MAX_TOKEN = 1000

PeerName = Annotated[Label, Field(min_length=1, max_length=100)]
ApiRootUrl = Annotated[str, Field(min_length=1, max_length=MAX_URL, description=(
    "The peer's TAXII 2.1 API root (https://node.example.eu/taxii2/crrt/); plain http only "
    "to this machine."))]
RemoteCollection = Annotated[str, Field(min_length=1, max_length=200,
                                        pattern=r"^[A-Za-z0-9._~-]+$",
                                        description="The peer's collection id.")]
Username = Annotated[str, Field(max_length=200, pattern=r"^[^:\x00-\x1f\x7f]*$",
                                description="HTTP Basic's user name (basic only).")]
Token = Annotated[SecretStr, Field(max_length=MAX_TOKEN, description=(
    "The token crrt signs in to the peer with; stored sealed, never shown again. An empty "
    "one removes it."))]


class PeerIn(Input):
    """A peer: its API root and collection, the local collection it maps to, which way, the
    highest TLP that may go to it (AMBER only to a named organisation's node)."""

    name: PeerName
    api_root: ApiRootUrl
    collection: RemoteCollection
    local_collection: uuid.UUID = Field(description="Our collection it syncs with.")
    direction: Direction = Direction.PULL
    max_tlp: Tlp = Tlp.GREEN
    organisation: OrgCode | None = Field(default=None, description=(
        "The organisation whose node the peer is, if it is one's (AMBER may go to it)."))
    auth: PeerAuth = PeerAuth.BEARER
    username: Username = ""
    token: Token | None = None
    active: bool = True


class PeerPatch(Input):
    """What changes; a field left out stays. A new API root or collection starts the pull
    from the beginning, a new local collection the push."""

    name: PeerName | None = None
    api_root: ApiRootUrl | None = None
    collection: RemoteCollection | None = None
    local_collection: uuid.UUID | None = None
    direction: Direction | None = None
    max_tlp: Tlp | None = None
    organisation: OrgCode | None = None
    auth: PeerAuth | None = None
    username: Username | None = None
    token: Token | None = None
    active: bool | None = None
    restart: bool = Field(default=False, description=(
        "Start both ways again from the beginning (after a higher ceiling, say): what the "
        "other side holds already is skipped there."))


class PeerOut(BaseModel):
    id: uuid.UUID
    name: str
    api_root: str
    collection: str
    local_collection: uuid.UUID
    direction: Direction
    max_tlp: Tlp
    organisation: str | None
    auth: PeerAuth
    username: str
    has_token: bool = Field(description="Whether a token is set (it is never shown).")
    active: bool
    created_at: datetime
    pulled_through: str | None = Field(description="The last date added pulled and stored.")
    pushed_through: datetime | None = Field(description="The last date added pushed.")
    next_sync_at: datetime | None
    syncing: bool = Field(description="Whether a round holds the peer now.")


class SyncLogOut(BaseModel):
    id: uuid.UUID
    peer: uuid.UUID
    direction: Direction
    started_at: datetime
    finished_at: datetime | None
    pulled: int = Field(description="Objects new here from the peer.")
    pushed: int = Field(description="Objects the peer accepted.")
    withheld: int = Field(description="Objects kept home: their TLP may not go to the peer.")
    refused: int = Field(description="Objects refused: by the peer, or by our collection.")
    outcome: SyncOutcome
    error: str

"""What the auth API takes and gives."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from crrt.auth.enums import Role


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role
    org: str = Field(min_length=2, max_length=64, description="The organisation's code.")
    password: str | None = Field(default=None, min_length=12, max_length=1024)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    org: str | None = Field(default=None, min_length=2, max_length=64)
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=1024)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    org: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100)
    expires_at: datetime | None = Field(
        default=None, description="When the token stops working (UTC); none means never.")


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token. Shown this once; only its hash is kept.")


class Me(BaseModel):
    id: int | None
    email: str
    name: str
    role: Role
    org: str | None

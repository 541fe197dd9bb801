"""What the auth API takes and gives."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field, field_validator

from crrt.access.enums import Role
from crrt.core.inputs import Input
from crrt.core.languages import PageLanguage
from crrt.core.text import Email, Label, Name
from crrt.core.zones import TimeZone


class UserIn(Input):
    email: Email
    name: Name
    role: Role
    org: str = Field(min_length=2, max_length=64, description="The organisation's code.")
    password: str | None = Field(default=None, min_length=12, max_length=1024)


class UserPatch(Input):
    name: Name | None = None
    role: Role | None = None
    org: str | None = Field(default=None, min_length=2, max_length=64)
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=1024)
    keep_tokens: bool = Field(
        default=False, description="Keep the user's API tokens through a new password or a "
                                   "deactivation (otherwise both revoke them).")


class AccountPatch(Input):
    """What anyone may change of their own account."""

    name: Name | None = None
    language: PageLanguage | None = Field(
        default=None, description="The pages' language (null: the browser's).")
    time_zone: TimeZone | None = Field(
        default=None, description="The zone pages show times in (null: the linked expert's, "
                                  "else UTC).")


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    org: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class TokenIn(Input):
    name: Label = ""
    expires_at: datetime | None = Field(
        default=None, description="When the token stops working (UTC); none means never.")
    password: str | None = Field(
        default=None, max_length=1024,
        description="Your password, asked again when a browser session creates the token.")

    @field_validator("expires_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC; a zone that pushes the time past year 9999 is refused here."""
        if value is None or value.tzinfo is None:
            return value  # a naive time is refused by the service, naming the field
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError("the time is out of range") from exc


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

"""Who is acting: the user behind a request, or the platform itself (CLI, worker, migrations)."""

from __future__ import annotations

from dataclasses import dataclass, field

from crrt.access.enums import Role


@dataclass(frozen=True)
class Principal:
    """The acting party, as every service and the policy see it.

    ``teams`` holds the keys of the teams and deployments the user is on (``deployment:<id>``),
    filled by the parts that keep them (see :mod:`crrt.access.teams`).
    """

    user_id: int | None
    email: str
    name: str
    role: Role
    org_id: int | None
    org_code: str | None
    teams: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        """How the audit log names this principal: by account id, never by a personal detail,
        so the log holds no personal data (``system:…`` for the platform itself)."""
        return f"user:{self.user_id}" if self.user_id is not None else self.email

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    @classmethod
    def system(cls, what: str = "cli") -> Principal:
        """The platform acting on an operator's command; it may do anything an admin may."""
        return cls(user_id=None, email=f"system:{what}", name=f"crrt {what}", role=Role.ADMIN,
                   org_id=None, org_code=None)

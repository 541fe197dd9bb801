"""From observables to intel: typed values, normalised, turned into STIX 2.1 Indicators with
valid patterns, their cyber observables, observed-data and sightings by the organisation,
each carrying the TLP marking and the organisation's identity. The one way a value becomes
intel: the API's indicators now, a case's observables flagged IOC later.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import stix2

from crrt.access.enums import Tlp
from crrt.intel import markings

NAMESPACE = uuid.UUID("6f4f2a34-2b1e-5c0e-9a51-9a3a7c0b1d2e")  # crrt's identities
IDENTITY_CREATED = "2026-01-01T00:00:00.000Z"
HASHES = {"md5": ("MD5", 32), "sha1": ("SHA-1", 40), "sha256": ("SHA-256", 64),
          "sha512": ("SHA-512", 128)}
LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class Kind(StrEnum):
    IPV4 = "ipv4-addr"
    IPV6 = "ipv6-addr"
    DOMAIN = "domain-name"
    URL = "url"
    EMAIL = "email-addr"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"


class NotAnObservable(ValueError):
    """A value that is not what its type says."""


def _domain(value: str) -> str:
    name = value.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise NotAnObservable(f"{value!r} is not a domain name") from exc
    if len(name) > 253 or "." not in name or not all(LABEL.fullmatch(p) for p in name.split(".")):
        raise NotAnObservable(f"{value!r} is not a domain name")
    return name


def normalise(kind: Kind, value: str) -> str:
    """The one written form of an observable (so equal values match): addresses compressed
    (a network as CIDR), names in lower case and punycode, hashes in lower-case hex."""
    text = value.strip()
    if kind in (Kind.IPV4, Kind.IPV6):
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise NotAnObservable(f"{value!r} is not an IP address or network") from exc
        if network.version != (4 if kind is Kind.IPV4 else 6):
            raise NotAnObservable(f"{value!r} is not an IPv{4 if kind is Kind.IPV4 else 6} "
                                  "address")
        return str(network.network_address) if network.num_addresses == 1 else str(network)
    if kind is Kind.DOMAIN:
        return _domain(text)
    if kind is Kind.URL:
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("http", "https", "ftp", "ftps") or not parts.hostname:
            raise NotAnObservable(f"{value!r} is not a URL (http, https or ftp, with a host)")
        host = _domain(parts.hostname) if not _is_ip(parts.hostname) else parts.hostname
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    if kind is Kind.EMAIL:
        local, at, domain = text.rpartition("@")
        if not at or not local or len(text) > 320:
            raise NotAnObservable(f"{value!r} is not an e-mail address")
        return f"{local}@{_domain(domain)}"
    _name, length = HASHES[kind.value]
    digest = text.lower()
    if len(digest) != length or not re.fullmatch(r"[0-9a-f]+", digest):
        raise NotAnObservable(f"{value!r} is not an {kind.value.upper()} hash")
    return digest


def host_of(url: str) -> str | None:
    """A (normalised) URL's host."""
    return urlsplit(url).hostname


def is_ip(host: str) -> bool:
    return _is_ip(host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern(kind: Kind, value: str) -> str:
    """The STIX pattern matching the (normalised) value."""
    if kind.value in HASHES:
        return f"[file:hashes.'{HASHES[kind.value][0]}' = {_literal(value)}]"
    return f"[{kind.value}:value = {_literal(value)}]"


def observable(kind: Kind, value: str, marking: str) -> Any:
    """The cyber observable (its id derived from its value, as STIX 2.1 says)."""
    refs = {"object_marking_refs": [marking]}
    if kind.value in HASHES:
        return stix2.File(hashes={HASHES[kind.value][0]: value}, **refs)
    made = {Kind.IPV4: stix2.IPv4Address, Kind.IPV6: stix2.IPv6Address,
            Kind.DOMAIN: stix2.DomainName, Kind.URL: stix2.URL,
            Kind.EMAIL: stix2.EmailAddress}[kind]
    return made(value=value, **refs)


def identity(code: str, name: str) -> dict[str, Any]:
    """An organisation's STIX identity: the same id and content on every node, TLP:CLEAR."""
    made = stix2.Identity(id=f"identity--{uuid.uuid5(NAMESPACE, f'organisation:{code}')}",
                          name=name, identity_class="organization", created=IDENTITY_CREATED,
                          modified=IDENTITY_CREATED,
                          object_marking_refs=[markings.TLP2_IDS[Tlp.CLEAR]])
    return _plain(made)


@dataclass(frozen=True)
class Sighted:
    kind: Kind
    value: str
    description: str = ""


def intel_of(observed: list[Sighted], *, code: str, name: str, tlp: Tlp, now: datetime,
             indicator_types: list[str], valid_until: datetime | None = None,
             sighted: bool = True) -> list[dict[str, Any]]:
    """The organisation's identity, then for each observable its Indicator, and (when
    ``sighted``) its cyber observable, the observed-data and the organisation's Sighting."""
    marking = markings.TLP2_IDS[tlp]
    author = identity(code, name)
    common = {"created_by_ref": author["id"], "object_marking_refs": [marking],
              "created": now, "modified": now}
    out = [author]
    for item in observed:
        value = normalise(item.kind, item.value)
        indicator = stix2.Indicator(
            name=f"{item.kind.value} {value}", description=item.description or None,
            indicator_types=indicator_types, pattern=pattern(item.kind, value),
            pattern_type="stix", valid_from=now, valid_until=valid_until, **common)
        out.append(_plain(indicator))
        if not sighted:
            continue
        sco = observable(item.kind, value, marking)
        seen = stix2.ObservedData(first_observed=now, last_observed=now, number_observed=1,
                                  object_refs=[sco.id], **common)
        sighting = stix2.Sighting(sighting_of_ref=indicator.id, observed_data_refs=[seen.id],
                                  where_sighted_refs=[author["id"]], count=1,
                                  first_seen=now, last_seen=now, **common)
        out += [_plain(sco), _plain(seen), _plain(sighting)]
    return out


def _plain(made: Any) -> dict[str, Any]:
    return dict(json.loads(made.serialize()))

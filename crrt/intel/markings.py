"""TLP as STIX marking definitions: the official TLP 2.0 objects (OASIS's property extension
``extension-definition--60a3c5c5-…``), and the TLP 1.0 ones that MISP and older feeds still
send, mapped onto crrt's one TLP (:class:`crrt.access.enums.Tlp`).

An object's marking is the most restrictive TLP among its ``object_marking_refs``; an object
with none is read as the configured default (AMBER), never as open.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crrt.access.enums import Tlp

EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
CREATED = "2022-10-01T00:00:00.000Z"

TLP2_IDS: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# TLP 1.0, as the STIX 2.1 specification defines them (WHITE is CLEAR's older name)
TLP1_IDS: dict[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}
TLP_OF_ID: dict[str, Tlp] = {**{v: k for k, v in TLP2_IDS.items()}, **TLP1_IDS}


def definition(tlp: Tlp) -> dict[str, Any]:
    """The official STIX 2.1 marking-definition object of ``tlp`` (TLP 2.0)."""
    return {"type": "marking-definition", "spec_version": "2.1", "id": TLP2_IDS[tlp],
            "created": CREATED, "name": tlp.label,
            "extensions": {EXTENSION: {"extension_type": "property-extension",
                                       "tlp_2_0": tlp.value}}}


def tlp_of(refs: Iterable[str], default: Tlp = Tlp.AMBER) -> Tlp:
    """The most restrictive TLP among marking references, or ``default`` if none is TLP."""
    found = [TLP_OF_ID[ref] for ref in refs if ref in TLP_OF_ID]
    if len(found) == 1:  # the usual case, asked per object of a bulk load
        return found[0]
    return max(found, key=lambda t: t.rank) if found else default


def is_tlp_definition(stix_id: str) -> bool:
    return stix_id in TLP_OF_ID

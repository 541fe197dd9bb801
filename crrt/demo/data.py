"""The demo picture of the PESCO Cyber Rapid Response Teams project, as plain data.

Why this exists: a fresh install, the screenshots and the browser tests need a believable
project to look at -- the Lithuanian lead, the participating and observing nations, the EU
institutions that ask for help, and a pool of nominated experts -- without anyone typing it in.

Everything here is fictional. The organisations and the national bodies are real-sounding (and
mostly real), but every person, e-mail address and phone number is invented. All addresses use
the reserved ``.example`` top-level domain (RFC 2606), so nothing the demo sends can reach a real
mailbox, and the phone numbers only borrow each nation's dialling code.

The module is deliberately pure data: standard library only, no import from ``crrt``, nothing
random. Import it twice and you get the same picture. ``check()`` asserts the invariants the
seeder relies on.

Shapes:

* ``ORGANISATIONS`` -- the current state: ``{"code", "name", "kind", "membership",
  "effective_on"}``; ``effective_on`` is when the *current* membership began.
* ``MEMBERSHIP_HISTORY`` -- only the steps *before* the current one, chronological per nation;
  the first step of a nation is its join, and each nation's last step is followed by its current
  state in ``ORGANISATIONS``. Nations without entries joined directly in their current role.
* ``INSTITUTIONS`` -- national bodies of the lead and participant nations.
* ``EXPERTS`` -- 60 nominated experts of the lead and participant nations.
* ``USERS`` -- one demo login per role (two national points of contact), all with
  ``DEMO_PASSWORD``.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

DEMO_PASSWORD = "crrt-demo-2026"

# The project's memorandum of understanding was signed on the margins of the June 2018 Council.
_FOUNDED = "2018-06-25"

# ---------------------------------------------------------------------------------------------
# Organisations
# ---------------------------------------------------------------------------------------------

ORGANISATIONS: list[dict[str, Any]] = [
    # The lead nation.
    {"code": "LT", "name": "Lithuania", "kind": "nation", "membership": "lead",
     "effective_on": _FOUNDED},
    # Participants.
    {"code": "EE", "name": "Estonia", "kind": "nation", "membership": "participant",
     "effective_on": _FOUNDED},
    {"code": "ES", "name": "Spain", "kind": "nation", "membership": "participant",
     "effective_on": _FOUNDED},
    {"code": "HR", "name": "Croatia", "kind": "nation", "membership": "participant",
     "effective_on": _FOUNDED},
    {"code": "PL", "name": "Poland", "kind": "nation", "membership": "participant",
     "effective_on": "2019-11-12"},
    {"code": "NL", "name": "Netherlands", "kind": "nation", "membership": "participant",
     "effective_on": _FOUNDED},
    {"code": "FR", "name": "France", "kind": "nation", "membership": "participant",
     "effective_on": "2021-05-18"},
    {"code": "RO", "name": "Romania", "kind": "nation", "membership": "participant",
     "effective_on": "2019-03-04"},
    {"code": "FI", "name": "Finland", "kind": "nation", "membership": "participant",
     "effective_on": "2019-10-15"},
    # Observers.
    {"code": "BE", "name": "Belgium", "kind": "nation", "membership": "observer",
     "effective_on": "2020-02-10"},
    {"code": "GR", "name": "Greece", "kind": "nation", "membership": "observer",
     "effective_on": _FOUNDED},
    {"code": "SI", "name": "Slovenia", "kind": "nation", "membership": "observer",
     "effective_on": "2021-03-22"},
    {"code": "DE", "name": "Germany", "kind": "nation", "membership": "observer",
     "effective_on": "2022-09-06"},
    # EU institutions that request assistance; not members of the project.
    {"code": "cert-eu", "name": "CERT-EU", "kind": "eu_institution", "membership": None,
     "effective_on": None},
    {"code": "enisa", "name": "ENISA", "kind": "eu_institution", "membership": None,
     "effective_on": None},
    {"code": "dg-connect", "name": "DG CONNECT", "kind": "eu_institution", "membership": None,
     "effective_on": None},
    # Partners outside the EU.
    {"code": "ua-cert", "name": "CERT-UA (Ukraine)", "kind": "partner", "membership": None,
     "effective_on": None},
]

MEMBERSHIP_HISTORY: list[dict[str, Any]] = [
    {"code": "PL", "membership": "observer", "effective_on": _FOUNDED,
     "note": "Signed the memorandum of understanding as an observer."},
    {"code": "FI", "membership": "observer", "effective_on": _FOUNDED,
     "note": "Signed the memorandum of understanding as an observer."},
    {"code": "FR", "membership": "observer", "effective_on": _FOUNDED,
     "note": "Signed the memorandum of understanding as an observer."},
    # The current steps follow in ORGANISATIONS:
    # PL participant 2019-11-12, FI participant 2019-10-15, FR participant 2021-05-18.
]

# Steps recorded ahead of their day, after the current state of ORGANISATIONS: the demo shows
# a planned change (it takes effect on its date, and stays in the history after it).
PLANNED_MEMBERSHIP: list[dict[str, Any]] = [
    {"code": "SI", "membership": "participant", "effective_on": "2027-07-01",
     "note": "Notified the Council of its participation from the next duty period."},
]

# How each organisation's duty team is reached (its contact card): a 24/7 hotline on a made-up
# number with the nation's (or the seat's) dialling code, a team address under .example, a team
# key and a secure messenger, and the TLP it shares under unless it says otherwise.
# (code, hotline, team e-mail, messenger, default TLP)
_CONTACT_ROWS: list[tuple[str, str, str, str, str]] = [
    ("LT", "+370 5 000 0000", "duty@nksc.lt.example", "Signal: +370 5 000 0001", "amber"),
    ("EE", "+372 600 0000", "cert@cert.ee.example", "Signal: +372 600 0001", "amber"),
    ("ES", "+34 910 000 000", "incidentes@ccn-cert.es.example", "Threema: CCN7K2QX", "green"),
    ("HR", "+385 1 000 0000", "ncert@cert.hr.example", "Signal: +385 1 000 0001", "amber"),
    ("PL", "+48 22 000 00 00", "dyzur@cert.pl.example", "Signal: +48 22 000 00 01", "green"),
    ("NL", "+31 70 000 0000", "cert@ncsc.nl.example", "Threema: NCSC4NL8", "amber+strict"),
    ("FR", "+33 1 00 00 00 00", "cert-fr@ssi.fr.example", "Threema: ANSSI5FR", "amber"),
    ("RO", "+40 21 000 0000", "alerts@dnsc.ro.example", "Signal: +40 21 000 0001", "green"),
    ("FI", "+358 29 000 0000", "cert@ncsc.fi.example", "Signal: +358 29 000 0001", "amber"),
    ("BE", "+32 2 000 00 00", "incident@ccb.be.example", "Signal: +32 2 000 00 01", "green"),
    ("GR", "+30 210 000 0000", "cert@ncsa.gr.example", "Threema: NCSA3GR2", "amber"),
    ("SI", "+386 1 000 00 00", "cert@si-cert.si.example", "Signal: +386 1 000 00 01",
     "green"),
    ("DE", "+49 228 0000 0000", "certbund@bsi.de.example", "Threema: BSI9CB4D", "amber"),
    ("cert-eu", "+32 2 000 01 00", "services@cert-eu.europa.example",
     "Signal: +32 2 000 01 01", "amber"),
    ("enisa", "+30 28 1000 0000", "csirt-relations@enisa.europa.example",
     "Threema: ENISA6GR", "clear"),
    ("dg-connect", "+32 2 000 02 00", "cnect-cyber@ec.europa.example",
     "Signal: +32 2 000 02 01", "green"),
    ("ua-cert", "+380 44 000 0000", "cert@cert.gov.ua.example", "Signal: +380 44 000 0001",
     "amber"),
]

CONTACTS: dict[str, dict[str, str]] = {
    code: {"hotline": hotline, "email": email, "messenger": messenger, "default_tlp": tlp,
           # a team key's fingerprint, the same on every load
           "pgp_fingerprint": hashlib.sha1(f"{code} duty team".encode()).hexdigest().upper()}  # noqa: S324
    for code, hotline, email, messenger, tlp in _CONTACT_ROWS
}

# ---------------------------------------------------------------------------------------------
# National bodies of the lead and participant nations
# ---------------------------------------------------------------------------------------------

INSTITUTIONS: list[dict[str, Any]] = [
    {"org": "LT", "name": "National Cyber Security Centre (NKSC)", "kind": "csirt"},
    {"org": "LT", "name": "Lithuanian Armed Forces Cyber Security Unit", "kind": "military"},
    {"org": "LT", "name": "Kaunas University of Technology", "kind": "academia"},
    {"org": "EE", "name": "CERT-EE (Information System Authority)", "kind": "csirt"},
    {"org": "EE", "name": "Estonian Defence Forces Cyber Command", "kind": "military"},
    {"org": "EE", "name": "Tallinn University of Technology", "kind": "academia"},
    {"org": "ES", "name": "CCN-CERT", "kind": "csirt"},
    {"org": "ES", "name": "INCIBE-CERT", "kind": "csirt"},
    {"org": "ES", "name": "Mando Conjunto del Ciberespacio", "kind": "military"},
    {"org": "HR", "name": "CERT.hr (CARNET)", "kind": "csirt"},
    {"org": "HR", "name": "Croatian Armed Forces Cyber Defence Centre", "kind": "military"},
    {"org": "HR", "name": "Information Systems Security Bureau (ZSIS)", "kind": "other"},
    {"org": "PL", "name": "CERT Polska (NASK)", "kind": "csirt"},
    {"org": "PL", "name": "CSIRT MON", "kind": "military"},
    {"org": "PL", "name": "CSIRT GOV (ABW)", "kind": "intelligence"},
    {"org": "NL", "name": "NCSC-NL", "kind": "csirt"},
    {"org": "NL", "name": "Defence Cyber Command", "kind": "military"},
    {"org": "NL", "name": "National Police High Tech Crime Unit", "kind": "police"},
    {"org": "FR", "name": "CERT-FR (ANSSI)", "kind": "csirt"},
    {"org": "FR", "name": "COMCYBER", "kind": "military"},
    {"org": "FR", "name": "COMCYBER-MI (Gendarmerie)", "kind": "police"},
    {"org": "RO", "name": "CERT-RO (DNSC)", "kind": "csirt"},
    {"org": "RO", "name": "Romanian Cyber Defence Command", "kind": "military"},
    {"org": "RO", "name": "Politehnica University of Bucharest", "kind": "academia"},
    {"org": "FI", "name": "NCSC-FI (Traficom)", "kind": "csirt"},
    {"org": "FI", "name": "Finnish Defence Forces C5 Agency", "kind": "military"},
    {"org": "FI", "name": "University of Jyväskylä", "kind": "academia"},
]

# ---------------------------------------------------------------------------------------------
# Experts
# ---------------------------------------------------------------------------------------------

_TIME_ZONES = {
    "LT": "Europe/Vilnius", "EE": "Europe/Tallinn", "ES": "Europe/Madrid",
    "HR": "Europe/Zagreb", "PL": "Europe/Warsaw", "NL": "Europe/Amsterdam",
    "FR": "Europe/Paris", "RO": "Europe/Bucharest", "FI": "Europe/Helsinki",
}

# Each nation's dialling code and a mobile-number pattern; {n} is the expert's place in the list.
_PHONES = {
    "LT": "+370 612 40 {n:03d}", "EE": "+372 5550 1{n:03d}", "ES": "+34 612 400 {n:03d}",
    "HR": "+385 91 555 0{n:03d}", "PL": "+48 601 555 {n:03d}", "NL": "+31 6 5550 0{n:03d}",
    "FR": "+33 6 55 50 0{n:03d}", "RO": "+40 721 555 {n:03d}", "FI": "+358 40 555 0{n:03d}",
}

# (org, institution or None, name, email, skills, languages, clearance, deployability)
# deployability is "both", "remote" (remote only) or "on_site" (on site only).
_EXPERT_ROWS: list[tuple[Any, ...]] = [
    # Lithuania (lead)
    ("LT", "National Cyber Security Centre (NKSC)", "Mindaugas Kazlauskas",
     "mindaugas.kazlauskas@nksc.lt.example", {"team_lead": 3, "incident_handling": 3},
     "lt en ru", "SECRET UE", "both"),
    ("LT", "National Cyber Security Centre (NKSC)", "Rūta Petrauskienė",
     "ruta.petrauskiene@nksc.lt.example", {"digital_forensics": 3, "malware_analysis": 2},
     "lt en", "CONFIDENTIEL UE", "both"),
    ("LT", "Lithuanian Armed Forces Cyber Security Unit", "Tomas Jankauskas",
     "tomas.jankauskas@kam.lt.example", {"network_forensics": 3, "ot_ics": 2},
     "lt en ru", "SECRET UE", "both"),
    ("LT", "National Cyber Security Centre (NKSC)", "Eglė Stankevičiūtė",
     "egle.stankeviciute@nksc.lt.example", {"threat_intelligence": 3, "communications": 2},
     "lt en fr", "CONFIDENTIEL UE", "remote"),
    ("LT", "Kaunas University of Technology", "Darius Vasiliauskas",
     "darius.vasiliauskas@ktu.lt.example", {"vulnerability_assessment": 3, "cloud": 2},
     "lt en de", "RESTREINT UE", "both"),
    # Legal adviser of the Ministry of National Defence, posted to the Permanent Representation.
    ("LT", None, "Jurgita Žukauskienė",
     "jurgita.zukauskiene@kam.lt.example", {"legal_advisor": 3, "communications": 1},
     "lt en fr", "SECRET UE", "both"),
    ("LT", "Lithuanian Armed Forces Cyber Security Unit", "Paulius Butkus",
     "paulius.butkus@kam.lt.example",
     {"team_lead": 2, "network_forensics": 2, "incident_handling": 2},
     "lt en pl", "SECRET UE", "both"),
    ("LT", "Kaunas University of Technology", "Greta Navickaitė",
     "greta.navickaite@ktu.lt.example", {"malware_analysis": 3, "ot_ics": 1},
     "lt en", "none", "remote"),
    ("LT", "National Cyber Security Centre (NKSC)", "Vytautas Urbonas",
     "vytautas.urbonas@nksc.lt.example", {"cloud": 3, "incident_handling": 2},
     "lt en ru", "CONFIDENTIEL UE", "both"),
    # Estonia
    ("EE", "CERT-EE (Information System Authority)", "Kristjan Tamm",
     "kristjan.tamm@ria.ee.example", {"incident_handling": 3, "digital_forensics": 2},
     "et en ru", "CONFIDENTIEL UE", "both"),
    ("EE", "CERT-EE (Information System Authority)", "Kadri Saar",
     "kadri.saar@ria.ee.example", {"team_lead": 3, "threat_intelligence": 2},
     "et en fi", "SECRET UE", "both"),
    ("EE", "Estonian Defence Forces Cyber Command", "Mart Kask",
     "mart.kask@mil.ee.example", {"network_forensics": 3, "ot_ics": 2},
     "et en ru", "SECRET UE", "both"),
    ("EE", "Tallinn University of Technology", "Liis Mägi",
     "liis.magi@taltech.ee.example", {"malware_analysis": 3, "vulnerability_assessment": 2},
     "et en de", "RESTREINT UE", "remote"),
    ("EE", "Estonian Defence Forces Cyber Command", "Andres Sepp",
     "andres.sepp@mil.ee.example", {"team_lead": 2, "incident_handling": 2, "cloud": 1},
     "et en", "SECRET UE", "both"),
    ("EE", "CERT-EE (Information System Authority)", "Triin Rebane",
     "triin.rebane@ria.ee.example", {"communications": 3, "legal_advisor": 1},
     "et en fr", "CONFIDENTIEL UE", "both"),
    ("EE", "Tallinn University of Technology", "Rasmus Ilves",
     "rasmus.ilves@taltech.ee.example", {"cloud": 3, "vulnerability_assessment": 2},
     "et en ru", "none", "remote"),
    # Spain
    ("ES", "CCN-CERT", "Javier Martínez Ruiz",
     "javier.martinez@ccn-cert.es.example", {"team_lead": 3, "incident_handling": 3},
     "es en fr", "SECRET UE", "both"),
    ("ES", "INCIBE-CERT", "Lucía Fernández García",
     "lucia.fernandez@incibe.es.example", {"threat_intelligence": 3, "malware_analysis": 2},
     "es en", "CONFIDENTIEL UE", "remote"),
    ("ES", "Mando Conjunto del Ciberespacio", "Alejandro Sánchez Moreno",
     "alejandro.sanchez@mcce.es.example", {"ot_ics": 3, "network_forensics": 2},
     "es en", "SECRET UE", "both"),
    ("ES", "INCIBE-CERT", "Marta López Navarro",
     "marta.lopez@incibe.es.example", {"vulnerability_assessment": 3, "cloud": 2},
     "es en pt", "RESTREINT UE", "both"),
    ("ES", "CCN-CERT", "Pablo Gómez Herrera",
     "pablo.gomez@ccn-cert.es.example", {"digital_forensics": 3, "malware_analysis": 3},
     "es en", "CONFIDENTIEL UE", "both"),
    ("ES", "Mando Conjunto del Ciberespacio", "Carmen Díaz Romero",
     "carmen.diaz@mcce.es.example", {"legal_advisor": 2, "communications": 2},
     "es en fr", "CONFIDENTIEL UE", "both"),
    # Croatia
    ("HR", "CERT.hr (CARNET)", "Ivan Horvat",
     "ivan.horvat@cert.hr.example", {"team_lead": 2, "incident_handling": 3},
     "hr en de", "CONFIDENTIEL UE", "both"),
    ("HR", "CERT.hr (CARNET)", "Ana Kovačević",
     "ana.kovacevic@cert.hr.example", {"malware_analysis": 2, "digital_forensics": 2},
     "hr en", "RESTREINT UE", "both"),
    ("HR", "Croatian Armed Forces Cyber Defence Centre", "Marko Babić",
     "marko.babic@morh.hr.example", {"network_forensics": 2, "ot_ics": 2},
     "hr en", "SECRET UE", "on_site"),
    ("HR", "Information Systems Security Bureau (ZSIS)", "Petra Marić",
     "petra.maric@zsis.hr.example", {"vulnerability_assessment": 3, "threat_intelligence": 1},
     "hr en it", "CONFIDENTIEL UE", "remote"),
    ("HR", "CERT.hr (CARNET)", "Tomislav Jurić",
     "tomislav.juric@cert.hr.example", {"cloud": 2, "incident_handling": 2},
     "hr en de", "none", "remote"),
    ("HR", "Information Systems Security Bureau (ZSIS)", "Ivana Knežević",
     "ivana.knezevic@zsis.hr.example", {"communications": 2, "legal_advisor": 2},
     "hr en", "SECRET UE", "both"),
    # Poland
    ("PL", "CERT Polska (NASK)", "Piotr Nowak",
     "piotr.nowak@cert.pl.example", {"team_lead": 3, "incident_handling": 3},
     "pl en de", "SECRET UE", "both"),
    ("PL", "CERT Polska (NASK)", "Katarzyna Wiśniewska",
     "katarzyna.wisniewska@cert.pl.example", {"malware_analysis": 3, "threat_intelligence": 2},
     "pl en", "CONFIDENTIEL UE", "remote"),
    ("PL", "CSIRT MON", "Tomasz Wójcik",
     "tomasz.wojcik@mon.gov.pl.example", {"network_forensics": 3, "ot_ics": 3},
     "pl en ru", "SECRET UE", "both"),
    ("PL", "CSIRT GOV (ABW)", "Agnieszka Kowalczyk",
     "agnieszka.kowalczyk@abw.gov.pl.example", {"threat_intelligence": 3, "digital_forensics": 2},
     "pl en uk", "SECRET UE", "both"),
    ("PL", "CSIRT MON", "Michał Kamiński",
     "michal.kaminski@mon.gov.pl.example", {"team_lead": 2, "incident_handling": 2, "cloud": 1},
     "pl en", "SECRET UE", "on_site"),
    ("PL", "CERT Polska (NASK)", "Magdalena Lewandowska",
     "magdalena.lewandowska@cert.pl.example", {"vulnerability_assessment": 3, "cloud": 2},
     "pl en fr", "RESTREINT UE", "both"),
    ("PL", "CSIRT GOV (ABW)", "Paweł Zieliński",
     "pawel.zielinski@abw.gov.pl.example", {"digital_forensics": 3, "malware_analysis": 2},
     "pl en", "CONFIDENTIEL UE", "both"),
    # Netherlands
    ("NL", "NCSC-NL", "Jeroen de Vries",
     "jeroen.devries@ncsc.nl.example", {"team_lead": 3, "threat_intelligence": 2},
     "nl en de", "SECRET UE", "both"),
    ("NL", "NCSC-NL", "Sanne Jansen",
     "sanne.jansen@ncsc.nl.example", {"incident_handling": 3, "cloud": 3},
     "nl en", "CONFIDENTIEL UE", "both"),
    ("NL", "Defence Cyber Command", "Bas van den Berg",
     "bas.vandenberg@mindef.nl.example", {"malware_analysis": 3, "network_forensics": 2},
     "nl en de", "SECRET UE", "both"),
    ("NL", "National Police High Tech Crime Unit", "Lotte Bakker",
     "lotte.bakker@politie.nl.example", {"digital_forensics": 3, "legal_advisor": 1},
     "nl en fr", "CONFIDENTIEL UE", "both"),
    ("NL", "Defence Cyber Command", "Thijs Visser",
     "thijs.visser@mindef.nl.example", {"ot_ics": 3, "vulnerability_assessment": 2},
     "nl en", "SECRET UE", "on_site"),
    # Ministry of Foreign Affairs, posted to the Permanent Representation in Brussels.
    ("NL", None, "Femke Smit",
     "femke.smit@minbuza.nl.example", {"communications": 3, "legal_advisor": 2},
     "nl en fr", "CONFIDENTIEL UE", "remote"),
    # France
    ("FR", "CERT-FR (ANSSI)", "Camille Dubois",
     "camille.dubois@ssi.gouv.fr.example", {"team_lead": 3, "incident_handling": 3},
     "fr en es", "SECRET UE", "both"),
    ("FR", "CERT-FR (ANSSI)", "Julien Moreau",
     "julien.moreau@ssi.gouv.fr.example", {"malware_analysis": 3, "digital_forensics": 2},
     "fr en", "CONFIDENTIEL UE", "both"),
    ("FR", "COMCYBER", "Élodie Laurent",
     "elodie.laurent@def.gouv.fr.example", {"threat_intelligence": 3, "communications": 1},
     "fr en de", "SECRET UE", "both"),
    ("FR", "COMCYBER", "Nicolas Lefèvre",
     "nicolas.lefevre@def.gouv.fr.example",
     {"network_forensics": 3, "ot_ics": 2, "team_lead": 2},
     "fr en", "SECRET UE", "on_site"),
    ("FR", "COMCYBER-MI (Gendarmerie)", "Claire Girard",
     "claire.girard@interieur.gouv.fr.example", {"digital_forensics": 3, "legal_advisor": 2},
     "fr en", "CONFIDENTIEL UE", "both"),
    ("FR", "CERT-FR (ANSSI)", "Antoine Bernard",
     "antoine.bernard@ssi.gouv.fr.example", {"vulnerability_assessment": 3, "cloud": 2},
     "fr en", "RESTREINT UE", "remote"),
    ("FR", "COMCYBER-MI (Gendarmerie)", "Manon Rousseau",
     "manon.rousseau@interieur.gouv.fr.example", {"incident_handling": 2, "communications": 2},
     "fr en es", "none", "remote"),
    # Romania
    ("RO", "CERT-RO (DNSC)", "Andrei Popescu",
     "andrei.popescu@dnsc.ro.example", {"team_lead": 3, "incident_handling": 2},
     "ro en fr", "SECRET UE", "both"),
    ("RO", "CERT-RO (DNSC)", "Elena Ionescu",
     "elena.ionescu@dnsc.ro.example", {"malware_analysis": 3, "threat_intelligence": 2},
     "ro en", "CONFIDENTIEL UE", "remote"),
    ("RO", "Romanian Cyber Defence Command", "Mihai Dumitrescu",
     "mihai.dumitrescu@mapn.ro.example", {"network_forensics": 2, "ot_ics": 3},
     "ro en", "SECRET UE", "both"),
    ("RO", "Politehnica University of Bucharest", "Ioana Stan",
     "ioana.stan@upb.ro.example", {"vulnerability_assessment": 2, "cloud": 2},
     "ro en fr", "RESTREINT UE", "both"),
    ("RO", "Romanian Cyber Defence Command", "Răzvan Constantin",
     "razvan.constantin@mapn.ro.example", {"digital_forensics": 2, "incident_handling": 3},
     "ro en", "SECRET UE", "on_site"),
    ("RO", "CERT-RO (DNSC)", "Cristina Gheorghe",
     "cristina.gheorghe@dnsc.ro.example", {"communications": 2, "legal_advisor": 3},
     "ro en fr", "CONFIDENTIEL UE", "both"),
    # Finland
    ("FI", "NCSC-FI (Traficom)", "Mikko Virtanen",
     "mikko.virtanen@traficom.fi.example", {"team_lead": 3, "incident_handling": 3},
     "fi en sv", "SECRET UE", "both"),
    ("FI", "NCSC-FI (Traficom)", "Laura Korhonen",
     "laura.korhonen@traficom.fi.example", {"threat_intelligence": 3, "malware_analysis": 2},
     "fi en sv", "CONFIDENTIEL UE", "both"),
    ("FI", "Finnish Defence Forces C5 Agency", "Juha Mäkinen",
     "juha.makinen@mil.fi.example", {"ot_ics": 3, "network_forensics": 3},
     "fi en", "SECRET UE", "on_site"),
    ("FI", "University of Jyväskylä", "Anna Nieminen",
     "anna.nieminen@jyu.fi.example", {"vulnerability_assessment": 3, "cloud": 2},
     "fi en de", "RESTREINT UE", "remote"),
    ("FI", "Finnish Defence Forces C5 Agency", "Antti Heikkinen",
     "antti.heikkinen@mil.fi.example", {"digital_forensics": 3, "incident_handling": 2},
     "fi en ru", "SECRET UE", "both"),
    ("FI", "NCSC-FI (Traficom)", "Sanna Laine",
     "sanna.laine@traficom.fi.example", {"cloud": 3, "communications": 1},
     "fi en sv", "CONFIDENTIEL UE", "both"),
]

# Experts working outside their nation's time zone.
_POSTED_ABROAD = {
    "jurgita.zukauskiene@kam.lt.example": "Europe/Brussels",
    "femke.smit@minbuza.nl.example": "Europe/Brussels",
}

# The day the dates below were written for. The demo is loaded on other days: its planned
# absences and clearance expiries move by the difference, so "in the coming weeks" stays
# true (the membership history is the project's past and does not move).
DEMO_TODAY = date(2026, 11, 27)

# The standard rapid response team: ten seats, a lead, at least four nations.
TEMPLATE: dict[str, Any] = {
    "name": "Standard rapid response team", "min_size": 8, "max_size": 12,
    "min_nations": 4, "max_per_nation": 3, "languages": ["en"], "consecutive": False,
    "slots": [{"skill": "team_lead", "min_level": 2},
              {"skill": "incident_handling", "min_level": 2, "count": 2},
              {"skill": "digital_forensics", "min_level": 2},
              {"skill": "malware_analysis", "min_level": 2},
              {"skill": "network_forensics", "min_level": 2},
              {"skill": "threat_intelligence", "min_level": 2},
              {"skill": "ot_ics", "min_level": 2},
              {"skill": "cloud", "min_level": 2},
              {"skill": "legal_advisor", "min_level": 1}],
}

# Declared unavailability, (starts_on, ends_on, reason), both ends inclusive.
_UNAVAILABILITY = {
    "paulius.butkus@kam.lt.example": [("2027-02-01", "2027-02-12", "Training course")],
    "vytautas.urbonas@nksc.lt.example": [("2026-12-21", "2027-01-03", "Leave")],
    "mart.kask@mil.ee.example": [("2026-11-30", "2026-12-04", "Exercise")],
    "rasmus.ilves@taltech.ee.example": [("2027-04-12", "2027-04-16", "Conference")],
    "marta.lopez@incibe.es.example": [("2027-03-22", "2027-03-29", "Leave")],
    "petra.maric@zsis.hr.example": [("2027-05-03", "2027-05-14", "Training course")],
    "michal.kaminski@mon.gov.pl.example": [
        ("2027-01-18", "2027-01-29", "Exercise"),
        ("2027-06-07", "2027-06-18", "Leave"),
    ],
    "bas.vandenberg@mindef.nl.example": [("2026-12-14", "2026-12-18", "Training course")],
    "elodie.laurent@def.gouv.fr.example": [
        ("2026-12-23", "2027-01-02", "Leave"),
        ("2027-02-15", "2027-02-26", "Leave"),
    ],
    "mihai.dumitrescu@mapn.ro.example": [("2026-11-02", "2026-11-13", "Exercise")],
    "laura.korhonen@traficom.fi.example": [("2027-06-14", "2027-06-25", "Leave")],
}


# Records whose nation has not confirmed them for over a year: the pool flags them as stale.
_LAST_VERIFIED = {
    "jurgita.zukauskiene@kam.lt.example": "2025-09-15",
    "andres.sepp@mil.ee.example": "2025-06-02",
    "liis.magi@taltech.ee.example": "2025-10-01",
    "pablo.gomez@ccn-cert.es.example": "2025-10-20",
    "ivan.horvat@cert.hr.example": "2025-03-11",
    "tomasz.wojcik@mon.gov.pl.example": "2025-11-03",
}


def _experts() -> list[dict[str, Any]]:
    """Expand the rows above into the expert records; the same list on every call."""
    experts: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for org, institution, name, email, skills, languages, clearance, deploy in _EXPERT_ROWS:
        seen[org] += 1
        experts.append({
            "org": org,
            "institution": institution,
            "name": name,
            "email": email,
            "phone": _PHONES[org].format(n=100 + seen[org]),
            "skills": dict(skills),
            "languages": languages.split(),
            "clearance": clearance,
            "remote": deploy in ("both", "remote"),
            "on_site": deploy in ("both", "on_site"),
            "time_zone": _POSTED_ABROAD.get(email, _TIME_ZONES[org]),
            # those who travel are reached on Signal at their phone; every expert has a key
            "messenger": f"Signal: {_PHONES[org].format(n=100 + seen[org])}"
            if deploy in ("both", "on_site") else None,
            "pgp_fingerprint": hashlib.sha1(email.encode()).hexdigest().upper(),  # noqa: S324
            # a clearance is granted for some years; one in the pool runs out within weeks
            "clearance_expires_on": None if clearance == "none" else (
                DEMO_TODAY + timedelta(days=40 + (len(experts) * 97) % 1100)).isoformat(),
            "last_verified": _LAST_VERIFIED.get(email),
            "unavailability": [
                {"starts_on": starts, "ends_on": ends, "reason": reason}
                for starts, ends, reason in _UNAVAILABILITY.get(email, [])
            ],
        })
    return experts


EXPERTS: list[dict[str, Any]] = _experts()

# ---------------------------------------------------------------------------------------------
# Demo logins
# ---------------------------------------------------------------------------------------------

USERS: list[dict[str, Any]] = [
    {"email": "admin@crrt.example", "name": "Platform Administrator", "role": "admin",
     "org": "LT", "expert_email": None},
    {"email": "coordinator@crrt.example", "name": "Rasa Vaitkevičienė", "role": "coordinator",
     "org": "LT", "expert_email": None},
    {"email": "poc.ee@crrt.example", "name": "Piret Lepik", "role": "national_poc",
     "org": "EE", "expert_email": None},
    {"email": "poc.lt@crrt.example", "name": "Andrius Kairys", "role": "national_poc",
     "org": "LT", "expert_email": None},
    {"email": "responder@crrt.example", "name": "Kristjan Tamm", "role": "responder",
     "org": "EE", "expert_email": "kristjan.tamm@ria.ee.example"},
    {"email": "requester@cert-eu.example", "name": "Sophie Lambert", "role": "requester",
     "org": "cert-eu", "expert_email": None},
    {"email": "observer@crrt.example", "name": "Jonas Becker", "role": "observer",
     "org": "DE", "expert_email": None},
]

# ---------------------------------------------------------------------------------------------
# Invariants
# ---------------------------------------------------------------------------------------------

# Mirrors of the closed sets in crrt (kept local so this module imports nothing from crrt).
_KINDS = {"nation", "eu_institution", "partner"}
_MEMBERSHIPS = {"lead", "participant", "observer"}
_INSTITUTION_KINDS = {"csirt", "military", "police", "intelligence", "academia", "other"}
_SKILLS = {
    "team_lead", "incident_handling", "digital_forensics", "malware_analysis",
    "network_forensics", "threat_intelligence", "vulnerability_assessment", "ot_ics", "cloud",
    "legal_advisor", "communications",
}
_CLEARANCES = {"none", "RESTREINT UE", "CONFIDENTIEL UE", "SECRET UE"}
_ROLES = {"admin", "coordinator", "national_poc", "responder", "requester", "observer"}
_EMAIL = re.compile(r"^[a-z0-9.\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.example$")


def check() -> None:
    """Assert the invariants the demo seeder relies on."""
    # Organisations: unique codes, valid kinds, one lead, a start date exactly for members.
    orgs = {o["code"]: o for o in ORGANISATIONS}
    assert len(orgs) == len(ORGANISATIONS), "duplicate organisation code"
    for o in ORGANISATIONS:
        assert o["kind"] in _KINDS, o
        assert o["membership"] in _MEMBERSHIPS | {None}, o
        assert (o["membership"] is None) == (o["effective_on"] is None), o
        if o["effective_on"] is not None:
            date.fromisoformat(o["effective_on"])
        if o["kind"] == "nation":
            assert re.fullmatch(r"[A-Z]{2}", o["code"]), o
            assert o["membership"] is not None, o
        else:
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", o["code"]), o
            assert o["membership"] is None, o
    assert [o["code"] for o in ORGANISATIONS if o["membership"] == "lead"] == ["LT"]
    members = {c for c, o in orgs.items() if o["membership"] in ("lead", "participant")}
    assert members == {"LT", "EE", "ES", "HR", "PL", "NL", "FR", "RO", "FI"}, members

    for p in PLANNED_MEMBERSHIP:
        assert p["code"] in orgs and p["membership"] in _MEMBERSHIPS | {None}, p
        assert p["membership"] != orgs[p["code"]]["membership"], p
        assert date.fromisoformat(p["effective_on"]) > date.fromisoformat(
            orgs[p["code"]]["effective_on"] or "1990-01-01"), p

    # History: earlier steps only, chronological, starting with a join, each a real change.
    steps: dict[str, list[dict[str, Any]]] = {}
    for h in MEMBERSHIP_HISTORY:
        assert h["code"] in orgs and orgs[h["code"]]["membership"] is not None, h
        assert h["membership"] in _MEMBERSHIPS, h
        assert isinstance(h["note"], str) and h["note"], h
        steps.setdefault(h["code"], []).append(h)
    for code, earlier in steps.items():
        current = orgs[code]
        chain = [*earlier, current]
        days = [date.fromisoformat(s["effective_on"]) for s in chain]
        assert days == sorted(days) and len(set(days)) == len(days), code
        roles = [s["membership"] for s in chain]
        assert all(a != b for a, b in pairwise(roles)), code

    # Contact cards: one per organisation, mostly shared under AMBER or GREEN.
    assert set(CONTACTS) == set(orgs), set(CONTACTS) ^ set(orgs)
    for card in CONTACTS.values():
        assert re.fullmatch(r"\+\d{2,3}( \d+)+", card["hotline"]), card
        assert _EMAIL.match(card["email"]), card
        assert re.fullmatch(r"[0-9A-F]{40}", card["pgp_fingerprint"]), card
        assert re.fullmatch(r"(Signal: \+[0-9 ]+|Threema: [0-9A-Z]{8})", card["messenger"]), card
        assert card["default_tlp"] in ("clear", "green", "amber", "amber+strict", "red"), card
    assert sum(c["default_tlp"] in ("amber", "green") for c in CONTACTS.values()) \
        >= len(CONTACTS) - 3

    # Institutions: belong to a lead or participant nation, 2-3 each, unique per nation.
    institutions = {(i["org"], i["name"]) for i in INSTITUTIONS}
    assert len(institutions) == len(INSTITUTIONS), "duplicate institution"
    for i in INSTITUTIONS:
        assert i["org"] in members, i
        assert i["kind"] in _INSTITUTION_KINDS, i
    per_org = Counter(i["org"] for i in INSTITUTIONS)
    assert set(per_org) == members and all(2 <= n <= 3 for n in per_org.values()), per_org

    # Experts.
    assert _experts() == EXPERTS, "expert data is not deterministic"
    assert len(EXPERTS) == 60, len(EXPERTS)
    for field in ("name", "email", "phone"):
        values = [e[field] for e in EXPERTS]
        assert len(set(values)) == len(values), f"duplicate expert {field}"
    skill_count: Counter[str] = Counter()
    for e in EXPERTS:
        assert e["org"] in members, e
        assert e["institution"] is None or (e["org"], e["institution"]) in institutions, e
        assert _EMAIL.match(e["email"]) and e["email"].isascii(), e["email"]
        assert re.fullmatch(r"\+\d{2,3}( \d+)+", e["phone"]), e["phone"]
        assert 1 <= len(e["skills"]) <= 4, e
        for skill, level in e["skills"].items():
            assert skill in _SKILLS and level in (1, 2, 3), (e["email"], skill, level)
            skill_count[skill] += 1
        langs = e["languages"]
        assert langs and len(set(langs)) == len(langs), e
        assert all(re.fullmatch(r"[a-z]{2}", lang) for lang in langs), e
        assert e["clearance"] in _CLEARANCES, e
        assert isinstance(e["remote"], bool) and isinstance(e["on_site"], bool), e
        assert e["remote"] or e["on_site"], e
        ZoneInfo(e["time_zone"])
        assert re.fullmatch(r"[0-9A-F]{40}", e["pgp_fingerprint"]), e
        assert e["messenger"] is None or e["messenger"].startswith("Signal: +"), e
        assert (e["clearance"] == "none") == (e["clearance_expires_on"] is None), e
        previous_end = None
        for u in e["unavailability"]:
            starts, ends = date.fromisoformat(u["starts_on"]), date.fromisoformat(u["ends_on"])
            assert date(2026, 11, 1) <= starts <= ends <= date(2027, 6, 30), (e["email"], u)
            assert previous_end is None or previous_end < starts, (e["email"], u)
            assert u["reason"], u
            previous_end = ends
    assert set(skill_count) == _SKILLS, _SKILLS - set(skill_count)
    assert skill_count["team_lead"] >= 8, skill_count
    assert skill_count["legal_advisor"] >= 3 and skill_count["communications"] >= 3, skill_count
    assert skill_count["ot_ics"] >= 4, skill_count
    assert sum(1 for e in EXPERTS if "en" in e["languages"]) >= 55
    assert set(Counter(e["clearance"] for e in EXPERTS)) == _CLEARANCES
    assert set(_UNAVAILABILITY) <= {e["email"] for e in EXPERTS}
    assert set(_LAST_VERIFIED) <= {e["email"] for e in EXPERTS}
    assert all(date.fromisoformat(day) < DEMO_TODAY - timedelta(days=366)
               for day in _LAST_VERIFIED.values())
    assert set(_POSTED_ABROAD) <= {e["email"] for e in EXPERTS}

    # Users: every role present, unique addresses, the responder linked to its expert record.
    assert isinstance(DEMO_PASSWORD, str) and len(DEMO_PASSWORD) >= 12
    emails = [u["email"] for u in USERS]
    assert len(set(emails)) == len(emails), "duplicate user e-mail"
    assert {u["role"] for u in USERS} == _ROLES
    by_email = {e["email"]: e for e in EXPERTS}
    for u in USERS:
        assert _EMAIL.match(u["email"]), u
        assert u["role"] in _ROLES and u["org"] in orgs, u
        if u["expert_email"] is None:
            assert u["role"] != "responder", u
            assert u["name"] not in {e["name"] for e in EXPERTS}, u
        else:
            expert = by_email[u["expert_email"]]
            assert expert["org"] == u["org"] and expert["name"] == u["name"], u


# ---------------------------------------------------------------------------------------------
# Requests for assistance: one waiting for triage, one before the Council (fictional incidents)

REQUESTS: list[dict[str, Any]] = [
    {"by": "requester@cert-eu.example", "ask": {
        "contact_name": "Sophie Lambert", "contact_email": "sophie.lambert@cert-eu.example",
        "affected_entity": "An agency of the Union", "sector": "public administration",
        "essential_entity": False, "severity": 2, "services": ["incident_response",
                                                               "malware_analysis"],
        "mode": "remote", "tlp": "amber",
        "description": "Credential phishing against staff; two mailboxes forward to an "
                       "outside address.",
        "mitigation": "Passwords reset, forwarding rules removed."}, "council": False},
    {"by": "coordinator@crrt.example", "ask": {
        "org": "EE", "channel": "phone", "contact_name": "Mart Kask",
        "contact_email": "mart.kask@ria.ee.example", "affected_entity": "A water utility",
        "sector": "drinking water", "essential_entity": True, "severity": 3,
        "services": ["incident_response", "digital_forensics"], "mode": "hybrid",
        "location": "Tartu", "cross_border": True, "tlp": "amber",
        "description": "Ransomware on the billing systems; the operators fear the control "
                       "network is next."}, "council": True},
]


# The community's sharing group (a TAXII collection): every participating nation reads and
# writes; what it carries is TLP:GREEN at most.
COMMUNITY: dict[str, Any] = {
    "title": "CRRT community",
    "description": "Indicators and reports every participating nation shares with the "
                   "others, up to TLP:GREEN.",
    "max_tlp": "green",
}

"""How crrt's processes log: one format for the server and the worker, and an access log that
keeps no query string and no client address.

A query string holds what people search for (``/experts?q=Kadri+Saar``: a name) and an
address is personal data; neither helps to follow up a report, which the method, the path,
the status and the time do. Database errors reach these logs without the values they quote
(:func:`crrt.core.db.withheld`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
QUERY = re.compile(r"\?\S*")
# A secret in a path (a duty calendar's address, polled hourly by calendar programs) is a
# credential: the log keeps that it was asked for, never which.
SECRET_IN_PATH = re.compile(r"crrtcal_[A-Za-z0-9_-]+")


def redacted(path: str) -> str:
    """A path as the logs may keep it: without its query string or any secret in it."""
    return SECRET_IN_PATH.sub("crrtcal_…", path.partition("?")[0])


def access_line(record: logging.LogRecord) -> str:
    """Method, path and status of uvicorn's access record (``'%s - "%s %s HTTP/%s" %d'``
    with the client, method, path and query, HTTP version and status)."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5:
        _client, method, full_path, _version, status = args
        return f"{method} {redacted(str(full_path))} {status}"
    # a shape we do not know: still no query, no secret
    return SECRET_IN_PATH.sub("crrtcal_…", QUERY.sub("", record.getMessage()))


class AccessFormatter(logging.Formatter):
    """The access log: time, method, path (without its query string), status."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.formatTime(record, self.datefmt)} {access_line(record)}"


def uvicorn_config() -> dict[str, Any]:
    """``log_config`` for uvicorn under ``crrt serve``: its own messages and crrt's to
    standard error, the access log (as :class:`AccessFormatter` writes it) to standard
    output."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {"format": FORMAT},
            "access": {"()": f"{__name__}.AccessFormatter"},
        },
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "default",
                        "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "access",
                       "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "crrt": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }


def configure() -> None:
    """Logging of a process of its own (``crrt worker``): crrt's messages in one format."""
    logging.basicConfig(level=logging.INFO, format=FORMAT)

"""The log formats: the access log keeps no query string and no caller's address."""

from __future__ import annotations

import logging
import logging.config

from crrt.core.logs import AccessFormatter, uvicorn_config


def _access_record(*args: object, msg: str = '%s - "%s %s HTTP/%s" %d') -> logging.LogRecord:
    """A record as uvicorn's HTTP protocols write it to ``uvicorn.access``."""
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)


def test_an_access_line_is_time_method_path_and_status():
    record = _access_record("192.0.2.7:51234", "GET", "/api/v1/experts?q=Kadri%20Saar&limit=5",
                            "1.1", 200)
    line = AccessFormatter().format(record)
    assert line.endswith(" GET /api/v1/experts 200")
    assert line[:4].isdigit()
    assert "Kadri" not in line and "192.0.2.7" not in line


def test_an_access_record_of_another_shape_still_loses_its_query():
    record = _access_record("GET /experts?q=Saar done", msg="%s")
    assert "Saar" not in AccessFormatter().format(record)


def test_the_server_log_configuration_loads():
    names = ("uvicorn", "uvicorn.access", "crrt")
    saved = {name: (logger.handlers[:], logger.propagate, logger.level)
             for name in names for logger in [logging.getLogger(name)]}
    try:
        logging.config.dictConfig(uvicorn_config())
        access = logging.getLogger("uvicorn.access")
        assert not access.propagate
        assert [type(h.formatter) for h in access.handlers] == [AccessFormatter]
        assert logging.getLogger("crrt").getEffectiveLevel() == logging.INFO
    finally:  # other tests read crrt's records through the root logger (caplog)
        for name, (handlers, propagate, level) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:], logger.propagate = handlers, propagate
            logger.setLevel(level)


def test_a_calendar_address_in_a_path_is_logged_without_its_secret():
    secret = "crrtcal_Zm9vYmFyYmF6cXV4LXNlY3JldC0xMjM0NTY3ODkw"
    line = AccessFormatter().format(_access_record(
        "192.0.2.7:51234", "GET", f"/api/v1/calendars/{secret}.ics", "1.1", 200))
    assert line.endswith(" GET /api/v1/calendars/crrtcal_….ics 200")
    assert secret not in line
    other = AccessFormatter().format(_access_record(f"GET /api/v1/calendars/{secret}.ics",
                                                    msg="%s"))
    assert secret not in other

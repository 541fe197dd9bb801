"""Time comes from one clock that tests hold still and move."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crrt.core import clock


def test_now_is_aware_utc_and_moves_on_its_own():
    first = clock.now()
    assert first.tzinfo is UTC
    assert clock.now() >= first


def test_frozen_holds_time_and_advance_moves_it():
    at = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    with clock.frozen(at):
        assert clock.now() == at
        assert clock.today().isoformat() == "2030-05-01"
        clock.advance(timedelta(hours=13))
        assert clock.now() == at + timedelta(hours=13)
        assert clock.today().isoformat() == "2030-05-02"
    assert clock.now() != at + timedelta(hours=13)


def test_frozen_converts_another_zone_to_utc():
    vilnius = timezone(timedelta(hours=3))
    with clock.frozen(datetime(2030, 5, 1, 2, 0, tzinfo=vilnius)):
        assert clock.now() == datetime(2030, 4, 30, 23, 0, tzinfo=UTC)
        assert clock.now().tzinfo is UTC
        assert clock.today().isoformat() == "2030-04-30"


def test_frozen_blocks_nest_and_restore():
    outer, inner = datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
    with clock.frozen(outer):
        with clock.frozen(inner):
            assert clock.now() == inner
        assert clock.now() == outer


def test_frozen_restores_even_when_the_block_fails():
    at = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(ZeroDivisionError), clock.frozen(at):
        _ = 1 / 0
    assert clock.now() != at


def test_advance_outside_frozen_refuses():
    with pytest.raises(RuntimeError):
        clock.advance(timedelta(seconds=1))


def test_as_utc_takes_a_naive_time_as_utc():
    assert clock.as_utc(datetime(2030, 1, 1, 8, 0)) == datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
    plus_two = datetime(2030, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    assert clock.as_utc(plus_two) == datetime(2030, 1, 1, 6, 0, tzinfo=UTC)


def test_frozen_takes_a_naive_time_as_utc_whatever_the_host_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        with clock.frozen(datetime(2030, 1, 1, 8, 0)):
            assert clock.now() == datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_iso_writes_utc_with_a_z_whatever_the_zone_given():
    moment = datetime(2027, 1, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    assert clock.iso(moment) == "2027-01-01T10:30:00Z"
    assert clock.iso(datetime(2027, 1, 1, 9, 0)) == "2027-01-01T09:00:00Z"

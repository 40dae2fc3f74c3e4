"""Background loops log an outage once when it starts and once when it ends, not every retry."""

from __future__ import annotations

import logging

import pytest

from computeadvisor.app.background import Outage
from computeadvisor.domain.errors import Unavailable


def test_an_outage_is_two_lines_however_long_it_lasts(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage("lease expiry", logging.getLogger("test.outage"))
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        outage.ok()
        for _ in range(50):
            outage.failed(Unavailable("database unavailable"), 1.0)
        outage.ok()
        outage.ok()
    assert [r.getMessage() for r in caplog.records] == [
        "lease expiry failed: database unavailable; retrying every 1.0 s",
        "lease expiry works again",
    ]
    assert all(r.exc_info is None for r in caplog.records)  # no traceback for a known failure

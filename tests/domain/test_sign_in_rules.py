"""The sign-in limits as pure rules: growing waits, and whose X-Forwarded-For is believed."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from domain.rules.sign_in import (
    SignInLimits,
    forwarded_client,
    parse_networks,
    retry_after_seconds,
    wait_after,
)
from domain.settings import Settings

LIMITS = SignInLimits()


def test_no_wait_before_the_threshold_then_doubling():
    waits = [wait_after(n, LIMITS).total_seconds() for n in range(10)]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16]


def test_the_wait_never_exceeds_a_lock():
    assert wait_after(10_000, LIMITS) == LIMITS.lock_for


def test_retry_after_rounds_up_to_whole_seconds():
    assert retry_after_seconds(timedelta(milliseconds=10)) == 1
    assert retry_after_seconds(timedelta(seconds=2)) == 2
    assert retry_after_seconds(timedelta(seconds=2, milliseconds=1)) == 3


TRUSTED = parse_networks("10.0.0.1, 10.9.0.0/16")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.1", ["203.0.113.7"], "192.0.2.1"),  # untrusted peer: header ignored
        ("10.0.0.1", [], "10.0.0.1"),  # trusted proxy without a header
        ("10.0.0.1", ["203.0.113.7"], "203.0.113.7"),
        ("10.0.0.1", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),  # left part is forgeable
        ("10.0.0.1", ["203.0.113.7, 10.9.3.4"], "203.0.113.7"),  # through two proxies
        ("10.0.0.1", ["203.0.113.7", "10.9.3.4"], "203.0.113.7"),  # header repeated
        ("10.0.0.1", ["10.9.3.4"], "10.9.3.4"),  # proxies only
        ("10.0.0.1", ["not-an-address"], "10.0.0.1"),
    ],
)
def test_forwarded_client(peer, forwarded, expected):
    assert forwarded_client(peer, forwarded, TRUSTED) == expected


def test_a_bad_trusted_proxy_setting_fails_at_start():
    assert Settings(trusted_proxies="10.0.0.1, fd00::/8").trusted_proxies
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(trusted_proxies="10.0.0.1, proxy.internal")

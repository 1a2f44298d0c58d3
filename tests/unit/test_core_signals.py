"""A command's stop event and its command-line overrides."""

from __future__ import annotations

import argparse
import os
import signal

import pytest

from framewire.core.config import options_given
from framewire.core.signals import stop_on_signals

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_sets_the_stop_event(handlers_restored: None, signum: int) -> None:
    # Given a command's stop event
    stop = stop_on_signals()
    assert not stop.is_set()
    # When the process gets the signal
    os.kill(os.getpid(), signum)
    # Then the event is set (the handler ran) and the process lives on
    assert stop.wait(5.0)


def test_only_the_options_given_override_the_environment() -> None:
    # Given options of which one was left out and one set to a falsy value
    args = argparse.Namespace(worker_id="w-1", model=None, http_port=0)
    # When the overrides are taken
    got = options_given(args, ("worker_id", "model", "http_port", "not_an_option"))
    # Then the missing and unset ones are left to the environment
    assert got == {"worker_id": "w-1", "http_port": 0}

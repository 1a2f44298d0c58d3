"""``framewire bench`` unwinds on SIGTERM as on Ctrl-C (its brokers and services stop)."""

import os
import signal

import pytest

from framewire.benchmark import interrupt_on_sigterm

pytestmark = pytest.mark.unit


def test_sigterm_raises_keyboard_interrupt_so_the_run_cleans_up() -> None:
    # Given the bench command's signal set-up
    previous = signal.getsignal(signal.SIGTERM)
    try:
        interrupt_on_sigterm()
        # When the process gets SIGTERM
        # Then it unwinds as Ctrl-C does
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0.1)  # (a signal is handled between bytecodes)
    finally:
        signal.signal(signal.SIGTERM, previous)

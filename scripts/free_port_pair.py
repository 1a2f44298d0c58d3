"""Print a port P on 127.0.0.1 such that P and P + 1 are both free (a broker and its controller).

Used by .ci/run, after setup has installed framewire, to give its own broker ports no other
process holds; free means what the broker's own start checks.
"""

import sys

from framewire.broker.local import port_in_use


def main() -> int:
    for port in range(29092, 29992, 2):
        if not port_in_use(port) and not port_in_use(port + 1):
            sys.stdout.write(f"{port}\n")
            return 0
    sys.stderr.write("no free pair of ports in 29092-29991\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())

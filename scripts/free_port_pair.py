"""Print a port P on 127.0.0.1 such that P and P + 1 are both free (a broker and its controller).

Used by .ci/run to give its own broker ports no other process holds.
"""

import socket
import sys


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main() -> int:
    for port in range(29092, 29992, 2):
        if _free(port) and _free(port + 1):
            sys.stdout.write(f"{port}\n")
            return 0
    sys.stderr.write("no free pair of ports in 29092-29991\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())

#!__PYTHON__ -IS
# Open vSwitch tool front end for one simulated host: it sends its argv
# (and stdin, for `ovs-ofctl ... -`) to the host's switch over a unix
# socket and prints what the switch answers, exiting with its status.
# It runs isolated and without site (-IS) and imports only built-in
# modules, so a call costs little more than the interpreter's start.
#
# Request:  "<n>\n", then n times "<len>\n<argument>", then "<len>\n<stdin>".
# Answer:   "<exit code> <len stdout> <len stderr>\n<stdout><stderr>".
import _socket
import os
import sys

SOCK = __SOCK__


def main():
    tool = os.path.basename(sys.argv[0])
    data = b""
    if tool == "ovs-ofctl" and "-" in sys.argv[1:]:
        data = sys.stdin.buffer.read()
    argv = [tool] + sys.argv[1:]
    parts = [b"%d\n" % len(argv)]
    for a in argv:
        b = os.fsencode(a)
        parts.append(b"%d\n" % len(b))
        parts.append(b)
    parts.append(b"%d\n" % len(data))
    parts.append(data)
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    chunks = []
    try:
        s.connect(SOCK)
        s.sendall(b"".join(parts))
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as e:
        sys.stderr.write("%s: cannot reach this host's switch at %s (%s)\n" % (tool, SOCK, e.strerror))
        return 1
    finally:
        s.close()
    head, _, rest = b"".join(chunks).partition(b"\n")
    try:
        code, nout, nerr = [int(x) for x in head.split()]
    except ValueError:
        code, nout, nerr = -1, 0, 0
    if code < 0 or len(rest) != nout + nerr:
        sys.stderr.write("%s: the switch at %s gave no answer\n" % (tool, SOCK))
        return 1
    sys.stdout.buffer.write(rest[:nout])
    sys.stdout.flush()
    sys.stderr.buffer.write(rest[nout:])
    sys.stderr.flush()
    return code


sys.exit(main())

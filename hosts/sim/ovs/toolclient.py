#!__PYTHON__
# Open vSwitch tool front end for one simulated host: it sends its argv
# (and stdin, for `ovs-ofctl ... -`) to the host's switch over a unix
# socket and prints what the switch answers, exiting with its status.
import base64
import json
import os
import socket
import sys

SOCK = __SOCK__


def main():
    tool = os.path.basename(sys.argv[0])
    data = b""
    if tool == "ovs-ofctl" and "-" in sys.argv[1:]:
        data = sys.stdin.buffer.read()
    req = {"argv": [tool] + sys.argv[1:], "stdin": base64.b64encode(data).decode()}
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(SOCK)
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError as e:
        sys.stderr.write("%s: cannot reach this host's switch at %s (%s)\n" % (tool, SOCK, e.strerror))
        return 1
    finally:
        s.close()
    try:
        resp = json.loads(buf)
    except ValueError:
        sys.stderr.write("%s: the switch at %s gave no answer\n" % (tool, SOCK))
        return 1
    sys.stdout.buffer.write(base64.b64decode(resp.get("stdout") or ""))
    sys.stdout.flush()
    sys.stderr.buffer.write(base64.b64decode(resp.get("stderr") or ""))
    sys.stderr.flush()
    return int(resp.get("code", 1))


sys.exit(main())

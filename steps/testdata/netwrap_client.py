"""Calls dom0's netwrap plugin the way neutron-rootwrap-xen-dom0 does, with
the stock XenAPI.py client (Debian's python3-os-xenapi): a session on the
URL in argv[1] (HTTPS unverified: the simulator's certificate is
self-signed; user root, password from XENLAB_TEST_PASSWORD, never argv),
session.get_this_host, then host.call_plugin for each call read as JSON
from stdin: [{"fn": ..., "args": {...}}, ...]. Prints one JSON list:
{"value": result} or {"failure": details} per call. Written for xenlab's
tests."""

import json
import os
import ssl
import sys
import xmlrpc.client

try:
    import XenAPI
except ImportError:
    from os_xenapi.client import XenAPI

url = sys.argv[1]
transport = None
if url.startswith("https:"):
    # The simulated host's certificate is self-signed (the Go side pins it).
    transport = xmlrpc.client.SafeTransport(context=ssl._create_unverified_context())
session = XenAPI.Session(url, transport=transport)
session.login_with_password("root", os.environ["XENLAB_TEST_PASSWORD"])
results = []
try:
    host = session.xenapi.session.get_this_host(session.handle)
    for call in json.load(sys.stdin):
        try:
            value = session.xenapi.host.call_plugin(host, "netwrap", call["fn"], call["args"])
            results.append({"value": value})
        except XenAPI.Failure as f:
            results.append({"failure": [str(d) for d in f.details]})
finally:
    session.xenapi.session.logout()
json.dump(results, sys.stdout)

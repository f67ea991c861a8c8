"""A test stand-in for dom0's XenAPIPlugin module (written for xenlab's
tests, Python 2 and 3): dispatch() decodes the XML-RPC call in argv[1],
runs the function and prints xapi's result struct, with the failure shapes
of xen-api's scripts/examples/python/XenAPIPlugin.py:
XENAPI_PLUGIN_FAILURE [fn, class, message] and
UNKNOWN_XENAPI_PLUGIN_FUNCTION [fn]."""

import sys

try:
    import xmlrpclib as rpc
except ImportError:
    import xmlrpc.client as rpc


def _answer(value):
    sys.stdout.write(rpc.dumps((value,), "", True))
    sys.stdout.write("\n")


def dispatch(table):
    params, method = rpc.loads(sys.argv[1])
    if method not in table:
        _answer({"Status": "Failure",
                 "ErrorDescription": ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", method]})
        return
    try:
        value = table[method](None, params[1])
    except Exception:
        e = sys.exc_info()[1]
        _answer({"Status": "Failure", "ErrorDescription":
                 ["XENAPI_PLUGIN_FAILURE", method, e.__class__.__name__, str(e)]})
        return
    _answer({"Status": "Success", "Value": value})

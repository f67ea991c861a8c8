"""XenAPIPlugin: the helper module dom0 plugins import, as the xenlab
simulator ships it (written for the simulator; it behaves like xen-api's
own and, like it, runs under Python 2 and Python 3).

xapi runs a plugin with one argument, an XML-RPC methodCall whose method
is the plugin function's name and whose params are [session_ref, args].
dispatch({"name": fn, ...}) decodes it, calls fn(session, args) and prints
an XML-RPC methodResponse holding xapi's result struct: {"Status":
"Success", "Value": result} or {"Status": "Failure", "ErrorDescription":
[...]}. An exception becomes XENAPI_PLUGIN_FAILURE [fn, class, message]; a
function not in the table UNKNOWN_XENAPI_PLUGIN_FUNCTION [fn].
"""

import sys

try:
    import xmlrpclib as _rpc  # Python 2
except ImportError:
    import xmlrpc.client as _rpc  # Python 3

import XenAPI


class Failure(Exception):
    """Raise Failure(code, params) to return that xapi error to the caller."""

    def __init__(self, code, params):
        Exception.__init__(self)
        self.params = [code] + list(params)

    def __str__(self):
        return str(self.params)


def success_message(result):
    return _rpc.dumps(({"Status": "Success", "Value": result},), "", True)


def failure_message(description):
    return _rpc.dumps(({"Status": "Failure", "ErrorDescription": description},), "", True)


def _print(message):
    sys.stdout.write(message)
    sys.stdout.write("\n")


def dispatch(fn_table):
    if len(sys.argv) != 2:
        raise Exception("Incorrect number of commandline arguments")
    params, method = _rpc.loads(sys.argv[1])
    session_ref, args = params[0], params[1]
    if method not in fn_table:
        _print(failure_message(["UNKNOWN_XENAPI_PLUGIN_FUNCTION", method]))
        return
    session = XenAPI.xapi_local()
    session._session = session_ref
    try:
        value = fn_table[method](session, args)
    except SystemExit:
        raise
    except Failure:
        _print(failure_message(sys.exc_info()[1].params))
        return
    except Exception:
        e = sys.exc_info()[1]
        _print(failure_message(["XENAPI_PLUGIN_FAILURE", method, e.__class__.__name__, str(e)]))
        return
    _print(success_message(value))

"""XenAPIPlugin: the helper module dom0 plugins import, as shipped by the
xenlab simulator (written for it; behaves like xapi's own).

A plugin calls dispatch({"name": fn, ...}). xapi runs the plugin with one
argument, an XML-RPC methodCall whose method is the function name and whose
params are [session_ref, args_struct]. The plugin prints an XML-RPC
methodResponse holding xapi's result struct: {"Status": "Success",
"Value": result} or {"Status": "Failure", "ErrorDescription": [...]}.
"""

import sys
import xmlrpc.client

import XenAPI


class Failure(Exception):
    """Raise Failure(code, params) to return that xapi error to the caller."""

    def __init__(self, code, params):
        Exception.__init__(self)
        self.params = [code] + list(params)

    def __str__(self):
        return str(self.params)


def _print_result(result):
    sys.stdout.write(xmlrpc.client.dumps((result,), "", True))
    sys.stdout.write("\n")


def success_message(result):
    return xmlrpc.client.dumps(({"Status": "Success", "Value": result},), "", True)


def failure_message(description):
    return xmlrpc.client.dumps(({"Status": "Failure", "ErrorDescription": description},), "", True)


def dispatch(fn_table):
    if len(sys.argv) != 2:
        raise Exception("Incorrect number of commandline arguments")
    params, method = xmlrpc.client.loads(sys.argv[1])
    session_ref, args = params[0], params[1]
    fn = fn_table.get(method)
    if fn is None:
        _print_result({"Status": "Failure", "ErrorDescription": ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", method]})
        return
    session = XenAPI.xapi_local()
    session._session = session_ref
    try:
        value = fn(session, args)
    except SystemExit:
        raise
    except Failure as e:
        _print_result({"Status": "Failure", "ErrorDescription": e.params})
        return
    except Exception as e:
        _print_result({"Status": "Failure", "ErrorDescription":
                       ["XENAPI_PLUGIN_FAILURE", method, e.__class__.__name__, str(e)]})
        return
    _print_result({"Status": "Success", "Value": value})

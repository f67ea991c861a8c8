"""XenAPI: the Python client of xapi, as the xenlab simulator ships it in
dom0 (written for the simulator; it behaves like xen-api's XenAPI.py and,
like it, runs under Python 2 and Python 3).

Session(url) is an XML-RPC proxy: session.xenapi.<class>.<call>(args...)
sends the call with the session ref first and returns the Value of xapi's
result struct, or raises Failure(ErrorDescription). Logging in goes
through session.xenapi.login_with_password(user, password) (or
session.login_with_password); an expired session is renewed once by
logging in again. xapi_local() is dom0's own session factory: a real dom0
reaches xapi over the unix socket /var/lib/xcp/xapi; the simulator's is at
the URL in XENLAB_SIM_XAPI_URL, local to this machine, so its self-signed
certificate is not checked.
"""

import os
import ssl

try:
    import xmlrpclib as _rpc  # Python 2
except ImportError:
    import xmlrpc.client as _rpc  # Python 3

API_VERSION_1_1 = "1.1"
API_VERSION_1_2 = "1.2"


class Failure(Exception):
    """A xapi error: details is [code, param...]."""

    def __init__(self, details):
        Exception.__init__(self, details)
        self.details = details

    def __str__(self):
        return str(self.details)

    def _details_map(self):
        return dict((str(i), d) for i, d in enumerate(self.details))


# A marker: the session expired and the call should be retried once logged in.
_RETRY = object()


def _value(result):
    """The Value of xapi's result struct, or Failure, or _RETRY."""
    if not isinstance(result, dict) or "Status" not in result:
        raise _rpc.Fault(500, "Missing Status in response from server: %r" % (result,))
    if result["Status"] == "Success":
        if "Value" in result:
            return result["Value"]
        raise _rpc.Fault(500, "Missing Value in response from server")
    desc = result.get("ErrorDescription")
    if not desc:
        raise _rpc.Fault(500, "Missing ErrorDescription in response from server")
    if desc[0] == "SESSION_INVALID":
        return _RETRY
    raise Failure(desc)


class _Call(object):
    """session.xenapi.VM.get_all and the like: collects the dotted name."""

    def __init__(self, send, name):
        self._send = send
        self._name = name

    def __getattr__(self, name):
        if self._name is None:
            return _Call(self._send, name)
        return _Call(self._send, self._name + "." + name)

    def __repr__(self):
        return "<XenAPI call %s>" % self._name

    def __call__(self, *args):
        return self._send(self._name, args)


class Session(_rpc.ServerProxy):
    """A xapi session over XML-RPC at uri."""

    def __init__(self, uri, transport=None, encoding=None, verbose=0,
                 allow_none=1, ignore_ssl=False):
        kwargs = {}
        if ignore_ssl and uri.startswith("https"):
            kwargs["context"] = ssl._create_unverified_context()
        _rpc.ServerProxy.__init__(self, uri, transport, encoding, verbose,
                                  allow_none, **kwargs)
        self.transport = transport
        self._session = None
        self.last_login_method = None
        self.last_login_params = None
        self.API_version = API_VERSION_1_1

    def xenapi_request(self, methodname, params):
        if methodname.startswith("login") or methodname.startswith("slave_local"):
            self._login(methodname, params)
            return None
        if methodname in ("logout", "session.logout"):
            self._logout()
            return None
        for _ in range(3):
            result = _value(self._remote(methodname)(*((self._session,) + tuple(params))))
            if result is not _RETRY:
                return result
            if not self.last_login_method:
                raise _rpc.Fault(401, "You must log in")
            self._login(self.last_login_method, self.last_login_params)
        raise _rpc.Fault(500, "Tried 3 times to get a valid session, but failed")

    def _remote(self, name):
        return _rpc.ServerProxy.__getattr__(self, name)

    def _login(self, method, params):
        result = _value(self._remote("session." + method)(*params))
        if result is _RETRY:
            raise Failure(["SESSION_INVALID"])
        self._session = result
        self.last_login_method = method
        self.last_login_params = params
        self.API_version = self._api_version()

    def _logout(self):
        try:
            if self.last_login_method and self.last_login_method.startswith("slave_local"):
                self.xenapi_request("session.local_logout", ())
            else:
                self.xenapi_request("session.logout", ())
        finally:
            self._session = None
            self.last_login_method = None
            self.last_login_params = None
            self.API_version = API_VERSION_1_1

    def _api_version(self):
        pool = self.xenapi.pool.get_all()[0]
        host = self.xenapi.pool.get_master(pool)
        major = self.xenapi.host.get_API_version_major(host)
        minor = self.xenapi.host.get_API_version_minor(host)
        return "%s.%s" % (major, minor)

    def __getattr__(self, name):
        if name == "handle":
            return self._session
        if name == "xenapi":
            return _Call(self.xenapi_request, None)
        if name.startswith("login") or name.startswith("slave_local"):
            return lambda *params: self._login(name, params)
        if name == "logout":
            return lambda: self._logout()
        return _rpc.ServerProxy.__getattr__(self, name)


def xapi_local():
    url = os.environ.get("XENLAB_SIM_XAPI_URL")
    if not url:
        raise Failure(["INTERNAL_ERROR", "XENLAB_SIM_XAPI_URL is not set: not run by the simulated xapi"])
    return Session(url, ignore_ssl=True)

"""XenAPI for dom0 plugins run by the xenlab simulator.

Re-exports the stock client (Debian's python3-os-xenapi) and points
xapi_local() at the simulator, whose URL is in XENLAB_SIM_XAPI_URL (real
dom0 reaches xapi through the unix socket /var/xapi/xapi).
"""

import os

try:
    from os_xenapi.client.XenAPI import *  # noqa: F401,F403
    from os_xenapi.client import XenAPI as _stock
except ImportError:  # the plugin may not need xapi at all
    _stock = None


def xapi_local():
    if _stock is None:
        raise ImportError("XenAPI: python3-os-xenapi is not installed")
    url = os.environ.get("XENLAB_SIM_XAPI_URL", "http://127.0.0.1/")
    return _stock.Session(url)

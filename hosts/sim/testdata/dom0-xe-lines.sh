# xenlab's own shell functions for the simulator's tests, sourced in dom0.
# Each runs the command line that devstack's tools/xen/functions (tag
# havana-eol) runs for the helper named beside it, with the output parsing
# those helpers rely on, so the test shows that dom0's xe and ifconfig
# answer devstack's own lines as a XenServer 6.2 dom0 does. devstack's file
# itself was sourced unchanged in a simulated dom0 by hand (issue 17); it is
# not kept here.

# get_local_sr
local_sr() { xe sr-list name-label="Local storage" --minimal; }

# _network_exists: a name with no network prints nothing
net_exists() { test -n "$(xe network-list name-label="$1" --minimal)"; }

# _bridge_exists, then bridge_for: a bridge is its own answer, a name asks
# for the network's bridge
bridge_of() {
    if test -n "$(xe network-list bridge="$1" --minimal)"; then
        echo "$1"
    else
        xe network-list name-label="$1" params=bridge --minimal
    fi
}

# _network_uuid by name, and setup_network's network-create
net_uuid() { xe network-list name-label="$1" --minimal; }
make_net() { xe network-create name-label="$1"; }

# xenapi_ip_on: the address in net-tools 1.60's "inet addr:A  Bcast:..."
ip_on() { ifconfig "$(bridge_of "$1")" | sed -n 's/.*inet addr:\([0-9.]*\).*/\1/p'; }

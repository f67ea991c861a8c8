#!/usr/bin/env bash
# stack.sh of xenlab's devstack stand-in. NOT DEVSTACK: see lib/standin.
#
# Reads localrc (in this checkout), /proc/cmdline, the two agents'
# configuration files and /etc/neutron/rootwrap.conf as Havana's devstack
# and agents do, and sets up the Open vSwitch of domU (q-domua) and of dom0
# (q-agt, through neutron-rootwrap-xen-dom0 and dom0's netwrap plugin).
# Success: exit 0 and, written last, $DEST/stack.sh.done. Failure: exit 1
# with the reason on the last line of stderr.

TOP_DIR=$(cd "$(dirname "$0")" && pwd)
source "$TOP_DIR/lib/standin"
standin_begin stack.sh
rm -f "$STACK_MARKER"
say "xenlab's devstack stand-in (not devstack) in $TOP_DIR"
load_state || true
install_neutron_bin
bring_up
msg="stack.sh completed in $SECONDS seconds."
echo "$msg"
echo "$msg" >"$STACK_MARKER.new"
mv "$STACK_MARKER.new" "$STACK_MARKER"

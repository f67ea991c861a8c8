#!/usr/bin/env bash
# stack.sh of xenlab's devstack stand-in. NOT DEVSTACK: see lib/standin.
#
# Reads localrc (in this checkout), /proc/cmdline, the two agents'
# configuration files and /etc/neutron/rootwrap.conf as Havana's devstack
# and agents do, and sets up the Open vSwitch of domU (q-domua) and of dom0
# (q-agt, through neutron-rootwrap-xen-dom0 and dom0's netwrap plugin),
# then starts the two agents' processes, as screen_it does.
# Success: exit 0 and, written last, $DEST/stack.sh.done. Failure: exit 1
# with the reason on the last line of stderr.

TOP_DIR=$(cd "$(dirname "$0")" && pwd)
source "$TOP_DIR/lib/standin"
standin_begin stack.sh
# Havana's stack.sh: "Check to see if we are already running DevStack".
if session_running; then
    echo "You are already running a stack.sh session."
    echo "To rejoin this session type 'screen -x stack'."
    echo "To destroy this session, type './unstack.sh'."
    exit 1
fi
rm -f "$STACK_MARKER" "$TOP_DIR/$SCREEN_NAME-screenrc"
say "xenlab's devstack stand-in (not devstack) in $TOP_DIR"
load_state || true
install_neutron_bin
bring_up
start_agents
say "q-agt and q-domua run (screen windows of session $SCREEN_NAME: $TOP_DIR/$SCREEN_NAME-screenrc)"
msg="stack.sh completed in $SECONDS seconds."
echo "$msg"
echo "$msg" >"$STACK_MARKER.new"
mv "$STACK_MARKER.new" "$STACK_MARKER"

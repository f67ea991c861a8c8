#!/usr/bin/env bash
# unstack.sh of xenlab's devstack stand-in. NOT DEVSTACK: see lib/standin.
#
# Stops the agents (the screen session), removes what stack.sh made on domU's switch and, through the q-agt's root
# helper, on dom0's, and puts back what dom0's bridges had before.

TOP_DIR=$(cd "$(dirname "$0")" && pwd)
source "$TOP_DIR/lib/standin"
standin_begin unstack.sh
rm -f "$STACK_MARKER"
# Havana's unstack.sh quits the screen session: the services end.
stop_agents
if ! load_state; then
    say "no state from stack.sh ($STANDIN_STATE): nothing to undo"
    exit 0
fi
tear_down
rm -f "$STANDIN_STATE"
say "done"

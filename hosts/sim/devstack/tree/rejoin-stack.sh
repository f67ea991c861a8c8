#!/usr/bin/env bash
# rejoin-stack.sh of xenlab's devstack stand-in. NOT DEVSTACK: see
# lib/standin.
#
# Havana's rejoin-stack.sh attaches to the screen session when it exists,
# and otherwise re-creates it from stack-screenrc, which starts every
# service again (after a reboot: the agents redo their start-up work on
# the switches, whose flows the reboot took). Without screen, the stand-in
# says so and exits when its session (its agents) runs, and otherwise redoes
# the agents' start-up work from the same files, keeping the first
# stack.sh's saved state, and starts them.

TOP_DIR=$(cd "$(dirname "$0")" && pwd)
source "$TOP_DIR/lib/standin"
standin_begin rejoin-stack.sh
if [[ ! -e $TOP_DIR/$SCREEN_NAME-screenrc ]]; then
    echo "Couldn't find $TOP_DIR/$SCREEN_NAME-screenrc file; have you run stack.sh yet?"
    exit 1
fi
if session_running; then
    echo "Attaching to already started screen session.."
    exit 0
fi
load_state || die "no state from stack.sh ($STANDIN_STATE); have you run stack.sh yet?"
install_neutron_bin
bring_up
start_agents
say "rejoined: q-agt and q-domua run again"

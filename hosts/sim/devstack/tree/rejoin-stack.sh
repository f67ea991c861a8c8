#!/usr/bin/env bash
# rejoin-stack.sh of xenlab's devstack stand-in. NOT DEVSTACK: see
# lib/standin.
#
# After domU rebooted (or was reverted), the agents start again: this
# re-applies stack.sh's switch work from the same files, idempotently,
# keeping the state of the first stack.sh for unstack.sh.

TOP_DIR=$(cd "$(dirname "$0")" && pwd)
source "$TOP_DIR/lib/standin"
standin_begin rejoin-stack.sh
load_state || die "no state from stack.sh ($STANDIN_STATE); have you run stack.sh yet?"
install_neutron_bin
bring_up
say "rejoined"

#!/usr/bin/env bash
# standin-resume.sh of xenlab's devstack stand-in. NOT DEVSTACK, and not
# devstack's either: the simulated host runs it when xapi resumes domU, as
# its model of the guest's memory (see resume_domu in lib/standin). Without
# an earlier stack.sh's state it does nothing. The agents' processes, which
# a real resume finds running, are started again (without their start-up
# work: dom0's switch was never suspended).

TOP_DIR=$(cd "$(dirname "$0")" && pwd)
source "$TOP_DIR/lib/standin"
standin_begin standin-resume.sh
load_state || exit 0
resume_domu
stop_agents # pid files of the processes the suspend ended
start_agents
say "domU's switch as the agents left it; the agents run again"

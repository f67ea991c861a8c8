#!/bin/bash
# What one cold up costs the machine, the simulator included:
#
#   bench/coldup-cpu.sh XENLAB [real|model]
#
# starts `XENLAB sim serve` in a fresh directory, runs one cold
# `XENLAB up` of its lab, stops the simulator with SIGTERM, and prints the
# CPU time of all of it (perf stat -e task-clock: every descendant counted,
# the daemons and commands in the simulated hosts' namespaces included)
# and `up`'s exit code. docs/performance.md has its figures. Needs perf
# (Debian's linux-perf) and, for the real switch, root.
set -u
bin=${1:?usage: $0 XENLAB [real|model]}
mode=${2:-real}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/run.sh" <<SCRIPT
"$bin" sim serve --dir "$dir/sim" --quiet --ovs "$mode" >"$dir/serve.out" 2>&1 &
serve=\$!
for i in \$(seq 600); do [ -f "$dir/sim/lab.hcl" ] && break; sleep 0.1; done
"$bin" up -f "$dir/sim/lab.hcl" --log-dir "" >"$dir/up.out" 2>&1
echo \$? >"$dir/up.exit"
kill -TERM \$serve
wait \$serve
SCRIPT
perf stat -x, -e task-clock -o "$dir/stat" -- bash "$dir/run.sh"
awk -F, -v code="$(cat "$dir/up.exit")" -v mode="$mode" '/task-clock/ { printf "%s switch: %.2f CPU-seconds (up exit %s)\n", mode, $1 / 1000, code }' "$dir/stat"

package steps

import (
	"context"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
)

func TestZZDebug(t *testing.T) {
	sh, cfg, host := simLabOVS(t, ovs.ModeModel)
	needStandIn(t, sh)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	upToAgents(t, ctx, cfg, host)
	g, err := domUConn(ctx, host, viewOf(mustInv(t, ctx, host), cfg))
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(ctx, `(setsid sleep 100 </dev/null >/dev/null 2>&1 & echo $! > /tmp/p); sleep 0.2; p=$(cat /tmp/p); echo pid=$p; tr '\0' ' ' </proc/$p/cmdline; echo; ps -eo pid,args | head; cat /proc/sys/kernel/random/boot_id; echo $$`)
	t.Logf("%v\n%s\n%s", err, res.Stdout, res.Stderr)
}

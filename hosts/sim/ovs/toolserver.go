package ovs

import (
	"context"
	"fmt"
	"os"

	"xenlab/hosts/sim/toolfront"
)

// tools are the programs BinDir holds: front ends that the simulator's
// own executable runs (package toolfront), carried out by Exec.
var tools = []toolfront.Tool{
	{Name: "ovs-vsctl"},
	{Name: "ovs-ofctl", Stdin: toolfront.StdinIfDash}, // add-flows BR -
	{Name: "ovs-appctl"},
}

// Tools are the programs a switch's BinDir holds, which Exec carries out.
func Tools() []toolfront.Tool { return append([]toolfront.Tool(nil), tools...) }

// startToolServer serves execFn to the BinDir tools over a unix socket at
// sock and writes the tools into binDir.
func startToolServer(sock, binDir string, execFn func(context.Context, []string, []byte) (Result, error)) (*toolfront.Server, error) {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return nil, fmt.Errorf("create tool directory: %w", err)
	}
	srv, err := toolfront.Serve(sock, func(ctx context.Context, argv []string, stdin []byte) (toolfront.Result, error) {
		r, err := execFn(ctx, argv, stdin)
		return toolfront.Result(r), err
	})
	if err != nil {
		return nil, err
	}
	if err := toolfront.Install(binDir, sock, tools); err != nil {
		srv.Close()
		return nil, err
	}
	return srv, nil
}

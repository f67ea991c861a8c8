package sim

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
)

// simState is what the simulator itself must remember across restarts of a
// --dir host: the loopback /24 its hosts live in. Everything else lives in
// xapi's database and the hosts' own directories.
type simState struct {
	// Net is the 127.A.B prefix: dom0 is 127.A.B.1, guests 127.A.B.10 and up.
	// Every address in 127.0.0.0/8 is loopback on Linux, so each guest gets
	// an IP of its own, as on a real host, and several simulators do not
	// collide.
	Net [2]byte `json:"net"`
	// NetID and LAN are the host's own network (simnet.go, package
	// hostnet), where root allows one: the id its uplink xl<NetID> is
	// named by, and its /24 of 198.18.0.0/15 ("198.18.A.0/24").
	NetID string `json:"netid,omitempty"`
	LAN   string `json:"lan,omitempty"`
	// own: this run has the network of LAN (dom0 at .1, guests at .10
	// and up) instead of the loopback /24.
	own bool
}

func (s simState) dom0IP() string {
	if s.own {
		return s.lanIP(1)
	}
	return fmt.Sprintf("127.%d.%d.1", s.Net[0], s.Net[1])
}

func (s simState) guestIP(n int) string {
	if s.own {
		return s.lanIP(10 + n)
	}
	return fmt.Sprintf("127.%d.%d.%d", s.Net[0], s.Net[1], 10+n)
}

// lanIP is the address b of the host's own /24.
func (s simState) lanIP(b int) string {
	p, err := netip.ParsePrefix(s.LAN)
	if err != nil {
		return ""
	}
	a := p.Addr().As4()
	a[3] = byte(b)
	return netip.AddrFrom4(a).String()
}

// saveState writes what loadState reads.
func saveState(dir string, st simState) error {
	out, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sim.json"), out, 0o600)
}

func loadState(dir string) (simState, error) {
	p := filepath.Join(dir, "sim.json")
	var st simState
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &st); err != nil {
			return st, fmt.Errorf("%s: %w", p, err)
		}
		return st, nil
	case !errors.Is(err, os.ErrNotExist):
		return st, err
	}
	// 127.16.0.0 - 127.250.255.0: away from 127.0.0.x, which other
	// programs use.
	a, _ := rand.Int(rand.Reader, big.NewInt(235))
	b2, _ := rand.Int(rand.Reader, big.NewInt(256))
	st.Net = [2]byte{byte(16 + a.Int64()), byte(b2.Int64())}
	out, _ := json.Marshal(st)
	return st, os.WriteFile(p, out, 0o600)
}

package sim

// Counters are what the host has served so far, counted on its side, so
// that two clients (xenlab and bench/'s devstack-way script) are measured
// with one instrument.
type Counters struct {
	XAPICalls int64 // XML-RPC calls over HTTP(S), logins included
	// SSHHandshakes counts completed handshakes with dom0 and with every
	// guest, stopped ones included.
	SSHHandshakes int64
}

// Counters returns the host's counts so far.
func (h *Host) Counters() Counters {
	c := Counters{XAPICalls: h.xapi.Calls(), SSHHandshakes: h.dom0.Handshakes()}
	h.mu.Lock()
	defer h.mu.Unlock()
	c.SSHHandshakes += h.goneHandshakes
	for _, g := range h.guests {
		if g.ssh != nil {
			c.SSHHandshakes += g.ssh.Handshakes()
		}
	}
	return c
}

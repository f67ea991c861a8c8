package sim

import "time"

// Counters are what the host has served so far, counted on its side, so
// that two clients (xenlab and bench/'s devstack-way script) are measured
// with one instrument.
type Counters struct {
	XAPICalls int64 // XML-RPC calls over HTTP(S), logins included
	// SSHHandshakes counts completed handshakes with dom0 and with every
	// guest, stopped ones included.
	SSHHandshakes int64
	// GuestStarts counts the guests the simulator started (a VM's start or
	// resume), and GuestStartTime the time it spent starting them (the
	// guest's switch, devices and SSH server): the simulator's own cost,
	// which a real host has not, on the path to a booted guest.
	GuestStarts    int64
	GuestStartTime time.Duration
	// GuestResumes counts the guests kept while their VM was suspended
	// (VM.suspend, VM.checkpoint) and resumed as they were, not started.
	GuestResumes int64
}

// Counters returns the host's counts so far.
func (h *Host) Counters() Counters {
	c := Counters{XAPICalls: h.xapi.Calls(), SSHHandshakes: h.dom0.Handshakes()}
	h.mu.Lock()
	defer h.mu.Unlock()
	c.SSHHandshakes += h.goneHandshakes
	c.GuestStarts, c.GuestStartTime, c.GuestResumes = h.guestStarts, h.guestStartTime, h.guestResumes
	for _, g := range h.guests {
		if g.ssh != nil {
			c.SSHHandshakes += g.ssh.Handshakes()
		}
	}
	return c
}

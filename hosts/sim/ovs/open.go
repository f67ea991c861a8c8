package ovs

import (
	"context"
	"errors"
	"fmt"

	"xenlab/hosts/sim/internal/netns"
)

// ErrRealUnavailable is wrapped by Open's error when ModeReal cannot run
// here (binaries missing, not root, no network namespaces, daemons failed).
var ErrRealUnavailable = errors.New("real Open vSwitch unavailable")

// Linker is implemented by both kinds of Switch: AddLink creates a network
// device (a tap device in the host's namespace, or its model) so that a
// system port of that name, such as a VIF's vif<domid>.<dev> or domU's
// eth1, opens without error. DelLink removes it again, as netback does
// when a VIF is unplugged, so that the same name can be added later (a
// VIF.plug after VIF.unplug); a missing device is not an error.
type Linker interface {
	AddLink(ctx context.Context, name string) error
	DelLink(ctx context.Context, name string) error
}

// Open starts the Open vSwitch of one host, keeping its files under dir.
// ModeAuto gives a real switch when RealAvailable says so and it starts,
// else the model; ModeReal fails with an error wrapping ErrRealUnavailable
// when a real switch cannot run.
func Open(ctx context.Context, dir string, mode Mode) (Switch, error) {
	return OpenIn(ctx, dir, mode, nil)
}

// OpenIn is Open with a real switch's ovs-vswitchd in the network
// namespace ns (its host's: dom0's or a guest's, package hostnet), where
// its bridges' own interfaces appear and the host's devices are its system
// ports; nil gives ovs-vswitchd a namespace of its own, as Open does. The
// model has no namespace and ignores it.
func OpenIn(ctx context.Context, dir string, mode Mode, ns *netns.NS) (Switch, error) {
	switch mode {
	case ModeModel:
		return openModel(dir)
	case ModeReal:
		return openReal(ctx, dir, ns)
	case ModeAuto, "":
		if RealAvailable() == nil {
			if sw, err := openReal(ctx, dir, ns); err == nil {
				return sw, nil
			} else if !errors.Is(err, ErrRealUnavailable) {
				return nil, err
			}
		}
		return openModel(dir)
	}
	return nil, fmt.Errorf("ovs: unknown mode %q (want auto, real or model)", mode)
}

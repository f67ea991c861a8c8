package ovs

import (
	"context"
	"errors"
	"fmt"
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
	switch mode {
	case ModeModel:
		return openModel(dir)
	case ModeReal:
		return openReal(ctx, dir)
	case ModeAuto, "":
		if RealAvailable() == nil {
			if sw, err := openReal(ctx, dir); err == nil {
				return sw, nil
			} else if !errors.Is(err, ErrRealUnavailable) {
				return nil, err
			}
		}
		return openModel(dir)
	}
	return nil, fmt.Errorf("ovs: unknown mode %q (want auto, real or model)", mode)
}

package steps

import (
	"context"
	"fmt"
	"strings"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// preflight checks, before anything is changed, that the host can take
// the lab (devstack's install_os_domU.sh checked the first two):
//   - xapi answers and the credentials work;
//   - the host is alone in its pool (xenlab does not place VMs in pools);
//   - the network backend is openvswitch, in xapi and in dom0's
//     /etc/xensource/network.conf (read over SSH, which proves SSH too);
//   - unless this lab's domU (found by its tag) already exists: the host has the free memory
//     and the default SR the free space domU needs.
//
// It only reads, so it runs every time (Check is never done) and has
// nothing to destroy.
type preflight struct {
	host *hosts.Host
	lab  *localrc.Config
}

func (p *preflight) Name() string                                    { return "preflight" }
func (p *preflight) Deps() []string                                  { return nil }
func (p *preflight) Check(context.Context) (bool, error)             { return false, nil }
func (p *preflight) Destroy(context.Context, provision.Output) error { return nil }

func (p *preflight) Apply(ctx context.Context, out provision.Output) error {
	c, err := p.host.XAPI(ctx)
	if err != nil {
		return err
	}
	// The host's one inventory read answers: how many hosts, this one's
	// record, whether domU exists, the pool's default SR.
	inv, err := p.host.Inventory(ctx)
	if err != nil {
		return err
	}
	ref, rec, ok := hosts.Only(inv.Hosts)
	if !ok {
		return fmt.Errorf("the host is in a pool of %d hosts; xenlab needs a host of its own (a pool of one)", len(inv.Hosts))
	}
	out.Line("xapi %s: %s %s (API %d.%d) on %s", c.URL(), rec.SoftwareVersion["product_brand"],
		rec.SoftwareVersion["product_version"], rec.APIVersionMajor, rec.APIVersionMinor, rec.NameLabel)
	if b := rec.NetworkBackend(); b != "openvswitch" {
		return fmt.Errorf("network backend is %q, Quantum's agents need openvswitch "+
			"(in dom0: xe-switch-network-backend openvswitch, then reboot)", b)
	}

	dom0, err := p.host.Dom0(ctx)
	if err != nil {
		return err
	}
	conf, err := dom0.Download(ctx, "/etc/xensource/network.conf")
	if err != nil {
		return fmt.Errorf("reading dom0's /etc/xensource/network.conf: %w", err)
	}
	if b := strings.TrimSpace(string(conf)); b != "openvswitch" {
		return fmt.Errorf("dom0's /etc/xensource/network.conf says %q, not openvswitch", b)
	}
	out.Line("dom0 ssh %s@%s: network backend openvswitch", p.host.Config.SSHUser, p.host.Config.SSHAddr())

	if vm := findDomU(inv, p.lab.Lab); vm != "" {
		out.Line("domU %q (%s) exists: memory and disk were checked when it was made", inv.VMs[vm].NameLabel, inv.VMs[vm].UUID)
		return nil
	}
	return p.checkCapacity(ctx, c, inv, ref, out)
}

// checkCapacity compares the host's free memory and the default SR's free
// space with what domU will take.
func (p *preflight) checkCapacity(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, host xapi.Ref, out provision.Output) error {
	free, err := c.HostComputeFreeMemory(ctx, host)
	if err != nil {
		return err
	}
	need := p.lab.DomU.Memory.Bytes()
	out.Line("memory: %s free, domU needs %s", localrc.Size(free), p.lab.DomU.Memory)
	if free < need {
		return fmt.Errorf("the host has %s of free memory, domU %q needs %s (domu.memory)",
			localrc.Size(free), p.lab.DomU.Name, p.lab.DomU.Memory)
	}
	_, pool, ok := hosts.Only(inv.Pools)
	if !ok || pool.DefaultSR.IsNull() {
		return fmt.Errorf("the pool has no default SR for domU's disk")
	}
	srRec, ok := inv.SRs[pool.DefaultSR]
	if !ok {
		return fmt.Errorf("the pool's default SR %s is not among the host's SRs", pool.DefaultSR)
	}
	out.Line("default SR %q: %s free, domU needs %s", srRec.NameLabel, localrc.Size(srRec.FreeBytes()), p.lab.DomU.Disk)
	if srRec.FreeBytes() < p.lab.DomU.Disk.Bytes() {
		return fmt.Errorf("default SR %q has %s free, domU needs %s (domu.disk)",
			srRec.NameLabel, localrc.Size(srRec.FreeBytes()), p.lab.DomU.Disk)
	}
	return nil
}

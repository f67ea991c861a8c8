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
//   - the host has the free memory and the default SR the free space domU
//     needs: all of it for a new domU, what an edit of the lab file adds
//     (domu.memory, domu.xvdb_size) for an existing one.
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

	return p.checkCapacity(ctx, c, inv, ref, out)
}

// checkCapacity compares the host's free memory and the default SR's free
// space with what domU will take beyond what it has: all of it for a new
// domU; for an existing one, what an edit of the lab file adds (memory
// beyond what a running domU holds now, a larger xvdb), so an edit the
// host cannot take fails here, before domU is stopped for it.
func (p *preflight) checkCapacity(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, host xapi.Ref, out provision.Output) error {
	vm := findDomU(inv, p.lab.Lab)
	if err := checkMemory(ctx, c, inv, host, p.lab, out); err != nil {
		return err
	}
	_, pool, ok := hosts.Only(inv.Pools)
	if !ok || pool.DefaultSR.IsNull() {
		return fmt.Errorf("the pool has no default SR for domU's disk")
	}
	srRec, ok := inv.SRs[pool.DefaultSR]
	if !ok {
		return fmt.Errorf("the pool's default SR %s is not among the host's SRs", pool.DefaultSR)
	}
	disk, what := p.lab.DomU.Disk.Bytes()+p.lab.DomU.XVDB.Bytes(), "domu.disk"
	if p.lab.DomU.XVDB > 0 {
		what = "domu.disk and domu.xvdb_size"
	}
	if vm != "" { // the root disk exists; a larger xvdb replaces the old one
		_, has := xvdbDisk(inv, p.lab.Lab, vm)
		disk, what = max(p.lab.DomU.XVDB.Bytes()-has, 0), "domu.xvdb_size"
		if disk == 0 {
			return nil
		}
	}
	out.Line("default SR %q: %s free, domU needs %s more (%s)", srRec.NameLabel, localrc.Size(srRec.FreeBytes()), localrc.Size(disk), what)
	if srRec.FreeBytes() < disk {
		return fmt.Errorf("default SR %q has %s free, domU needs %s (%s)",
			srRec.NameLabel, localrc.Size(srRec.FreeBytes()), localrc.Size(disk), what)
	}
	return nil
}

// checkMemory compares the host's free memory with what domU needs beyond
// what it holds: all of domu.memory for a new or halted domU, the increase
// for a running one (whose memory counts as used). out may be nil.
func checkMemory(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, host xapi.Ref, lab *localrc.Config, out provision.Output) error {
	free, err := c.HostComputeFreeMemory(ctx, host)
	if err != nil {
		return err
	}
	want := lab.DomU.Memory.Bytes()
	need, holds := want, int64(0)
	vm := findDomU(inv, lab.Lab)
	if vm != "" {
		if rec := inv.VMs[vm]; !rec.ResidentOn.IsNull() {
			holds = rec.MemoryStaticMax // counted as used in free
			need = max(want-holds, 0)
		}
	}
	if out != nil {
		switch {
		case vm == "":
			out.Line("memory: %s free, domU needs %s", localrc.Size(free), lab.DomU.Memory)
		case holds > 0:
			out.Line("memory: %s free, domU %q holds %s and needs %s (domu.memory)", localrc.Size(free),
				inv.VMs[vm].NameLabel, localrc.Size(holds), lab.DomU.Memory)
		default:
			out.Line("memory: %s free, domU %q (halted) needs %s", localrc.Size(free), inv.VMs[vm].NameLabel, lab.DomU.Memory)
		}
	}
	if free >= need {
		return nil
	}
	if holds > 0 {
		return fmt.Errorf("domu.memory = %s: domU %q holds %s now and the host has %s free besides, %s in all; "+
			"lower domu.memory or free memory on the host", lab.DomU.Memory, lab.DomU.Name,
			localrc.Size(holds), localrc.Size(free), localrc.Size(free+holds))
	}
	return fmt.Errorf("the host has %s of free memory, domU %q needs %s (domu.memory)",
		localrc.Size(free), lab.DomU.Name, lab.DomU.Memory)
}

package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/xapid"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
)

var testTags = map[string]string{"xenlab-lab": "t", "xenlab-role": "template"}

func simLabInstall(t *testing.T, install time.Duration) (*sim.Host, *localrc.Config, *hosts.Host) {
	t.Helper()
	return simLabLogf(t, install, t.Logf)
}

func simLabLogf(t *testing.T, install time.Duration, logf func(string, ...any)) (*sim.Host, *localrc.Config, *hosts.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: logf, InstallTime: install})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	cfg, err := localrc.Load(h.Endpoints().LabFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DomU.Template = "xenlab test template"
	host := hosts.New(cfg.Hosts[0], hosts.Options{})
	t.Cleanup(func() { host.Close(context.Background()) })
	return h, cfg, host
}

// tagged lists the VMs and VDIs that carry the test's lab tag.
func tagged(t *testing.T, c *xapi.Client) (vms map[xapi.Ref]xapi.VMRecord, vdis int) {
	t.Helper()
	ctx := context.Background()
	all, err := c.VMGetAllRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vms = map[xapi.Ref]xapi.VMRecord{}
	for ref, r := range all {
		if r.OtherConfig["xenlab-lab"] == "t" {
			vms[ref] = r
		}
	}
	v, err := c.Call(ctx, "VDI.get_all_records")
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range v.(map[string]any) {
		if oc, _ := rec.(map[string]any)["other_config"].(map[string]any); oc["xenlab-lab"] == "t" {
			vdis++
		}
	}
	return vms, vdis
}

func webRootFiles(t *testing.T, h *sim.Host) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(h.Dir(), "dom0", "fs", "opt", "xensource", "www"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestInstallTemplateBuildsThroughTheInstaller: the template is built by
// the modelled installer run (preseed fetched from dom0's web root and
// checked), is tagged, is the only thing left, and a clone of it boots
// into a guest with an IP as the prebuilt template's clones do.
func TestInstallTemplateBuildsThroughTheInstaller(t *testing.T) {
	h, cfg, host := simLabInstall(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tpl, err := installTemplate(ctx, host, cfg, testTags)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a template build cost %+v", host.Counters())
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := c.VMGetRecord(ctx, tpl)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.IsATemplate || rec.IsASnapshot || rec.NameLabel != cfg.DomU.Template || rec.PVBootloader != "pygrub" {
		t.Errorf("template: template %v snapshot %v name %q bootloader %q", rec.IsATemplate, rec.IsASnapshot,
			rec.NameLabel, rec.PVBootloader)
	}
	for k, v := range testTags {
		if rec.OtherConfig[k] != v {
			t.Errorf("template other_config[%s] = %q, want %q", k, rec.OtherConfig[k], v)
		}
	}
	if _, ok := rec.OtherConfig[intermediateKey]; ok {
		t.Errorf("the template still carries %s", intermediateKey)
	}
	vms, vdis := tagged(t, c)
	if len(vms) != 1 || vdis != 1 {
		t.Errorf("after the build: %d tagged VMs (want 1, the template), %d tagged disks (want 1)", len(vms), vdis)
	}
	// The disk says the installer installed it.
	vbd, err := c.VBDGetRecord(ctx, rec.VBDs[0])
	if err != nil {
		t.Fatal(err)
	}
	vdi, err := c.VDIGetRecord(ctx, vbd.VDI)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(vdi.OtherConfig[xapid.InstalledKey], "precise") {
		t.Errorf("the template's disk was not installed: other_config %v", vdi.OtherConfig)
	}
	if files := webRootFiles(t, h); len(files) != 0 {
		t.Errorf("the preseed is still served: %v", files)
	}

	// A clone of it boots into a guest with an IP.
	vm, err := c.VMClone(ctx, tpl, "domU from the built template")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VMSetIsATemplate(ctx, vm, false); err != nil {
		t.Fatal(err)
	}
	// It kept the installer VM's VIF 0 on the management network, as
	// devstack's template did.
	if vifs, err := c.VMGetVIFs(ctx, vm); err != nil || len(vifs) != 1 {
		t.Fatalf("the clone's VIFs: %v, %v", vifs, err)
	}
	if err := c.VMStart(ctx, vm, false, false); err != nil {
		t.Fatal(err)
	}
	ip, err := c.WaitGuestIP(ctx, vm, "0")
	if err != nil || ip == "" {
		t.Fatalf("the clone's guest reports no IP: %q, %v", ip, err)
	}
}

// TestInstallTemplateRefusesABrokenPreseed: a lab file's preseed that
// would stop the installer fails with the cause, and nothing is left.
func TestInstallTemplateRefusesABrokenPreseed(t *testing.T) {
	h, cfg, host := simLabInstall(t, 0)
	ctx := context.Background()
	cfg.DomU.Ubuntu.Preseed = "d-i mirror/http/hostname string " + cfg.DomU.Ubuntu.MirrorHost + "\n"
	_, err := installTemplate(ctx, host, cfg, testTags)
	if err == nil || !strings.Contains(err.Error(), "no answer to mirror/http/directory") ||
		!strings.Contains(err.Error(), "lab file's domu ubuntu preseed") {
		t.Fatalf("got %v, want the missing answer and where the preseed came from", err)
	}
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if vms, vdis := tagged(t, c); len(vms) != 0 || vdis != 0 {
		t.Errorf("left %d tagged VMs and %d tagged disks", len(vms), vdis)
	}
	if files := webRootFiles(t, h); len(files) != 0 {
		t.Errorf("left files in the web root: %v", files)
	}
}

// TestInstallTemplateCancelledMidInstall: cancelling while the installer
// runs stops and removes the installer VM and its disk and the preseed.
func TestInstallTemplateCancelledMidInstall(t *testing.T) {
	h, cfg, host := simLabInstall(t, time.Minute) // far longer than the test
	c, err := host.XAPI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := installTemplate(ctx, host, cfg, testTags)
		done <- err
	}()
	// Cancel once the tagged installer VM runs (seen by events).
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	err = c.WaitFor(wctx, []string{"vm"}, func(_ context.Context, evs []xapi.Event) (bool, error) {
		for _, ev := range evs {
			var r xapi.VMRecord
			if ev.Operation != "del" && r.UnmarshalXAPI(ev.Snapshot) == nil &&
				r.OtherConfig["xenlab-lab"] == "t" && r.PowerState == "Running" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files := webRootFiles(t, h); len(files) != 1 {
		t.Errorf("while installing, the web root holds %v, want the preseed", files)
	}
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("got %v, want the cancellation", err)
	}
	if vms, vdis := tagged(t, c); len(vms) != 0 || vdis != 0 {
		t.Errorf("left %d tagged VMs and %d tagged disks", len(vms), vdis)
	}
	if files := webRootFiles(t, h); len(files) != 0 {
		t.Errorf("left files in the web root: %v", files)
	}
}

// TestInstallTemplateInstallerStopsAtAQuestion: a lab file's preseed that
// xenlab's check lets through (no root password) stops the modelled
// installer at its question, as the real one would, with the VM running;
// the step waits until its context ends and then removes everything.
func TestInstallTemplateInstallerStopsAtAQuestion(t *testing.T) {
	stopped := make(chan string, 1)
	logf := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		if strings.Contains(line, "waits at a question") {
			select {
			case stopped <- line:
			default:
			}
		}
		t.Log(line)
	}
	h, cfg, host := simLabLogf(t, 0, logf)
	p, err := preseedFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DomU.Ubuntu.Preseed = strings.Replace(string(p), "d-i passwd/root-password-crypted password !\n", "", 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := installTemplate(ctx, host, cfg, testTags)
		done <- err
	}()
	var why string
	select {
	case why = <-stopped:
	case err := <-done:
		t.Fatalf("the build ended (%v) although the installer should wait", err)
	}
	if !strings.Contains(why, "root's password") {
		t.Errorf("the installer stopped with %q, want root's password", why)
	}
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "waiting for the Ubuntu installer") {
		t.Fatalf("got %v, want the wait for the installer named", err)
	}
	c, err := host.XAPI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if vms, vdis := tagged(t, c); len(vms) != 0 || vdis != 0 {
		t.Errorf("left %d tagged VMs and %d tagged disks", len(vms), vdis)
	}
	if files := webRootFiles(t, h); len(files) != 0 {
		t.Errorf("left files in the web root: %v", files)
	}
}

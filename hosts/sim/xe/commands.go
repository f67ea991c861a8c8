package xe

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// spec is one xe command (cli_frontend.ml's cmdtable entry).
type spec struct {
	reqd, optn  []string
	help        string
	standard    bool // in xe help's common list
	vmSelectors bool
	run         func(s *state, p *out, cmd command) error
	local       func(p *out, cmd command) // runs without xapi (help)
}

var commands = map[string]*spec{}

func lookupCommand(name string) (*spec, bool) {
	c, ok := commands[name]
	return c, ok
}

func init() {
	for _, cl := range classes {
		cl := cl
		plural := cl.cli + "s"
		all := []string{"params", "database:"}
		var settable, addable, clearable []string
		for _, f := range cl.fields {
			if f.hidden {
				continue
			}
			all = append(all, f.name)
			if f.set != nil {
				settable = append(settable, f.name)
			}
			if f.addMap != nil {
				settable = append(settable, f.name+":")
			}
			if f.addSet != nil || f.addMap != nil {
				addable = append(addable, f.name)
			}
			if f.set != nil || f.getSet != nil || f.getMap != nil {
				clearable = append(clearable, f.name)
			}
		}
		for _, f := range cl.fields {
			if f.getSet != nil && !f.hidden {
				all = append(all, f.name+":contains")
			}
		}
		commands[cl.cli+"-list"] = &spec{optn: all, standard: cl.standardList, run: cl.list,
			help: "Lists all the " + plural + ", filtering on the optional arguments. To filter on map parameters, use the syntax 'map-param:key=value'"}
		commands[cl.cli+"-param-list"] = &spec{reqd: []string{"uuid"}, optn: []string{"database:"}, run: cl.paramList,
			help: "Lists all the parameters of the object specified by the uuid."}
		commands[cl.cli+"-param-get"] = &spec{reqd: []string{"uuid", "param-name"}, optn: []string{"param-key", "database:"}, run: cl.paramGet,
			help: "Gets the parameter specified of the object. If the parameter is a map of key=value pairs, use 'param-key=<key>' to get the value associated with a particular key."}
		if len(settable) > 0 {
			commands[cl.cli+"-param-set"] = &spec{reqd: []string{"uuid"}, optn: settable, run: cl.paramSet,
				help: "Sets the parameter specified. If param-value is not given, the parameter is set to a null value. To set a (key,value) pair in a map parameter, use the syntax 'map-param:key=value'."}
		}
		if len(addable) > 0 {
			commands[cl.cli+"-param-add"] = &spec{reqd: []string{"uuid", "param-name"}, optn: []string{"param-key"}, run: cl.paramAdd,
				help: "Adds to a set or map parameter. If the parameter is a set, use param-key=<key to add>. If the parameter is a map, pass the values to add as 'key=value' pairs."}
			commands[cl.cli+"-param-remove"] = &spec{reqd: []string{"uuid", "param-name", "param-key"}, run: cl.paramRemove,
				help: "Removes a member or a key,value pair from a set/map respectively."}
		}
		if len(clearable) > 0 {
			commands[cl.cli+"-param-clear"] = &spec{reqd: []string{"uuid", "param-name"}, run: cl.paramClear,
				help: "Clears the specified parameter (param-name can be " + strings.Join(clearable, ",") + ")."}
		}
	}
	for name, c := range map[string]*spec{
		"help": {optn: []string{"<command>"}, local: doHelp, standard: true,
			help: "Display help on a command or list the commands."},
		"vm-install": {reqd: []string{"new-name-label"}, optn: []string{"sr-name-label", "sr-uuid", "template", "copy-bios-strings-from"},
			standard: true, run: vmInstall,
			help: "Install a new VM from a template. The template parameter can match either the template name or the uuid."},
		"vm-start": {optn: []string{"force", "on", "paused"}, standard: true, vmSelectors: true, run: vmStart,
			help: "Start the selected VM(s). Where pooling is enabled, the host on which to start can be specified with the 'on' parameter that takes a uuid. The optional parameter '--force' will bypass any hardware-compatibility warnings."},
		"vm-shutdown": {optn: []string{"force"}, standard: true, vmSelectors: true, run: vmShutdown,
			help: "Shutdown the selected VM(s). The optional argument --force will forcibly shut down the VM."},
		"vm-reboot": {optn: []string{"force"}, standard: true, vmSelectors: true, run: vmReboot,
			help: "Reboot the selected VM(s)."},
		"vm-uninstall": {optn: []string{"force"}, standard: true, vmSelectors: true, run: vmUninstall,
			help: "Uninstall a VM. This operation will destroy those VDIs that are marked RW and connected to this VM only. To simply destroy the VM record, use vm-destroy."},
		"template-uninstall": {reqd: []string{"template-uuid"}, optn: []string{"force"}, standard: true, run: templateUninstall,
			help: "Uninstall a custom template. This operation will destroy those VDIs that are marked as 'owned' by this template"},
		"vm-clone": {reqd: []string{"new-name-label"}, optn: []string{"new-name-description"}, standard: true, vmSelectors: true,
			run:  func(s *state, p *out, cmd command) error { return vmCloneOp(s, p, cmd, "VM.clone", true) },
			help: "Clone an existing VM, using storage-level fast disk clone operation where available."},
		"vm-copy": {reqd: []string{"new-name-label"}, optn: []string{"new-name-description", "sr-uuid"}, standard: true, vmSelectors: true,
			run:  vmCopy,
			help: "Copy an existing VM, but without using storage-level fast disk clone operation (even if this is available). The disk images of the copied VM are guaranteed to be 'full images' - i.e. not part of a CoW chain."},
		"vm-snapshot": {reqd: []string{"new-name-label"}, optn: []string{"new-name-description"}, standard: true, vmSelectors: true,
			run:  func(s *state, p *out, cmd command) error { return vmCloneOp(s, p, cmd, "VM.snapshot", false) },
			help: "Snapshot an existing VM, using storage-level fast disk snapshot operation where available."},
		"snapshot-clone": {reqd: []string{"new-name-label"}, optn: []string{"uuid", "new-name-description"}, standard: true, run: snapshotClone,
			help: "Create a new template by cloning an existing snapshot, using storage-level fast disk clone operation where available."},
		"snapshot-uninstall": {optn: []string{"uuid", "snapshot-uuid", "force"}, standard: true, run: snapshotUninstall,
			help: "Uninstall a snapshot. This operation will destroy those VDIs that are marked RW and connected to this snapshot only. To simply destroy the VM record, use snapshot-destroy."},
		"vm-destroy": {reqd: []string{"uuid"}, run: byUUIDCall("VM", "VM.destroy"),
			help: "Destroy a VM. This leaves the storage associated with the VM intact. To delete storage too, use vm-uninstall."},
		"vm-memory-limits-set": {reqd: []string{"static-min", "static-max", "dynamic-min", "dynamic-max"}, vmSelectors: true, run: vmMemoryLimitsSet,
			help: "Configure the memory limits of a VM."},
		"vm-vif-list": {standard: true, vmSelectors: true, run: vmVIFList, help: "List the VIFs present on selected VM."},
		"vif-create": {reqd: []string{"device", "network-uuid", "vm-uuid"}, optn: []string{"mac"}, run: vifCreate,
			help: "Create a VIF. Appropriate values for the device are listed in the parameter 'allowed-VIF-devices' on the VM. If specified, the MAC parameter is of the form aa:bb:cc:dd:ee:ff. If MAC is not specified the server will choose an appropriate MAC automatically."},
		"vif-destroy": {reqd: []string{"uuid"}, run: byUUIDCall("VIF", "VIF.destroy"), help: "Destroy a VIF."},
		"vif-plug":    {reqd: []string{"uuid"}, run: byUUIDCall("VIF", "VIF.plug"), help: "Attempt to attach the VIF while the VM is in the running state."},
		"vif-unplug": {reqd: []string{"uuid"}, optn: []string{"force"}, run: func(s *state, p *out, cmd command) error {
			if cmd.boolParam("force", false) {
				return byUUIDCall("VIF", "VIF.unplug_force")(s, p, cmd)
			}
			return byUUIDCall("VIF", "VIF.unplug")(s, p, cmd)
		}, help: "Attempt to detach the VIF while the VM is in the running state."},
		"vdi-create": {reqd: []string{"sr-uuid", "name-label", "type", "virtual-size"}, optn: []string{"sm-config:", "sharable", "tags:"}, run: vdiCreate,
			help: "Create a VDI. Type is 'system' 'user' 'suspend' or 'crashdump'."},
		"vdi-destroy": {reqd: []string{"uuid"}, run: byUUIDCall("VDI", "VDI.destroy"), help: "Destroy a VDI."},
		"vbd-create": {reqd: []string{"vm-uuid", "device"}, optn: []string{"vdi-uuid", "bootable", "type", "mode", "unpluggable"}, run: vbdCreate,
			help: "Create a VBD. Appropriate values for the device field are listed in the parameter 'allowed-VBD-devices' on the VM. If no VDI is specified, an empty VBD will be created. The type parameter can be 'Disk' or 'CD', and the mode is 'RO' or 'RW'."},
		"vbd-destroy": {reqd: []string{"uuid"}, run: byUUIDCall("VBD", "VBD.destroy"), help: "Destroy a VBD."},
		"vbd-plug":    {reqd: []string{"uuid"}, run: byUUIDCall("VBD", "VBD.plug"), help: "Attempt to attach the VBD while the VM is in the running state."},
		"vbd-unplug":  {reqd: []string{"uuid"}, optn: []string{"timeout", "force"}, run: byUUIDCall("VBD", "VBD.unplug"), help: "Attempt to detach the VBD while the VM is in the running state."},
		"network-create": {reqd: []string{"name-label"}, optn: []string{"name-description", "MTU"}, run: networkCreate,
			help: "Create a new network."},
		"network-destroy": {reqd: []string{"uuid"}, run: byUUIDCall("network", "network.destroy"), help: "Delete an existing network."},
		"network-attach":  {reqd: []string{"uuid", "host-uuid"}, run: networkAttach, help: "Make a network appear on a particular host."},
		"host-call-plugin": {reqd: []string{"host-uuid", "plugin", "fn"}, optn: []string{"args:"}, run: hostCallPlugin,
			help: "Calls the function within the plugin on the given host with optional arguments."},
	} {
		commands[name] = c
	}
}

// byUUIDCall is a command that looks its object up by uuid= and calls
// one method on it.
func byUUIDCall(class, method string) func(*state, *out, command) error {
	return func(s *state, p *out, cmd command) error {
		o, err := s.byUUID(class, cmd.get("uuid"))
		if err != nil {
			return err
		}
		_, err = s.c.call(method, o.ref)
		return err
	}
}

var vmClass = func() *class {
	for _, c := range classes {
		if c.cli == "vm" {
			return c
		}
	}
	panic("no vm class")
}()

// selectVMs is cli_operations.ml's select_vms: vm=<uuid> first, else
// vm=<name> as name-label, and every other parameter a filter on the
// VM's fields; templates and the control domain only when asked.
func selectVMs(s *state, cmd command, includeControl, includeTemplates bool, own ...string) ([]obj, error) {
	var filters [][2]string
	if !includeControl {
		filters = append(filters, [2]string{"is-control-domain", "false"})
	}
	if !includeTemplates {
		filters = append(filters, [2]string{"is-a-template", "false"})
	}
	if cmd.has("vm") {
		if o, err := s.byUUID("VM", cmd.get("vm")); err == nil {
			return []obj{o}, nil
		}
	}
	for _, p := range filterParams(cmd, own...) {
		if p[0] == "vm" {
			p[0] = "name-label"
		}
		filters = append(filters, p)
	}
	return s.selectObjects(vmClass, filters)
}

// doVMOp is do_vm_op: the operation on the one selected VM, or on each
// with --multiple.
func doVMOp(s *state, cmd command, includeControl, includeTemplates, multiple bool, op func(obj) error, own ...string) error {
	vms, err := selectVMs(s, cmd, includeControl, includeTemplates, own...)
	if err != nil {
		var cf cliFailure
		if mp, ok := err.(missingParam); ok {
			return cliFailure("Parameter '" + string(mp) + "' is not a field of the VM class. Failed to select VM for operation.")
		}
		_ = cf
		return err
	}
	switch {
	case len(vms) == 0:
		return cliFailure("No matching VMs found")
	case len(vms) == 1:
		return op(vms[0])
	case !multiple:
		return cliFailure("Multiple matches VMs found. Operation can only be performed on one VM at a time")
	case !cmd.boolParam("multiple", false):
		return cliFailure("Multiple matches VMs found. --multiple required to complete the operation")
	}
	var fails []string
	for _, vm := range vms {
		if err := op(vm); err != nil {
			fails = append(fails, fmt.Sprintf("operation failed on %s: %s", str(vm.rec["uuid"]), err))
		}
	}
	if len(fails) > 0 {
		return multipleFailure(fails)
	}
	return nil
}

// multipleFailure is printed on stdout, one line per VM, exit 1.
type multipleFailure []string

func (m multipleFailure) Error() string { return strings.Join(m, "\n") }

// async runs an Async call and waits for its task (cli_operations.ml
// waiter), then destroys the task; a failed task is its error.
func (s *state) async(method string, params ...any) (string, error) {
	v, err := s.c.call("Async."+method, params...)
	if err != nil {
		return "", err
	}
	task := str(v)
	defer func() { _, _ = s.c.call("task.destroy", task) }()
	token := ""
	for deadline := time.Now().Add(24 * time.Hour); time.Now().Before(deadline); {
		rec, err := s.c.call("task.get_record", task)
		if err != nil {
			return "", err
		}
		r, _ := rec.(map[string]any)
		switch str(r["status"]) {
		case "success":
			res := str(r["result"])
			res = strings.TrimSuffix(strings.TrimPrefix(res, "<value>"), "</value>")
			return res, nil
		case "failure", "cancelled":
			info := strList(r["error_info"])
			if len(info) == 0 {
				return "", &apiError{code: "INTERNAL_ERROR", params: []string{"task failed"}}
			}
			return "", &apiError{code: info[0], params: info[1:]}
		}
		ev, err := s.c.call("event.from", []string{"task/" + task}, token, 30.0)
		if err != nil {
			return "", err
		}
		if m, ok := ev.(map[string]any); ok {
			token = str(m["token"])
		}
	}
	return "", cliFailure("task did not complete")
}

func vmStart(s *state, p *out, cmd command) error {
	host := ""
	if cmd.has("on") { // get_host_by_name_or_id: a uuid, else a name label
		h, err := s.hostByNameOrID(cmd.get("on"))
		if err != nil {
			return err
		}
		host = h
	}
	return doVMOp(s, cmd, false, false, true, func(vm obj) error {
		var err error
		if host != "" {
			_, err = s.async("VM.start_on", vm.ref, host, cmd.boolParam("paused", false), cmd.boolParam("force", false))
		} else {
			_, err = s.async("VM.start", vm.ref, cmd.boolParam("paused", false), cmd.boolParam("force", false))
		}
		return err
	}, "on", "paused", "progress")
}

// hostByNameOrID is cli_operations.ml's get_host_by_name_or_id.
func (s *state) hostByNameOrID(name string) (string, error) {
	for _, h := range s.objects("host") {
		if str(h.rec["uuid"]) == name || str(h.rec["name_label"]) == name {
			return h.ref, nil
		}
	}
	return "", cliFailure("Host " + name + " not found")
}

func vmShutdown(s *state, p *out, cmd command) error {
	method := "VM.clean_shutdown"
	if cmd.boolParam("force", false) {
		method = "VM.hard_shutdown"
	}
	return doVMOp(s, cmd, false, false, true, func(vm obj) error {
		_, err := s.async(method, vm.ref)
		return err
	}, "progress")
}

func vmReboot(s *state, p *out, cmd command) error {
	method := "VM.clean_reboot"
	if cmd.boolParam("force", false) {
		method = "VM.hard_reboot"
	}
	return doVMOp(s, cmd, false, false, true, func(vm obj) error {
		_, err := s.c.call(method, vm.ref)
		return err
	})
}

func vmCloneOp(s *state, p *out, cmd command, method string, templates bool) error {
	var made []string
	err := doVMOp(s, cmd, false, templates, false, func(vm obj) error {
		v, err := s.c.call(method, vm.ref, cmd.get("new-name-label"))
		if err != nil {
			return err
		}
		made = append(made, str(v))
		return nil
	}, "new-name-label", "new-name-description")
	if err != nil {
		return err
	}
	return s.printNewVMs(p, cmd, made)
}

func (s *state) printNewVMs(p *out, cmd command, refs []string) error {
	var uuids []string
	for _, r := range refs {
		if cmd.has("new-name-description") {
			if _, err := s.c.call("VM.set_name_description", r, cmd.get("new-name-description")); err != nil {
				return err
			}
		}
		u, err := s.c.call("VM.get_uuid", r)
		if err != nil {
			return err
		}
		uuids = append(uuids, str(u))
	}
	p.list(uuids...)
	return nil
}

func vmCopy(s *state, p *out, cmd command) error {
	sr := "OpaqueRef:NULL"
	if cmd.has("sr-uuid") {
		o, err := s.byUUID("SR", cmd.get("sr-uuid"))
		if err != nil {
			return err
		}
		sr = o.ref
	}
	var made []string
	err := doVMOp(s, cmd, false, true, false, func(vm obj) error {
		v, err := s.c.call("VM.copy", vm.ref, cmd.get("new-name-label"), sr)
		if err != nil {
			return err
		}
		made = append(made, str(v))
		return nil
	}, "new-name-label", "sr-uuid", "new-name-description")
	if err != nil {
		return err
	}
	return s.printNewVMs(p, cmd, made)
}

// snapshot is the VM a snapshot-* command names by snapshot-uuid= or uuid=.
func snapshot(s *state, cmd command) (obj, error) {
	var u string
	switch {
	case cmd.has("snapshot-uuid"):
		u = cmd.get("snapshot-uuid")
	case cmd.has("uuid"):
		u = cmd.get("uuid")
	default:
		return obj{}, cliFailure("Required parameter not found: snapshot-uuid or uuid.")
	}
	return s.byUUID("VM", u)
}

func snapshotClone(s *state, p *out, cmd command) error {
	o, err := snapshot(s, cmd)
	if err != nil {
		return err
	}
	v, err := s.c.call("VM.clone", o.ref, cmd.get("new-name-label"))
	if err != nil {
		return err
	}
	return s.printNewVMs(p, cmd, []string{str(v)})
}

// vmInstall is vm-install: a template found by uuid or name, cloned (or
// copied to sr-uuid / sr-name-label), described "Installed via xe CLI",
// provisioned; its uuid printed. A failure destroys the new VM.
func vmInstall(s *state, p *out, cmd command) error {
	var tmpl obj
	switch {
	case cmd.has("template-uuid"):
		o, err := s.byUUID("VM", cmd.get("template-uuid"))
		if err != nil {
			return cliFailure("Cannot find template")
		}
		tmpl = o
	case cmd.has("template-name-label") || cmd.has("template-name") || cmd.has("template"):
		name := cmd.get("template")
		if cmd.has("template-name-label") {
			name = cmd.get("template-name-label")
		} else if cmd.has("template-name") {
			name = cmd.get("template-name")
		} else if o, err := s.byUUID("VM", name); err == nil {
			tmpl = o
			break
		}
		ts, err := s.selectObjects(vmClass, [][2]string{{"name-label", name}, {"is-a-template", "true"}, {"is-control-domain", "false"}})
		if err != nil {
			return err
		}
		switch len(ts) {
		case 0:
			return cliFailure("No templates matched")
		case 1:
			tmpl = ts[0]
		default:
			return cliFailure("More than one matching template found")
		}
	default:
		return cliFailure("Template must be specified by parameter 'template-uuid', 'template-name', 'template-name-label' or 'template'")
	}
	if !boolOf(tmpl.rec["is_a_template"]) {
		return cliFailure("Can only install from templates")
	}
	sr := ""
	if cmd.has("sr-uuid") {
		o, err := s.byUUID("SR", cmd.get("sr-uuid"))
		if err != nil {
			return err
		}
		sr = o.ref
	}
	if cmd.has("sr-name-label") {
		v, err := s.c.call("SR.get_by_name_label", cmd.get("sr-name-label"))
		if err != nil {
			return err
		}
		srs := strList(v)
		switch {
		case len(srs) == 0:
			return cliFailure("No SR with that name-label found")
		case sr != "" && !slices.Contains(srs, sr):
			return cliFailure("SR specified via sr-uuid doesn't have the name specified via sr-name-label")
		case sr == "" && len(srs) > 1:
			return cliFailure("Multiple SRs with that name-label found")
		case sr == "":
			sr = srs[0]
		}
	}
	var v any
	var err error
	if sr != "" {
		v, err = s.c.call("VM.copy", tmpl.ref, cmd.get("new-name-label"), sr)
	} else {
		v, err = s.c.call("VM.clone", tmpl.ref, cmd.get("new-name-label"))
	}
	if err != nil {
		return err
	}
	vm := str(v)
	fail := func(err error) error {
		_, _ = s.c.call("VM.destroy", vm)
		return err
	}
	if _, err := s.c.call("VM.set_name_description", vm, "Installed via xe CLI"); err != nil {
		return fail(err)
	}
	if _, err := s.c.call("VM.provision", vm); err != nil {
		return fail(err)
	}
	u, err := s.c.call("VM.get_uuid", vm)
	if err != nil {
		return fail(err)
	}
	p.list(str(u))
	return nil
}

// uninstall is vm_uninstall_common: it lists the VM and the disks it owns
// (VBDs with other_config:owner) and, with force=true, hard-shuts it down
// if needed and destroys them; without force it asks on the terminal.
func uninstall(s *state, p *out, cmd command, vms []obj) error {
	type victim struct {
		vm   obj
		vdis []string
	}
	var vs []victim
	var lines []string
	for _, vm := range vms {
		lines = append(lines, fmt.Sprintf("VM : %s (%s)", str(vm.rec["uuid"]), str(vm.rec["name_label"])))
		var vdis []string
		for _, vbd := range strList(vm.rec["VBDs"]) {
			b, ok := s.lookup("VBD", vbd)
			if !ok {
				continue
			}
			if _, owned := b["other_config"].(map[string]any)["owner"]; !owned {
				continue
			}
			d, ok := s.lookup("VDI", str(b["VDI"]))
			if !ok {
				continue
			}
			vdis = append(vdis, str(b["VDI"]))
			shared := ""
			if len(strList(d["VBDs"])) > 1 {
				shared = " ** WARNING: disk is shared by other VMs"
			}
			lines = append(lines, fmt.Sprintf("VDI: %s (%s) %s", str(d["uuid"]), str(d["name_label"]), shared))
		}
		if d, ok := s.lookup("VDI", str(vm.rec["suspend_VDI"])); ok {
			vdis = append(vdis, str(vm.rec["suspend_VDI"]))
			lines = append(lines, fmt.Sprintf("VDI: %s (%s) ", str(d["uuid"]), str(d["name_label"])))
		}
		vs = append(vs, victim{vm, vdis})
	}
	fmt.Fprintln(p.w, "The following items are about to be destroyed")
	for _, l := range lines {
		fmt.Fprintln(p.w, l)
	}
	if !cmd.boolParam("force", false) {
		fmt.Fprintln(p.w, "Type 'yes' to continue")
		var answer string
		_, _ = fmt.Fscanln(stdin, &answer)
		if strings.ToLower(strings.TrimSpace(answer)) != "yes" {
			fmt.Fprintf(p.w, "Aborted (you typed: '%s')\n", answer)
			return nil
		}
	}
	for _, v := range vs {
		if str(v.vm.rec["power_state"]) != "Halted" {
			if _, err := s.c.call("VM.hard_shutdown", v.vm.ref); err != nil {
				return err
			}
		}
		if _, err := s.c.call("VM.destroy", v.vm.ref); err != nil {
			return err
		}
		for _, d := range v.vdis {
			if _, err := s.c.call("VDI.destroy", d); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(p.w, "All objects destroyed")
	return nil
}

// stdin is where xe reads the answer to "Type 'yes' to continue".
var stdin io.Reader = strings.NewReader("")

func vmUninstall(s *state, p *out, cmd command) error {
	var vms []obj
	err := doVMOp(s, cmd, false, false, true, func(vm obj) error {
		vms = append(vms, vm)
		return nil
	})
	if err != nil {
		return err
	}
	var snaps []obj
	for _, vm := range vms {
		for _, r := range strList(vm.rec["snapshots"]) {
			if rec, ok := s.lookup("VM", r); ok {
				snaps = append(snaps, obj{class: "VM", ref: r, rec: rec})
			}
		}
	}
	return uninstall(s, p, cmd, append(vms, snaps...))
}

func templateUninstall(s *state, p *out, cmd command) error {
	o, err := s.byUUID("VM", cmd.get("template-uuid"))
	if err != nil {
		return err
	}
	return uninstall(s, p, cmd, []obj{o})
}

func snapshotUninstall(s *state, p *out, cmd command) error {
	o, err := snapshot(s, cmd)
	if err != nil {
		return err
	}
	return uninstall(s, p, cmd, []obj{o})
}

func vmMemoryLimitsSet(s *state, p *out, cmd command) error {
	var v [4]int64
	for i, k := range []string{"static-min", "static-max", "dynamic-min", "dynamic-max"} {
		n, err := bytesOf(k, cmd.get(k))
		if err != nil {
			return err
		}
		v[i] = n
	}
	return doVMOp(s, cmd, true, true, true, func(vm obj) error {
		_, err := s.c.call("VM.set_memory_limits", vm.ref, v[0], v[1], v[2], v[3])
		return err
	}, "static-min", "static-max", "dynamic-min", "dynamic-max")
}

func vmVIFList(s *state, p *out, cmd command) error {
	vifClass := commandsClass("vif")
	multi := command{name: cmd.name, params: append([][2]string{{"multiple", "true"}}, cmd.params...)}
	var recs [][][2]string
	err := doVMOp(s, multi, false, false, true, func(vm obj) error {
		for _, r := range strList(vm.rec["VIFs"]) {
			rec, ok := s.lookup("VIF", r)
			if !ok {
				continue
			}
			o := obj{class: "VIF", ref: r, rec: rec}
			var row [][2]string
			for _, f := range vifClass.columns(cmd, []string{"uuid", "device", "MAC", "network-uuid", "network-name-label", "vm-name-label"}) {
				row = append(row, printField(s, f, o, false))
			}
			recs = append(recs, row)
		}
		return nil
	}, "params")
	if err != nil {
		return err
	}
	p.table(recs)
	return nil
}

func commandsClass(cli string) *class {
	for _, c := range classes {
		if c.cli == cli {
			return c
		}
	}
	return nil
}

func vifCreate(s *state, p *out, cmd command) error {
	vm, err := s.byUUID("VM", cmd.get("vm-uuid"))
	if err != nil {
		return err
	}
	net, err := s.byUUID("network", cmd.get("network-uuid"))
	if err != nil {
		return err
	}
	mac := cmd.get("mac")
	if mac == "random" {
		mac = randomMAC()
	}
	return create(s, p, "VIF", map[string]any{
		"device": cmd.get("device"), "network": net.ref, "VM": vm.ref, "MAC": mac, "MTU": str(net.rec["MTU"]),
		"other_config": map[string]any{}, "qos_algorithm_type": "", "qos_algorithm_params": map[string]any{},
		"locking_mode": "network_default", "ipv4_allowed": []any{}, "ipv6_allowed": []any{},
	})
}

// create makes an object of class with the record's fields (class.create)
// and prints its uuid, as the *-create commands do.
func create(s *state, p *out, class string, rec map[string]any) error {
	v, err := s.c.call(class+".create", rec)
	if err != nil {
		return err
	}
	u, err := s.c.call(class+".get_uuid", str(v))
	if err != nil {
		return err
	}
	p.list(str(u))
	return nil
}

// mapParams are the k=v of name:k=v parameters (read_map_params).
func mapParams(cmd command, name string) map[string]any {
	out := map[string]any{}
	for _, kv := range cmd.params {
		if k, ok := strings.CutPrefix(kv[0], name+":"); ok && k != "" {
			out[k] = kv[1]
		}
	}
	return out
}

func vdiCreate(s *state, p *out, cmd command) error {
	sr, err := s.byUUID("SR", cmd.get("sr-uuid"))
	if err != nil {
		return err
	}
	size, err := bytesOf("virtual-size", cmd.get("virtual-size"))
	if err != nil {
		return err
	}
	typ := strings.ToLower(cmd.get("type"))
	if !slices.Contains([]string{"system", "user", "ephemeral", "suspend", "crashdump", "ha_statefile", "metadata", "redo_log"}, typ) {
		return cliFailure("Unknown vdi type: " + cmd.get("type"))
	}
	tags := slices.Sorted(maps.Keys(mapParams(cmd, "tags")))
	return create(s, p, "VDI", map[string]any{
		"name_label": cmd.get("name-label"), "name_description": "", "SR": sr.ref, "virtual_size": size,
		"type": typ, "sharable": cmd.boolParam("sharable", false), "read_only": false,
		"xenstore_data": map[string]any{}, "other_config": map[string]any{}, "sm_config": mapParams(cmd, "sm-config"),
		"tags": tags,
	})
}

func vbdCreate(s *state, p *out, cmd command) error {
	vm, err := s.byUUID("VM", cmd.get("vm-uuid"))
	if err != nil {
		return err
	}
	vdi, empty := "OpaqueRef:NULL", !cmd.has("vdi-uuid")
	if !empty {
		o, err := s.byUUID("VDI", cmd.get("vdi-uuid"))
		if err != nil {
			return err
		}
		vdi = o.ref
	}
	mode := "RW"
	if cmd.has("mode") {
		switch strings.ToLower(cmd.get("mode")) {
		case "ro":
			mode = "RO"
		case "rw":
		default:
			return cliFailure(fmt.Sprintf("Unknown mode: %s (should be \"ro\" or \"rw\"", strings.ToLower(cmd.get("mode"))))
		}
	}
	typ := "Disk"
	if cmd.has("type") {
		switch strings.ToLower(cmd.get("type")) {
		case "cd":
			typ = "CD"
		case "disk":
		default:
			return cliFailure(fmt.Sprintf("Unknown type: %s (should be \"cd\" or \"disk\"", strings.ToLower(cmd.get("type"))))
		}
	}
	if typ == "Disk" && empty {
		return cliFailure("Empty VBDs can only be made for type=CD")
	}
	return create(s, p, "VBD", map[string]any{
		"VM": vm.ref, "VDI": vdi, "userdevice": cmd.get("device"), "bootable": cmd.boolParam("bootable", false),
		"mode": mode, "type": typ, "unpluggable": cmd.boolParam("unpluggable", true), "empty": empty,
		"qos_algorithm_type": "", "qos_algorithm_params": map[string]any{}, "other_config": map[string]any{},
	})
}

func networkCreate(s *state, p *out, cmd command) error {
	mtu := "1500"
	if cmd.has("MTU") {
		mtu = cmd.get("MTU")
	}
	return create(s, p, "network", map[string]any{
		"name_label": cmd.get("name-label"), "name_description": cmd.get("name-description"), "MTU": mtu,
		"other_config": map[string]any{}, "tags": []any{},
	})
}

func networkAttach(s *state, p *out, cmd command) error {
	net, err := s.byUUID("network", cmd.get("uuid"))
	if err != nil {
		return err
	}
	host, err := s.byUUID("host", cmd.get("host-uuid"))
	if err != nil {
		return err
	}
	_, err = s.c.call("network.attach", net.ref, host.ref)
	return err
}

func hostCallPlugin(s *state, p *out, cmd command) error {
	host, err := s.byUUID("host", cmd.get("host-uuid"))
	if err != nil {
		return err
	}
	v, err := s.c.call("host.call_plugin", host.ref, cmd.get("plugin"), cmd.get("fn"), mapParams(cmd, "args"))
	if err != nil {
		return err
	}
	p.list(str(v))
	return nil
}

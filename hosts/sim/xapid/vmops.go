package xapid

import (
	"slices"
	"strings"
)

// allStates are the VM power states.
var allStates = []string{"Halted", "Paused", "Suspended", "Running"}

// opStates is xapi_vm_lifecycle's allowed_power_states.
func opStates(vm *object, op string) []string {
	switch op {
	case "changing_memory_limits", "changing_shadow_memory", "changing_static_range", "changing_VCPUs",
		"make_into_template", "provision", "start", "start_on":
		return []string{"Halted"}
	case "unpause":
		return []string{"Paused"}
	case "resume", "resume_on":
		return []string{"Suspended"}
	case "clean_reboot", "clean_shutdown", "changing_memory_live", "changing_VCPUs_live", "migrate_send",
		"pause", "pool_migrate", "suspend", "snapshot_with_quiesce":
		return []string{"Running"}
	case "changing_dynamic_range":
		return []string{"Halted", "Running"}
	case "clone", "copy":
		if vm.fields["is_a_snapshot"] == true {
			return []string{"Halted", "Suspended"}
		}
		return []string{"Halted"}
	case "destroy", "export":
		return []string{"Halted", "Suspended"}
	case "hard_reboot":
		return []string{"Paused", "Running"}
	case "checkpoint", "hard_shutdown":
		return []string{"Paused", "Suspended", "Running"}
	}
	return allStates // snapshot, revert, metadata_export...
}

// concurrentOK is xapi's is_allowed_concurrently.
func concurrentOK(op string, current map[string]string) bool {
	for _, set := range [][]string{{"clone", "copy", "export"}, {"snapshot", "checkpoint"}} {
		if !slices.Contains(set, op) {
			continue
		}
		ok := true
		for _, o := range current {
			ok = ok && slices.Contains(set, o)
		}
		if ok {
			return true
		}
	}
	return false
}

var templateOps = []string{"changing_dynamic_range", "changing_static_range", "changing_memory_limits",
	"changing_shadow_memory", "changing_VCPUs", "clone", "copy", "export", "metadata_export", "provision"}

var snapshotOps = []string{"revert", "clone", "copy", "export", "destroy", "hard_shutdown", "metadata_export"}

// vmOpError is xapi_vm_lifecycle.check_operation_error, in its order:
// blocked_operations, power state, concurrent operation, template,
// snapshot, provision/revert targets, control domain.
func vmOpError(vm *object, op string) *APIError {
	ref := vm.ref
	if reason, ok := vm.fields["blocked_operations"].(map[string]string)[op]; ok {
		return apiErr(ErrOperationBlocked, ref, reason)
	}
	ps := vm.fields["power_state"].(string)
	if states := opStates(vm, op); !slices.Contains(states, ps) {
		low := make([]string, len(states))
		for i, s := range states {
			low[i] = strings.ToLower(s)
		}
		return apiErr(ErrVMBadPowerState, ref, strings.Join(low, ", "), strings.ToLower(ps))
	}
	if cur := vm.fields["current_operations"].(map[string]string); len(cur) > 0 && !concurrentOK(op, cur) {
		var ops []string
		for _, o := range cur {
			ops = append(ops, o)
		}
		slices.Sort(ops)
		s := ops[0]
		if len(ops) > 1 {
			s = "{" + strings.Join(ops, ",") + "}"
		}
		// xen-api ocaml/xapi/xapi_vm_lifecycle.ml
		// report_concurrent_operations_error (XS62 line 195, v1.249.0
		// line 236): ["VM.<op>", ref], several ops as "VM.{a,b}".
		return apiErr(ErrOtherOperationInProgress, "VM."+s, ref)
	}
	isTemplate, isSnapshot := vm.fields["is_a_template"] == true, vm.fields["is_a_snapshot"] == true
	if isTemplate && !isSnapshot {
		deflt := vm.fields["other_config"].(map[string]string)["default_template"] == "true"
		if !slices.Contains(templateOps, op) && !(op == "destroy" && !deflt) {
			return apiErr(ErrVMIsTemplate, ref, op)
		}
	}
	if isSnapshot && !slices.Contains(snapshotOps, op) {
		return apiErr(ErrVMIsSnapshot, ref, op)
	}
	if op == "provision" && !isTemplate {
		return apiErr(ErrOnlyProvisionTemplate)
	}
	if op == "revert" && !isSnapshot {
		return apiErr(ErrOnlyRevertSnapshot)
	}
	if vm.fields["is_control_domain"] == true && op != "start" && op != "changing_dynamic_range" && op != "metadata_export" {
		return apiErr(ErrOperationNotAllowed, "Operations on domain 0 are not allowed")
	}
	return nil
}

// listedOps are the operations xapi evaluates for allowed_operations.
var listedOps = []string{"snapshot", "copy", "clone", "revert", "checkpoint", "start", "start_on", "pause",
	"unpause", "clean_shutdown", "clean_reboot", "hard_shutdown", "hard_reboot", "suspend", "resume",
	"resume_on", "export", "destroy", "provision", "changing_VCPUs_live", "pool_migrate", "migrate_send",
	"make_into_template", "changing_static_range", "changing_shadow_memory", "changing_dynamic_range"}

func init() {
	computed["VM"] = func(d *db, o *object, r map[string]any) {
		ops := []string{}
		for _, op := range listedOps {
			if vmOpError(o, op) == nil {
				ops = append(ops, op)
			}
		}
		r["allowed_operations"] = ops
	}
	computed["VIF"] = func(d *db, o *object, r map[string]any) {
		ops := []string{"attach"}
		if vm, ok := d.objs[o.fields["VM"].(string)]; ok && vm.fields["power_state"] == "Running" &&
			len(o.fields["current_operations"].(map[string]string)) == 0 {
			if o.fields["currently_attached"] == true {
				ops = append(ops, "unplug")
			} else {
				ops = append(ops, "plug")
			}
		}
		r["allowed_operations"] = ops
	}
}

// checkVMOp aborts the call with the operation's error, if any.
func checkVMOp(vm *object, op string) {
	if err := vmOpError(vm, op); err != nil {
		panic(err)
	}
}

// opKey names an operation in current_operations: the task, or a fresh ref.
func (c *call) opKey() string {
	if c.task != "" {
		return c.task
	}
	return newRef()
}

// markOp records an operation in progress on an object; the caller holds
// the db lock.
func (s *Server) markOp(o *object, key, op string) {
	cur := cloneMap(o.fields["current_operations"].(map[string]string))
	cur[key] = op
	s.db.set(o, map[string]any{"current_operations": cur})
}

// clearOp removes an operation from current_operations; the caller holds
// the db lock. The object may be gone.
func (s *Server) clearOp(ref, key string) {
	o, ok := s.db.objs[ref]
	if !ok {
		return
	}
	cur := cloneMap(o.fields["current_operations"].(map[string]string))
	delete(cur, key)
	s.db.set(o, map[string]any{"current_operations": cur})
}

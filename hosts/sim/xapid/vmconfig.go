package xapid

import (
	"strconv"
)

const memoryRule = "Memory limits must satisfy: static_min <= dynamic_min <= dynamic_max <= static_max"

func init() {
	// Memory setters, each with the operation xapi checks for it.
	type memSetter struct {
		op     string
		fields []string
	}
	for name, ms := range map[string]memSetter{
		"set_memory_limits":        {"changing_memory_limits", []string{"memory_static_min", "memory_static_max", "memory_dynamic_min", "memory_dynamic_max"}},
		"set_memory_static_max":    {"changing_static_range", []string{"memory_static_max"}},
		"set_memory_static_min":    {"changing_static_range", []string{"memory_static_min"}},
		"set_memory_static_range":  {"changing_static_range", []string{"memory_static_min", "memory_static_max"}},
		"set_memory_dynamic_max":   {"changing_dynamic_range", []string{"memory_dynamic_max"}},
		"set_memory_dynamic_min":   {"changing_dynamic_range", []string{"memory_dynamic_min"}},
		"set_memory_dynamic_range": {"changing_dynamic_range", []string{"memory_dynamic_min", "memory_dynamic_max"}},
	} {
		register("VM."+name, handler{arity: 2 + len(ms.fields), fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			vm := c.obj("VM", a.str(0, "self"))
			checkVMOp(vm, ms.op)
			kv := map[string]any{}
			for i, f := range ms.fields {
				kv[f] = a.int(i+1, f)
			}
			v := func(f string) int64 {
				if x, ok := kv[f]; ok {
					return x.(int64)
				}
				return vm.fields[f].(int64)
			}
			if !(v("memory_static_min") <= v("memory_dynamic_min") && v("memory_dynamic_min") <= v("memory_dynamic_max") &&
				v("memory_dynamic_max") <= v("memory_static_max")) {
				fail(ErrMemoryConstraintViolation, memoryRule)
			}
			c.s.db.set(vm, kv)
			return ""
		}})
	}
	register("VM.set_VCPUs_max", handler{arity: 3, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		vm := c.obj("VM", a.str(0, "self"))
		n := a.int(1, "value")
		checkVMOp(vm, "changing_VCPUs")
		if n < 1 || n < vm.fields["VCPUs_at_startup"].(int64) {
			fail(ErrInvalidValue, "VCPU values must satisfy: 0 < VCPUs_at_startup <= VCPUs_max", strconv.FormatInt(n, 10))
		}
		c.s.db.set(vm, map[string]any{"VCPUs_max": n})
		return ""
	}})
	register("VM.set_VCPUs_at_startup", handler{arity: 3, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		vm := c.obj("VM", a.str(0, "self"))
		n := a.int(1, "value")
		checkVMOp(vm, "changing_VCPUs")
		if n < 1 || n > vm.fields["VCPUs_max"].(int64) {
			fail(ErrInvalidValue, "VCPU values must satisfy: 0 < VCPUs_at_startup <= VCPUs_max", strconv.FormatInt(n, 10))
		}
		c.s.db.set(vm, map[string]any{"VCPUs_at_startup": n})
		return ""
	}})
	register("VM.set_is_a_template", handler{arity: 3, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		vm := c.obj("VM", a.str(0, "self"))
		v := a.bool(1, "value")
		if v && vm.fields["is_a_template"] != true {
			checkVMOp(vm, "make_into_template")
		}
		kv := map[string]any{"is_a_template": v}
		if !v {
			kv["is_a_snapshot"] = false
		}
		c.s.db.set(vm, kv)
		return ""
	}})
}

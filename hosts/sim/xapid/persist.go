package xapid

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The state file is a JSON snapshot of the database. A restart of the
// simulator is a reboot of the host: running VMs come back halted, their
// VIFs detached, sessions and tasks gone.

type stateFile struct {
	Version int           `json:"version"`
	HostRef string        `json:"host_ref"`
	BridgeN int           `json:"bridge_counter"`
	NextDom int64         `json:"next_domid"`
	Objects []stateObject `json:"objects"`
}

type stateObject struct {
	Class  string                `json:"class"`
	Ref    string                `json:"ref"`
	Fields map[string]stateValue `json:"fields"`
}

// stateValue keeps a field's Go type through JSON: exactly one is set.
type stateValue struct {
	S *string           `json:"s,omitempty"`
	I *int64            `json:"i,omitempty"`
	B *bool             `json:"b,omitempty"`
	F *float64          `json:"f,omitempty"`
	T *time.Time        `json:"t,omitempty"`
	L []string          `json:"l,omitempty"`
	M map[string]string `json:"m,omitempty"`
	// EmptyL and EmptyM mark empty sets and maps (omitempty drops them).
	EmptyL bool `json:"el,omitempty"`
	EmptyM bool `json:"em,omitempty"`
}

func toState(v any) (stateValue, error) {
	switch x := v.(type) {
	case string:
		return stateValue{S: &x}, nil
	case int64:
		return stateValue{I: &x}, nil
	case bool:
		return stateValue{B: &x}, nil
	case float64:
		return stateValue{F: &x}, nil
	case time.Time:
		return stateValue{T: &x}, nil
	case []string:
		return stateValue{L: x, EmptyL: len(x) == 0}, nil
	case map[string]string:
		return stateValue{M: x, EmptyM: len(x) == 0}, nil
	}
	return stateValue{}, fmt.Errorf("unsupported field type %T", v)
}

func (v stateValue) value() (any, error) {
	switch {
	case v.S != nil:
		return *v.S, nil
	case v.I != nil:
		return *v.I, nil
	case v.B != nil:
		return *v.B, nil
	case v.F != nil:
		return *v.F, nil
	case v.T != nil:
		return *v.T, nil
	case v.L != nil || v.EmptyL:
		if v.L == nil {
			return []string{}, nil
		}
		return v.L, nil
	case v.M != nil || v.EmptyM:
		if v.M == nil {
			return map[string]string{}, nil
		}
		return v.M, nil
	}
	return nil, errors.New("empty value")
}

// volatile classes are not persisted (a restart is a host reboot).
var volatile = map[string]bool{"session": true, "task": true, "VM_guest_metrics": true, "VM_metrics": true}

// save writes the state file atomically, if one is configured.
func (s *Server) save() error {
	if s.opts.StateFile == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.db.mu.Lock()
	st := stateFile{Version: 1, HostRef: s.hostR, BridgeN: s.rt.bridgeN, NextDom: s.rt.nextDom}
	var err error
	for _, o := range s.db.allObjects() {
		if volatile[o.class] {
			continue
		}
		so := stateObject{Class: o.class, Ref: o.ref, Fields: map[string]stateValue{}}
		for k, v := range o.fields {
			sv, e := toState(v)
			if e != nil && err == nil {
				err = fmt.Errorf("%s %s field %s: %w", o.class, o.ref, k, e)
			}
			so.Fields[k] = sv
		}
		st.Objects = append(st.Objects, so)
	}
	s.db.dirty = false
	s.db.mu.Unlock()
	if err != nil {
		return fmt.Errorf("saving simulator state: %w", err)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("saving simulator state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.opts.StateFile), ".xapid-state-*")
	if err != nil {
		return fmt.Errorf("saving simulator state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("saving simulator state to %s: %w", s.opts.StateFile, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving simulator state to %s: %w", s.opts.StateFile, err)
	}
	if err := os.Rename(tmp.Name(), s.opts.StateFile); err != nil {
		return fmt.Errorf("saving simulator state: %w", err)
	}
	s.saves.Add(1)
	return nil
}

// load reads the state file if configured and present. Running VMs come
// back halted (the host rebooted).
func (s *Server) load() (bool, error) {
	if s.opts.StateFile == "" {
		return false, nil
	}
	data, err := os.ReadFile(s.opts.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("loading simulator state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return false, fmt.Errorf("loading simulator state %s: %w", s.opts.StateFile, err)
	}
	d := s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, so := range st.Objects {
		if _, ok := classes[so.Class]; !ok {
			return false, fmt.Errorf("loading simulator state %s: unknown class %q", s.opts.StateFile, so.Class)
		}
		fields := map[string]any{}
		for k, sv := range so.Fields {
			v, err := sv.value()
			if err != nil {
				return false, fmt.Errorf("loading simulator state %s: %s %s field %s: %w", s.opts.StateFile, so.Class, so.Ref, k, err)
			}
			fields[k] = v
		}
		d.seq++
		d.objs[so.Ref] = &object{class: so.Class, ref: so.Ref, seq: d.seq, fields: fields}
	}
	d.reindex() // d.all below reads the index
	if _, err := d.get("host", st.HostRef); err != nil {
		return false, fmt.Errorf("loading simulator state %s: no host record %s", s.opts.StateFile, st.HostRef)
	}
	s.hostR, s.rt.bridgeN, s.rt.nextDom = st.HostRef, st.BridgeN, st.NextDom
	if h, err := d.get("host", st.HostRef); err == nil {
		s.applyRelease(h, s.opts.Seed)
	}
	for _, o := range d.all("VM") {
		if o.fields["is_control_domain"] == true {
			continue
		}
		o.fields["power_state"], o.fields["domid"], o.fields["resident_on"] = "Halted", int64(-1), NullRef
		o.fields["guest_metrics"], o.fields["current_operations"] = NullRef, map[string]string{}
		o.fields["metrics"] = NullRef
	}
	for _, class := range []string{"VIF", "VBD"} {
		for _, o := range d.all(class) {
			o.fields["currently_attached"] = false
			o.fields["current_operations"] = map[string]string{}
		}
	}
	d.reindex()
	return true, nil
}

// When the state file is written: saveQuiet after a change that follows
// a quiet spell, and while the database keeps changing at most once per
// saveInterval (xapi flushes its database every 2 s: db_FLUSH_TIMER in
// xen-api's ocaml/database/db_backend.ml), so a busy host costs one
// write per 2 s instead of one per change burst.
const (
	saveQuiet    = 200 * time.Millisecond
	saveInterval = 2 * time.Second
)

// startSaver saves the state after changes, until Close.
func (s *Server) startSaver() {
	if s.opts.StateFile == "" {
		return
	}
	kick := make(chan struct{}, 1)
	s.db.mu.Lock()
	s.db.onDirty = func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	if s.db.dirty {
		s.db.onDirty()
	}
	s.db.mu.Unlock()
	s.goBackground(func() {
		var last time.Time // the last write
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-kick:
			}
			t := time.NewTimer(max(saveQuiet, saveInterval-time.Since(last)))
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if err := s.save(); err != nil {
				s.logf("xapid: %v", err)
			}
			last = time.Now()
		}
	})
}

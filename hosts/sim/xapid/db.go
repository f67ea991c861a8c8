package xapid

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// NullRef is xapi's null reference.
const NullRef = "OpaqueRef:NULL"

// object is one database row: a record of one class. Field values are
// string, int64, bool, float64, time.Time, []string (sets, refs) or
// map[string]string. Fields are written through db.set (or before
// db.reindex), so the indexes below stay true.
type object struct {
	class  string
	ref    string
	seq    int64 // creation order, so get_all is stable
	fields map[string]any
	// created and modified are the database generations of the
	// object's creation and last change, mtime the time of that change:
	// what event.from reads.
	created, modified int64
	mtime             time.Time
}

// event is one change as event.next returns it, with the record as it
// was at the change (xapi's Next queue keeps the snapshot too).
type event struct {
	id       int64
	ts       time.Time
	class    string // lower case, as xapi's events carry it
	op       string // add, mod, del
	ref      string
	snapshot map[string]any // nil: none (event.from's del events)
	size     int            // bytes the event takes in the queue
}

// How much history the database keeps, as xapi keeps it
// (xen-api ocaml/database/db_cache_types.ml, ocaml/xapi/xapi_event.ml).
// event.from keeps no log: each object carries the generation of its
// creation and last change, and event.from reads the current records
// whose generation is past the token. Deletions are kept per class, at
// most maxDeleted of them: at that count the newest keptDeleted stay
// (xapi's Table.remove: 512 and 256); a client that misses one sees it
// in valid_ref_counts. Only event.next has a queue of snapshots: events
// are queued only while a session is registered for them, and the queue
// is cut to maxNextBytes of serialised events, oldest first (xapi's
// Next.max_queue_size, 10,000,000 bytes of JSON); a cursor older than
// what was cut gets EVENTS_LOST.
const (
	maxDeleted   = 512
	keptDeleted  = 256
	maxNextBytes = 10_000_000
)

// tombstone is a deleted object as event.from reports it.
type tombstone struct {
	created, deleted int64
	ref              string
	ts               time.Time
}

// db is the in-memory database. Every exported Server method and every
// call handler takes mu for as long as it reads or writes the records.
type db struct {
	mu      sync.Mutex
	objs    map[string]*object
	byClass map[string]map[string]*object // class → ref → object
	// kids indexes the reverse relations: "childClass.field" → parent
	// ref → child ref → child, for every child field of reverse.
	kids    map[string]map[string]map[string]*object
	seq     int64
	eventID int64                  // the database's generation: one per change
	deleted map[string][]tombstone // class → deletions, newest first
	// next is event.next's queue of snapshots, nextBytes its size;
	// nextLost is the newest event id cut from it; nextWant says
	// whether a registered session wants an object's events.
	next      []event
	nextBytes int
	nextLost  int64
	nextWant  func(class, ref string) bool
	changed   chan struct{} // closed and replaced on every change: wakes event.from
	// shape, if set, makes a record its release's (releasefields.go).
	shape   func(d *db, o *object, r map[string]any)
	dirty   bool // changed since the last save
	onDirty func()
}

func newDB() *db {
	d := &db{changed: make(chan struct{}), deleted: map[string][]tombstone{}}
	d.reindex()
	return d
}

// reindex rebuilds the class and relation indexes from objs.
func (d *db) reindex() {
	if d.objs == nil {
		d.objs = map[string]*object{}
	}
	d.byClass = map[string]map[string]*object{}
	d.kids = map[string]map[string]map[string]*object{}
	for _, o := range d.objs {
		d.index(o)
	}
}

// index adds o to the class index and to its parents' relation sets.
func (d *db) index(o *object) {
	m := d.byClass[o.class]
	if m == nil {
		m = map[string]*object{}
		d.byClass[o.class] = m
	}
	m[o.ref] = o
	for _, f := range parentFieldsOf[o.class] {
		d.link(o, f, o.fields[f])
	}
}

// unindex removes o from the indexes.
func (d *db) unindex(o *object) {
	delete(d.byClass[o.class], o.ref)
	for _, f := range parentFieldsOf[o.class] {
		d.unlink(o, f, o.fields[f])
	}
}

func (d *db) link(o *object, field string, parent any) {
	p, _ := parent.(string)
	key := o.class + "." + field
	byParent := d.kids[key]
	if byParent == nil {
		byParent = map[string]map[string]*object{}
		d.kids[key] = byParent
	}
	set := byParent[p]
	if set == nil {
		set = map[string]*object{}
		byParent[p] = set
	}
	set[o.ref] = o
}

func (d *db) unlink(o *object, field string, parent any) {
	p, _ := parent.(string)
	key := o.class + "." + field
	if set := d.kids[key][p]; set != nil {
		delete(set, o.ref)
		if len(set) == 0 {
			delete(d.kids[key], p)
		}
	}
}

// newUUID returns a random version-4 UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("xapid: no randomness: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newRef returns a fresh OpaqueRef.
func newRef() string { return "OpaqueRef:" + newUUID() }

// reverse lists the set fields that xapi computes from the other side of a
// one-to-many relation: class.field is the set of refs of child objects
// whose childField points at the object.
var reverse = map[string]map[string][2]string{
	"VM": {
		"VIFs":      {"VIF", "VM"},
		"VBDs":      {"VBD", "VM"},
		"snapshots": {"VM", "snapshot_of"},
	},
	"network": {"VIFs": {"VIF", "network"}, "PIFs": {"PIF", "network"}},
	"host":    {"PIFs": {"PIF", "host"}, "resident_VMs": {"VM", "resident_on"}},
	"SR":      {"VDIs": {"VDI", "SR"}},
	"VDI":     {"VBDs": {"VBD", "VDI"}},
}

// parentFieldsOf lists, for a child class, the fields that point at
// parents whose computed sets change when the child comes or goes.
var parentFieldsOf = func() map[string][]string {
	out := map[string][]string{}
	for _, rels := range reverse {
		for _, r := range rels {
			if !slices.Contains(out[r[0]], r[1]) {
				out[r[0]] = append(out[r[0]], r[1])
			}
		}
	}
	for _, fs := range out {
		sort.Strings(fs)
	}
	return out
}()

func parentFields(child string) []string { return parentFieldsOf[child] }

// get returns the object for ref if it is of class.
func (d *db) get(class, ref string) (*object, *APIError) {
	o, ok := d.objs[ref]
	if !ok || o.class != class {
		return nil, handleInvalid(class, ref)
	}
	return o, nil
}

// all returns the objects of class in creation order.
func (d *db) all(class string) []*object {
	return sorted(d.byClass[class])
}

// sorted returns the objects of m in creation order.
func sorted(m map[string]*object) []*object {
	out := make([]*object, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	sortBySeq(out)
	return out
}

func sortBySeq(objs []*object) {
	sort.Slice(objs, func(i, j int) bool { return objs[i].seq < objs[j].seq })
}

// where returns the objects of class whose field equals value.
// A reverse relation's field is read from the index.
func (d *db) where(class, field string, value any) []*object {
	if ref, ok := value.(string); ok && slices.Contains(parentFieldsOf[class], field) {
		return sorted(d.kids[class+"."+field][ref])
	}
	var out []*object
	for _, o := range d.all(class) {
		if o.fields[field] == value {
			out = append(out, o)
		}
	}
	return out
}

// refs returns the refs of objs.
func refs(objs []*object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.ref)
	}
	return out
}

// byUUID finds an object of class by uuid.
func (d *db) byUUID(class, uuid string) (*object, *APIError) {
	for _, o := range d.byClass[class] {
		if o.fields["uuid"] == uuid {
			return o, nil
		}
	}
	return nil, apiErr(ErrUUIDInvalid, class, uuid)
}

// record returns a deep copy of the object's fields with the computed
// relation sets filled in: what get_record and event snapshots carry.
func (d *db) record(o *object) map[string]any {
	r := make(map[string]any, len(o.fields)+4)
	for k, v := range o.fields {
		r[k] = copyValue(v)
	}
	for field, rel := range reverse[o.class] {
		r[field] = refs(d.where(rel[0], rel[1], o.ref))
	}
	if f := computed[o.class]; f != nil {
		f(d, o, r)
	}
	if d.shape != nil {
		d.shape(d, o, r)
	}
	return r
}

// computed fills fields xapi derives from other state (allowed_operations).
var computed = map[string]func(d *db, o *object, r map[string]any){}

// field returns one field as get_<field> does, computed sets included.
func (d *db) field(o *object, name string) (any, bool) {
	if rel, ok := reverse[o.class][name]; ok {
		return refs(d.where(rel[0], rel[1], o.ref)), true
	}
	if computed[o.class] != nil {
		v, ok := d.record(o)[name]
		return v, ok
	}
	v, ok := o.fields[name]
	if !ok && d.shape != nil { // a later release's field the simulator does not store
		v, ok = d.record(o)[name]
	}
	return copyValue(v), ok
}

func copyValue(v any) any {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case map[string]string:
		return maps.Clone(x)
	}
	return v
}

// insert adds an object and records the add event, and mod events for the
// parents whose computed sets now include it.
func (d *db) insert(class string, fields map[string]any) *object {
	d.seq++
	ref, _ := fields["ref"].(string)
	delete(fields, "ref")
	if ref == "" {
		ref = newRef()
	}
	if _, ok := fields["uuid"]; !ok {
		fields["uuid"] = newUUID()
	}
	o := &object{class: class, ref: ref, seq: d.seq, fields: fields}
	d.objs[ref] = o
	d.index(o)
	d.emit(o, "add")
	d.touchParents(o)
	return o
}

// remove deletes an object, with a del event and mod events for parents.
func (d *db) remove(o *object) {
	if _, ok := d.objs[o.ref]; !ok {
		return
	}
	var snap map[string]any
	if d.nextWant != nil && d.nextWant(o.class, o.ref) {
		snap = d.record(o)
	}
	delete(d.objs, o.ref)
	d.unindex(o)
	d.eventID++
	now := time.Now()
	dels := append([]tombstone{{created: o.created, deleted: d.eventID, ref: o.ref, ts: now}}, d.deleted[o.class]...)
	if len(dels) >= maxDeleted {
		dels = slices.Clone(dels[:keptDeleted+1])
	}
	d.deleted[o.class] = dels
	if snap != nil {
		d.queue(event{id: d.eventID, ts: now, class: strings.ToLower(o.class), op: "del", ref: o.ref, snapshot: snap})
	}
	d.changedNow()
	d.touchParents(o)
}

// set writes fields of an object and records one mod event.
func (d *db) set(o *object, kv map[string]any) {
	old := make(map[string]any, len(kv))
	for k, v := range kv {
		old[k] = o.fields[k]
		if slices.Contains(parentFieldsOf[o.class], k) {
			d.unlink(o, k, old[k])
			d.link(o, k, v)
		}
		o.fields[k] = v
	}
	d.emit(o, "mod")
	// A changed parent pointer changes two parents' computed sets.
	for _, f := range parentFields(o.class) {
		if v, ok := kv[f]; ok && v != old[f] {
			d.touchRef(old[f])
			d.touchRef(v)
		}
	}
}

func (d *db) touchParents(o *object) {
	for _, f := range parentFields(o.class) {
		d.touchRef(o.fields[f])
	}
}

func (d *db) touchRef(v any) {
	ref, _ := v.(string)
	if p, ok := d.objs[ref]; ok {
		d.emit(p, "mod")
	}
}

// emit records a change of o (op add or mod): its generations, and the
// event in event.next's queue if a registered session wants it.
func (d *db) emit(o *object, op string) {
	d.eventID++
	now := time.Now()
	if op == "add" {
		o.created = d.eventID
	}
	o.modified, o.mtime = d.eventID, now
	if d.nextWant != nil && d.nextWant(o.class, o.ref) {
		d.queue(event{id: d.eventID, ts: now, class: strings.ToLower(o.class), op: op, ref: o.ref, snapshot: d.record(o)})
	}
	d.changedNow()
}

// queue adds an event to event.next's queue and cuts the oldest events
// beyond maxNextBytes.
func (d *db) queue(e event) {
	if b, err := json.Marshal(eventStruct(e)); err == nil {
		e.size = len(b)
	}
	d.next = append(d.next, e)
	d.nextBytes += e.size
	cut := 0
	for d.nextBytes > maxNextBytes && cut < len(d.next) {
		d.nextBytes -= d.next[cut].size
		d.nextLost = d.next[cut].id
		cut++
	}
	if cut > 0 {
		d.next = slices.Clone(d.next[cut:])
	}
}

// changedNow wakes event waiters and marks the database for saving.
func (d *db) changedNow() {
	close(d.changed)
	d.changed = make(chan struct{})
	if !d.dirty && d.onDirty != nil {
		d.onDirty()
	}
	d.dirty = true
}

package lock

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
)

// A claim names its process well enough for a later run on the same
// machine to tell whether that process still runs: a pid alone does not
// (pids are reused), nor does a host name (two CI containers may share
// one). So a claim also carries the kernel's boot ID, the pid namespace
// and the process's start time (field 22 of /proc/<pid>/stat, in clock
// ticks since boot). A later run that shares the boot and the pid
// namespace reads /proc/<pid>/stat: no such process, or one that started
// at another time, means the claim's run is gone, and its claim is taken
// over at once instead of after its expiry. Anything else (another
// machine or container, no /proc) is not judged: the claim waits out its
// expiry.

// procRoot is where the kernel shows its process table.
const procRoot = "/proc"

// machine is this machine's identity as claims record it.
type machine struct {
	name  string // os.Hostname
	boot  string // /proc/sys/kernel/random/boot_id
	pidNS string // the target of /proc/self/ns/pid, "pid:[4026531836]"
}

var thisMachine = sync.OnceValue(func() machine {
	m := machine{}
	m.name, _ = os.Hostname()
	if b, err := os.ReadFile(procRoot + "/sys/kernel/random/boot_id"); err == nil {
		m.boot = strings.TrimSpace(string(b))
	}
	m.pidNS, _ = os.Readlink(procRoot + "/self/ns/pid")
	return m
})

// startTime returns when process pid started, in clock ticks since boot.
// A pid with no process is an error that wraps fs.ErrNotExist.
func startTime(pid int) (uint64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("pid %d: %w", pid, fs.ErrNotExist)
	}
	b, err := os.ReadFile(procRoot + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses,
	// so the fields are counted from the last ')'; starttime is field 22,
	// the 20th after comm.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unreadable " + procRoot + "/" + strconv.Itoa(pid) + "/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, errors.New("short " + procRoot + "/" + strconv.Itoa(pid) + "/stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// identify fills in the fields that let a later run on this machine tell
// whether pid (this process) still runs; it leaves them empty when this
// machine cannot say.
func identify(h *Holder) {
	m := thisMachine()
	if m.name == "" || m.boot == "" || m.pidNS == "" || h.PID != os.Getpid() {
		return
	}
	st, err := startTime(h.PID)
	if err != nil {
		return
	}
	h.Machine, h.Boot, h.PIDNS, h.PIDStart = m.name, m.boot, m.pidNS, st
}

// gone says why a claim's process is known to have ended ("" when it
// runs, or when this machine cannot tell).
func gone(h Holder) string {
	if h.bad || h.Machine == "" || h.PIDStart == 0 {
		return ""
	}
	m := thisMachine()
	if m.boot == "" || h.Machine != m.name || h.Boot != m.boot || h.PIDNS != m.pidNS {
		return ""
	}
	st, err := startTime(h.PID)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("its process is gone (no pid %d on this machine)", h.PID)
	case err != nil:
		return ""
	case st != h.PIDStart:
		return fmt.Sprintf("its process is gone (pid %d is another process now)", h.PID)
	}
	return ""
}

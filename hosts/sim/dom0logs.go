package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// dom0's logs, where a real XenServer keeps them, for what collects logs
// from a host (xenlab logs) to find there:
//
//   - /var/log/xensource.log: xapi's log. Since XenServer 6.1 it is in
//     syslog form ("Debugging XenServer Using Events or Logs",
//     xenserver.org developer hints: "xensource.log now uses a more
//     standard syslog format"); the simulated xapi's log lines go there as
//     "<Mon dd hh:mm:ss> <hostname> xapi: [ info|<hostname>|0 ||xapi] <line>".
//   - /var/log/openvswitch/ovs-vswitchd.log and ovsdb-server.log: Open
//     vSwitch's daemons' logs, in vlog's default file layout
//     ("<UTC time>|<seq>|<module>|<level>|<message>", ovs-appctl(8),
//     vlog/set PATTERN); the bridge and interface changes xapi makes in
//     dom0 go to ovs-vswitchd.log as bridge.c words them ("bridge X: added
//     interface Y", without the OpenFlow port number it adds).
const (
	xensourceLog = "/var/log/xensource.log"
	vswitchdLog  = "/var/log/openvswitch/ovs-vswitchd.log"
	ovsdbLog     = "/var/log/openvswitch/ovsdb-server.log"
)

// dom0Logs appends to dom0's log files; a failure to write is reported once
// through the simulator's own log and otherwise ignored, as syslog would.
type dom0Logs struct {
	mu     sync.Mutex
	seq    int
	warned bool
}

func (h *Host) appendDom0Log(p, line string) {
	if h.dom0 == nil {
		return
	}
	l := &h.dlogs
	l.mu.Lock()
	defer l.mu.Unlock()
	f := h.dom0.HostPath(p)
	err := os.MkdirAll(filepath.Dir(f), 0o755)
	if err == nil {
		var w *os.File
		if w, err = os.OpenFile(f, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			_, err = w.WriteString(strings.TrimRight(line, "\n") + "\n")
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil && !l.warned {
		l.warned = true
		h.logf("sim: dom0 %s: %v", p, err)
	}
}

// xapiLogf is the simulated xapi's log: the simulator's, and dom0's
// xensource.log.
func (h *Host) xapiLogf(format string, args ...any) {
	h.logf(format, args...)
	msg := fmt.Sprintf(format, args...)
	h.appendDom0Log(xensourceLog, fmt.Sprintf("%s %s xapi: [ info|%s|0 ||xapi] %s",
		time.Now().Format(time.Stamp), dom0Hostname, dom0Hostname, msg))
}

// vswitchdLogf adds a line of ovs-vswitchd's bridge module to its log.
func (h *Host) vswitchdLogf(format string, args ...any) {
	h.dlogs.mu.Lock()
	h.dlogs.seq++
	seq := h.dlogs.seq
	h.dlogs.mu.Unlock()
	h.appendDom0Log(vswitchdLog, fmt.Sprintf("%s|%05d|bridge|INFO|%s",
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), seq, fmt.Sprintf(format, args...)))
}

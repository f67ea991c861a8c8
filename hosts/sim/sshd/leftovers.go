package sshd

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// killLeftovers kills every process that still runs with this host's
// environment marker (XENLAB_SIM_ROOT and XENLAB_SIM_HOST as commands get
// them): what commands left running after they exited, including daemons
// that made their own session. A few passes catch processes forked during
// a pass. It returns how many it killed.
func (s *Server) killLeftovers() int {
	marks := [][]byte{
		[]byte("XENLAB_SIM_ROOT=" + s.cfg.Root + "\x00"),
		[]byte("XENLAB_SIM_HOST=" + s.cfg.Name + "\x00"),
	}
	self := os.Getpid()
	killed := 0
	for range 5 {
		n := 0
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return killed
		}
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			if killIfMarked(pid, marks) {
				n++
			}
		}
		killed += n
		if n == 0 {
			break
		}
	}
	return killed
}

// killIfMarked kills process pid when its environment has both marks. The process
// is held (a pidfd) before its environment is read, so the signal cannot
// reach another process that reused the pid in between.
func killIfMarked(pid int, marks [][]byte) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	defer p.Release()
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(env) == 0 {
		return false
	}
	env = append([]byte{0}, env...)
	for _, m := range marks {
		if !bytes.Contains(env, append([]byte{0}, m...)) {
			return false
		}
	}
	return p.Signal(syscall.SIGKILL) == nil
}

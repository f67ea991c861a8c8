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
			env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
			if err != nil || len(env) == 0 {
				continue
			}
			env = append([]byte{0}, env...)
			if bytes.Contains(env, append([]byte{0}, marks[0]...)) &&
				bytes.Contains(env, append([]byte{0}, marks[1]...)) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					n++
				}
			}
		}
		killed += n
		if n == 0 {
			break
		}
	}
	return killed
}

package cli

import (
	"strconv"
	"strings"
	"sync"
	"syscall"
)

var terminate = syscall.SIGTERM

func itoa(n int) string { return strconv.Itoa(n) }

// lockedBuilder is a strings.Builder safe to read while a command writes.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

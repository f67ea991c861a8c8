// Package netns holds a network namespace the simulator made, by an open
// file of it rather than a name under /run/netns: the namespace lives as
// long as that file or a process in it, so when the simulator dies
// (SIGKILL included) and its children with it (their parent-death
// signal), the kernel removes the namespace and every device in it, the
// far ends of its veth pairs included. Nothing is left for a later start
// to find.
//
// A nil *NS is this machine's own namespace: its methods then do what
// they would without one, so callers need no branch.
package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"xenlab/hosts/sim/internal/lasting"
)

func init() {
	// The main goroutine keeps the main thread, so no goroutine that joins
	// a namespace (Do, New, sshd's spawner) ever runs there. Go ends a
	// thread whose locked goroutine exits, but not the main thread: that
	// one would stay, parked, in the namespace it joined, keeping it alive
	// after its simulator closed it, and /proc/self/net, which is the main
	// thread's, would show that namespace's devices and routes instead of
	// this machine's (a restarted host found its own former /24 in use).
	// Calling LockOSThread in an init makes main run on the main thread
	// (package runtime).
	runtime.LockOSThread()
}

// setnsNr is setns(2)'s number, which package syscall does not name.
var setnsNr = map[string]uintptr{"amd64": 308, "arm64": 268, "386": 346, "arm": 375,
	"ppc64le": 350, "s390x": 339, "riscv64": 268, "loong64": 268}

func setns(fd int) error {
	nr, ok := setnsNr[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("setns: unknown system call number on %s", runtime.GOARCH)
	}
	if _, _, e := syscall.RawSyscall(nr, uintptr(fd), syscall.CLONE_NEWNET, 0); e != 0 {
		return e
	}
	return nil
}

// NS is a network namespace held open by a file.
type NS struct {
	f *os.File
}

// Available says why this process cannot make network namespaces, or
// nil when it can (root).
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("not root: network namespaces and veth links need root")
	}
	if _, ok := setnsNr[runtime.GOARCH]; !ok {
		return fmt.Errorf("setns: unknown system call number on %s", runtime.GOARCH)
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return fmt.Errorf("no network namespaces: %w", err)
	}
	return nil
}

// New makes an empty network namespace (only lo, down).
func New() (*NS, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	type res struct {
		f   *os.File
		err error
	}
	ch := make(chan res, 1)
	go func() {
		// Never unlocked: the thread, which unshared its namespace, ends
		// with this goroutine and is not reused.
		runtime.LockOSThread()
		if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
			ch <- res{err: fmt.Errorf("unshare a network namespace: %w", err)}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		ch <- res{f, err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	return &NS{f: r.f}, nil
}

// Path is a path of the namespace for other processes of this machine
// (ip's "netns PATH", nsenter --net=PATH) while it is open.
func (n *NS) Path() string {
	if n == nil {
		return "/proc/" + strconv.Itoa(os.Getpid()) + "/ns/net"
	}
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(n.f.Fd()))
}

// Close lets go of the namespace: it ends when the last process in it
// does.
func (n *NS) Close() error {
	if n == nil {
		return nil
	}
	return n.f.Close()
}

// Do runs f on an OS thread that has joined the namespace and ends after
// f (it is never given back to other goroutines). Whatever f starts (a
// child process, a socket) belongs to the namespace.
func (n *NS) Do(f func() error) error {
	if n == nil {
		return f()
	}
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends here
		if err := setns(int(n.f.Fd())); err != nil {
			ch <- fmt.Errorf("join network namespace: %w", err)
			return
		}
		ch <- f()
	}()
	return <-ch
}

// Lasting runs f on package lasting's thread while that thread is in the
// namespace, then brings the thread back to the namespace it was in: a
// child started by f with a parent-death signal begins in the namespace
// and dies with this process only.
func (n *NS) Lasting(f func()) error {
	if n == nil {
		lasting.Run(f)
		return nil
	}
	var err error
	lasting.Run(func() {
		back, e := os.Open("/proc/thread-self/ns/net")
		if e != nil {
			err = e
			return
		}
		defer back.Close()
		if e := setns(int(n.f.Fd())); e != nil {
			err = fmt.Errorf("join network namespace: %w", e)
			return
		}
		defer func() {
			if e := setns(int(back.Fd())); e != nil {
				// The lasting thread would start later children in the
				// wrong namespace: nothing sane remains.
				panic(fmt.Sprintf("netns: cannot return the lasting thread to its namespace: %v", e))
			}
		}()
		f()
	})
	return err
}

// Listen listens in the namespace. With IP_FREEBIND, an address that the
// namespace's interfaces do not carry yet may be bound (a guest whose
// address comes with its interface).
func (n *NS) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_FREEBIND, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	if n == nil {
		return (&net.ListenConfig{}).Listen(ctx, network, addr)
	}
	var ln net.Listener
	err := n.Do(func() error {
		var err error
		ln, err = lc.Listen(ctx, network, addr)
		return err
	})
	return ln, err
}

//go:build unix

package xapi

import "syscall"

// quiet says whether an idle connection is still open with nothing to
// read: a peer that closed it, or sent anything (a TLS alert, a stray
// byte) while it was idle, makes it unusable. It peeks at the socket
// without blocking.
func (wc *wireConn) quiet() bool {
	if wc.rd.err != nil || wc.br.Buffered() > 0 {
		return false
	}
	if wc.sys == nil {
		return true // a dialer's own connection: nothing to peek at
	}
	_, err := wc.peek()
	return err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
}

// answered says whether the peer has sent something that waits to be
// read, checked without blocking.
func (wc *wireConn) answered() bool {
	if wc.br.Buffered() > 0 {
		return true
	}
	if wc.sys == nil {
		return false
	}
	n, _ := wc.peek()
	return n > 0
}

// peek looks at the socket for a byte without taking it or waiting: n is
// 1 when one waits, 0 with a nil error at the peer's close; otherwise err
// says why not (EAGAIN: nothing yet).
func (wc *wireConn) peek() (n int, err error) {
	rc, err := wc.sys.SyscallConn()
	if err != nil {
		return 0, err
	}
	var b [1]byte
	if rerr := rc.Read(func(fd uintptr) bool {
		n, _, err = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait for the socket
	}); rerr != nil {
		return 0, rerr
	}
	return n, err
}

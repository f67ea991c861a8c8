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
	rc, err := wc.sys.SyscallConn()
	if err != nil {
		return false
	}
	quiet := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		quiet = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true // never wait for the socket
	})
	return err == nil && quiet
}

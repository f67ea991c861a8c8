//go:build !unix

package xapi

// quiet says whether an idle connection looks usable; without a
// non-blocking peek here, only what was already read can tell.
func (wc *wireConn) quiet() bool {
	return wc.rd.err == nil && wc.br.Buffered() == 0
}

// answered says whether the peer has sent something that waits to be
// read; without a non-blocking peek here, only what was already read can
// tell.
func (wc *wireConn) answered() bool {
	return wc.br.Buffered() > 0
}

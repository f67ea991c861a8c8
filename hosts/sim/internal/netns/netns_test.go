package netns

import (
	"context"
	"net"
	"os"
	"syscall"
	"testing"
)

func nsIno(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestNamespace: Do and Lasting run in the namespace and leave the
// lasting thread where it was; a listener made there is not reachable
// from this machine's namespace; a nil NS is this machine's.
func TestNamespace(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	ns, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	own := nsIno(t, "/proc/self/ns/net")
	want := nsIno(t, ns.Path())
	if want == own {
		t.Fatal("New gave this machine's namespace")
	}
	var in, lastIn, lastAfter uint64
	if err := ns.Do(func() error { in = nsIno(t, "/proc/thread-self/ns/net"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := ns.Lasting(func() { lastIn = nsIno(t, "/proc/thread-self/ns/net") }); err != nil {
		t.Fatal(err)
	}
	var nilNS *NS
	if err := nilNS.Lasting(func() { lastAfter = nsIno(t, "/proc/thread-self/ns/net") }); err != nil {
		t.Fatal(err)
	}
	if in != want || lastIn != want || lastAfter != own {
		t.Errorf("Do ran in %d, Lasting in %d then %d; want %d, %d, %d", in, lastIn, lastAfter, want, want, own)
	}
	if got := nsIno(t, "/proc/self/ns/net"); got != own {
		t.Errorf("the main thread moved to namespace %d", got)
	}
	ln, err := ns.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The namespace's loopback is down and its own: this machine's
	// 127.0.0.1 has nothing on that port (unless by chance; then skip).
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Skipf("something of this machine listens on %s too", ln.Addr())
	}
	if _, err := os.Stat(ns.Path()); err != nil {
		t.Fatal(err)
	}
}

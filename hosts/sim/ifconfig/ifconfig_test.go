package ifconfig

import (
	"bytes"
	"strings"
	"testing"
)

// TestLoopbackAsNetTools160 reads this machine's lo (every namespace has
// one, with 127.0.0.1) and prints it as net-tools 1.60 does.
func TestLoopbackAsNetTools160(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"lo"}, &out, &errb); code != 0 {
		t.Fatalf("ifconfig lo: exit %d, %s", code, errb.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 8 || lines[0] != "lo        Link encap:Local Loopback  " ||
		lines[1] != "          inet addr:127.0.0.1  Mask:255.0.0.0" {
		t.Fatalf("ifconfig lo:\n%s", out.String())
	}
	for _, want := range []string{"UP LOOPBACK RUNNING  MTU:", "  Metric:1\n", "          RX packets:", " frame:", "          TX packets:", " carrier:",
		"          collisions:", " txqueuelen:", "          RX bytes:", "  TX bytes:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ifconfig lo lacks %q:\n%s", want, out.String())
		}
	}
	// devstack's Havana tools/xen/functions xenapi_ip_on reads it so.
	for _, l := range lines {
		if strings.Contains(l, "inet addr") {
			addr := strings.SplitN(strings.Split(l, ":")[1], " ", 2)[0]
			if addr != "127.0.0.1" {
				t.Errorf("cut -d: -f2 | sed 's/ .*//' gives %q", addr)
			}
		}
	}
}

func TestUnknownInterface(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"nosuch0"}, &out, &errb); code != 1 || out.Len() != 0 ||
		errb.String() != "nosuch0: error fetching interface information: Device not found\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0.0 b", 560: "560.0 b", 1024: "1024.0 b", 4249: "4.1 KiB", 229860: "224.4 KiB", 3 << 30: "3.0 GiB"} {
		if got := human(n); got != want {
			t.Errorf("human(%d) = %q, want %q", n, got, want)
		}
	}
}

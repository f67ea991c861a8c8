package ovs

import (
	"bufio"
	"slices"
	"strings"
	"testing"
)

// TestReadToolRequest reads requests as toolclient.py writes them: empty
// and non-UTF-8 arguments and stdin with newlines pass unchanged; a
// truncated or oversized request is refused.
func TestReadToolRequest(t *testing.T) {
	req := "4\n9\novs-vsctl0\n2\n\xff\xfe3\na\nb6\nx=1\ny\n"
	argv, stdin, err := readToolRequest(bufio.NewReader(strings.NewReader(req)))
	if err != nil || !slices.Equal(argv, []string{"ovs-vsctl", "", "\xff\xfe", "a\nb"}) || string(stdin) != "x=1\ny\n" {
		t.Fatalf("argv %q stdin %q err %v", argv, stdin, err)
	}
	for _, bad := range []string{"", "1\n9\novs", "1\n-1\n", "99999999\n", "1\n3\nabc\n", "x\n"} {
		if _, _, err := readToolRequest(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("request %q accepted", bad)
		}
	}
}

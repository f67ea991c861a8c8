package xmlrpc

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// pythonPeer reads every response*.xml in a directory with Python's
// xmlrpc.client the way XenAPI.py calls it (which keeps xapi's "Z"
// datetimes as text) and writes each value back as a call*.xml, encoded
// Python's way (typed strings, <int>, <nil/>).
const pythonPeer = `
import glob, sys, xmlrpc.client
for path in sorted(glob.glob(sys.argv[1] + "/response*.xml")):
    with open(path, "rb") as f:
        params, _ = xmlrpc.client.loads(f.read())  # as XenAPI.py does
    out = xmlrpc.client.dumps(params, "echo", allow_none=True)
    with open(path.replace("response", "call"), "w", encoding="utf-8") as f:
        f.write(out)
`

// TestPythonXMLRPCPeer checks the codec against an implementation nobody
// here wrote: Python's xmlrpc.client decodes what MarshalResponse writes,
// and UnmarshalCall decodes what Python writes back.
func TestPythonXMLRPCPeer(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed; the Python XML-RPC peer test needs it")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	var values []any
	for i := range 200 {
		v := randomValue(r, 0)
		if strings.ContainsRune(fmt.Sprint(v), '\r') {
			v = "no CR: Python writes it raw and XML turns it into LF"
		}
		values = append(values, v)
		data, err := MarshalResponse(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("response%03d.xml", i)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(dir, "peer.py")
	if err := os.WriteFile(script, []byte(pythonPeer), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, script, dir).CombinedOutput(); err != nil {
		t.Fatalf("python peer: %v\n%s", err, out)
	}
	for i, v := range values {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("call%03d.xml", i)))
		if err != nil {
			t.Fatal(err)
		}
		m, params, err := UnmarshalCall(data)
		if err != nil {
			t.Fatalf("value %d: decoding Python's call: %v\n%s", i, err, data)
		}
		if m != "echo" || len(params) != 1 || !reflect.DeepEqual(params[0], asSent(v)) {
			t.Fatalf("value %d: sent %#v, Python echoed %#v\n%s", i, asSent(v), params, data)
		}
	}
}

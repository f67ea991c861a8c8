package xmlrpc

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loginResponse is what xapi answers to session.login_with_password.
const loginResponse = `<?xml version="1.0"?>
<methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>OpaqueRef:6b3b8c4d-3f0a-4e8e-9d6a-0c0f0f3a1b2c</value></member></struct></value></param></params></methodResponse>
`

// failureResponse is a pretty-printed xapi failure with all its parameters.
const failureResponse = `<?xml version="1.0"?>
<methodResponse>
  <params>
    <param>
      <value>
        <struct>
          <member>
            <name>Status</name>
            <value>Failure</value>
          </member>
          <member>
            <name>ErrorDescription</name>
            <value>
              <array>
                <data>
                  <value>VM_BAD_POWER_STATE</value>
                  <value>OpaqueRef:1</value>
                  <value>halted</value>
                  <value>running</value>
                </data>
              </array>
            </value>
          </member>
        </struct>
      </value>
    </param>
  </params>
</methodResponse>`

func TestUnmarshalResponseXapiLogin(t *testing.T) {
	v, err := UnmarshalResponse([]byte(loginResponse))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Status": "Success", "Value": "OpaqueRef:6b3b8c4d-3f0a-4e8e-9d6a-0c0f0f3a1b2c"}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, want %#v", v, want)
	}
}

func TestUnmarshalResponseXapiFailurePrettyPrinted(t *testing.T) {
	v, err := UnmarshalResponse([]byte(failureResponse))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Status": "Failure", "ErrorDescription": []any{"VM_BAD_POWER_STATE", "OpaqueRef:1", "halted", "running"}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, want %#v", v, want)
	}
}

// TestUnmarshalResponseRecord decodes a VM record as xapi sends it: ints as
// strings, an enum value newer than most clients know, nested maps, a
// datetime, an empty array.
func TestUnmarshalResponseRecord(t *testing.T) {
	data := `<methodResponse><params><param><value><struct>
<member><name>Status</name><value>Success</value></member>
<member><name>Value</name><value><struct>
 <member><name>uuid</name><value>7c6e5e9e-0000-4000-8000-000000000001</value></member>
 <member><name>allowed_operations</name><value><array><data><value>changing_NVRAM</value><value>start</value></data></array></value></member>
 <member><name>memory_static_max</name><value>4294967296</value></member>
 <member><name>VCPUs_max</name><value><i8>4</i8></value></member>
 <member><name>domid</name><value><int>-1</int></value></member>
 <member><name>user_version</name><value><i4>1</i4></value></member>
 <member><name>is_a_template</name><value><boolean>0</boolean></value></member>
 <member><name>is_control_domain</name><value><boolean>1</boolean></value></member>
 <member><name>other_config</name><value><struct><member><name>xenlab-lab</name><value><string>lab &amp; &lt;one&gt;</string></value></member></struct></value></member>
 <member><name>VIFs</name><value><array><data/></array></value></member>
 <member><name>blocked_operations</name><value><struct></struct></value></member>
 <member><name>snapshot_time</name><value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value></member>
 <member><name>memory_overhead</name><value><double>0.5</double></value></member>
 <member><name>name_description</name><value/></member>
 <member><name>blob</name><value><base64>aGVs
bG8=</base64></value></member>
 <member><name>nothing</name><value><nil/></value></member>
</struct></value></member>
</struct></value></param></params></methodResponse>`
	v, err := UnmarshalResponse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	rec := v.(map[string]any)["Value"].(map[string]any)
	want := map[string]any{
		"uuid":               "7c6e5e9e-0000-4000-8000-000000000001",
		"allowed_operations": []any{"changing_NVRAM", "start"},
		"memory_static_max":  "4294967296",
		"VCPUs_max":          int64(4),
		"domid":              int64(-1),
		"user_version":       int64(1),
		"is_a_template":      false,
		"is_control_domain":  true,
		"other_config":       map[string]any{"xenlab-lab": "lab & <one>"},
		"VIFs":               []any{},
		"blocked_operations": map[string]any{},
		"snapshot_time":      time.Date(2025, 3, 19, 4, 16, 24, 0, time.UTC),
		"memory_overhead":    0.5,
		"name_description":   "",
		"blob":               []byte("hello"),
		"nothing":            nil,
	}
	for k, w := range want {
		got := rec[k]
		if gt, ok := got.(time.Time); ok {
			if !gt.Equal(w.(time.Time)) {
				t.Errorf("%s: got %v, want %v", k, gt, w)
			}
			continue
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s: got %#v, want %#v", k, got, w)
		}
	}
	if len(rec) != len(want) {
		t.Errorf("got %d fields, want %d", len(rec), len(want))
	}
}

func TestDateTimeForms(t *testing.T) {
	want := time.Date(2025, 3, 19, 4, 16, 24, 0, time.UTC)
	for _, s := range []string{
		"20250319T04:16:24Z",
		"20250319T04:16:24",
		" 20250319T04:16:24Z\n",
		"20250319T05:16:24+01:00",
		"20250319T05:16:24+0100",
		"20250318T23:16:24-05",
		"2025-03-19T04:16:24Z",
		"2025-03-19T04:16:24",
		"20250319T041624Z",
	} {
		got, err := parseDateTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: got %v, %v", s, got, err)
		}
	}
	got, err := parseDateTime("20250319T04:16:24.250Z")
	if err != nil || !got.Equal(want.Add(250*time.Millisecond)) {
		t.Errorf("fractional seconds: got %v, %v", got, err)
	}
	for _, bad := range []string{"", "yesterday", "20251319T04:16:24Z", "20250319"} {
		if _, err := parseDateTime(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestUnmarshalCallXenAPIPy(t *testing.T) {
	// As Python's xmlrpc.client (XenAPI.py) writes a call: typed strings,
	// an <int>, a <double>, a nested struct.
	data := `<?xml version='1.0'?>
<methodCall>
<methodName>event.from</methodName>
<params>
<param>
<value><string>OpaqueRef:s</string></value>
</param>
<param>
<value><array><data>
<value><string>vm</string></value>
</data></array></value>
</param>
<param>
<value><string></string></value>
</param>
<param>
<value><double>30.0</double></value>
</param>
<param>
<value><int>7</int></value>
</param>
</params>
</methodCall>
`
	m, params, err := UnmarshalCall([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"OpaqueRef:s", []any{"vm"}, "", 30.0, int64(7)}
	if m != "event.from" || !reflect.DeepEqual(params, want) {
		t.Fatalf("got %q %#v", m, params)
	}
}

func TestUnmarshalCallNoParams(t *testing.T) {
	for _, data := range []string{
		`<methodCall><methodName>pool.get_all</methodName></methodCall>`,
		`<methodCall><methodName> pool.get_all </methodName><params/></methodCall>`,
	} {
		m, params, err := UnmarshalCall([]byte(data))
		if err != nil || m != "pool.get_all" || len(params) != 0 {
			t.Errorf("%s: got %q %v %v", data, m, params, err)
		}
	}
}

func TestUnmarshalLatin1(t *testing.T) {
	data := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodResponse><params><param><value>caf\xe9</value></param></params></methodResponse>"
	v, err := UnmarshalResponse([]byte(data))
	if err != nil || v != "café" {
		t.Fatalf("got %q, %v", v, err)
	}
}

func TestUnmarshalFault(t *testing.T) {
	_, err := UnmarshalResponse(MarshalFault(-32700, "parse error: <bad>"))
	var f *Fault
	if !errors.As(err, &f) || f.Code != -32700 || f.Message != "parse error: <bad>" {
		t.Fatalf("got %v", err)
	}
	// faultCode sent as a string, as some servers do.
	_, err = UnmarshalResponse([]byte(`<methodResponse><fault><value><struct><member><name>faultCode</name><value>3</value></member><member><name>faultString</name><value>no</value></member></struct></value></fault></methodResponse>`))
	if !errors.As(err, &f) || f.Code != 3 || f.Message != "no" {
		t.Fatalf("got %v", err)
	}
}

// TestUnmarshalMalformed lists inputs that must fail cleanly.
func TestUnmarshalMalformed(t *testing.T) {
	valid := loginResponse
	cases := map[string]string{
		"empty":               ``,
		"not xml":             `hello`,
		"wrong root":          `<methodCall><methodName>x</methodName></methodCall>`,
		"unclosed struct":     `<methodResponse><params><param><value><struct><member><name>a</name><value>b</value></member>`,
		"unclosed value":      `<methodResponse><params><param><value>abc`,
		"mismatched tags":     `<methodResponse><params><param><value><string>x</int></value></param></params></methodResponse>`,
		"bad int":             `<methodResponse><params><param><value><int>12x</int></value></param></params></methodResponse>`,
		"int overflow":        `<methodResponse><params><param><value><i8>99999999999999999999</i8></value></param></params></methodResponse>`,
		"bad boolean":         `<methodResponse><params><param><value><boolean>2</boolean></value></param></params></methodResponse>`,
		"nan double":          `<methodResponse><params><param><value><double>NaN</double></value></param></params></methodResponse>`,
		"bad base64":          `<methodResponse><params><param><value><base64>!!!</base64></value></param></params></methodResponse>`,
		"unknown type":        `<methodResponse><params><param><value><bigint>1</bigint></value></param></params></methodResponse>`,
		"text mixed":          `<methodResponse><params><param><value>a<string>b</string></value></param></params></methodResponse>`,
		"member without name": `<methodResponse><params><param><value><struct><member><value>b</value></member></struct></value></param></params></methodResponse>`,
		"member without val":  `<methodResponse><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodResponse>`,
		"two params":          `<methodResponse><params><param><value>a</value></param><param><value>b</value></param></params></methodResponse>`,
		"trailing element":    valid + `<x/>`,
		"trailing text":       valid + `junk`,
		"undefined entity":    `<methodResponse><params><param><value>&foo;</value></param></params></methodResponse>`,
		"fault not struct":    `<methodResponse><fault><value>x</value></fault></methodResponse>`,
		"truncated":           valid[:len(valid)/2],
		"value in array data": `<methodResponse><params><param><value><array><data><x/></data></array></value></param></params></methodResponse>`,
		"unknown charset":     `<?xml version="1.0" encoding="EBCDIC"?><methodResponse><params><param><value>a</value></param></params></methodResponse>`,
	}
	for name, data := range cases {
		if v, err := UnmarshalResponse([]byte(data)); err == nil {
			t.Errorf("%s: got %#v, want an error", name, v)
		}
	}
	// Every prefix of a valid message is an error (truncation anywhere).
	for i := range len(valid) - 2 {
		if _, err := UnmarshalResponse([]byte(valid[:i])); err == nil {
			t.Errorf("prefix of %d bytes decoded without error", i)
		}
	}
	for name, data := range map[string]string{
		"no name":     `<methodCall><params/></methodCall>`,
		"empty name":  `<methodCall><methodName> </methodName></methodCall>`,
		"bad param":   `<methodCall><methodName>x</methodName><params><value>a</value></params></methodCall>`,
		"unclosed":    `<methodCall><methodName>x</methodName><params><param><value><struct>`,
		"wrong child": `<methodCall><methodName>x</methodName><foo/></methodCall>`,
	} {
		if _, _, err := UnmarshalCall([]byte(data)); err == nil {
			t.Errorf("call %s: want an error", name)
		}
	}
}

func TestUnmarshalDepthBounded(t *testing.T) {
	n := maxDepth + 1
	deep := strings.Repeat("<value><array><data>", n) + "<value>x</value>" + strings.Repeat("</data></array></value>", n)
	_, err := UnmarshalResponse([]byte("<methodResponse><params><param>" + deep + "</param></params></methodResponse>"))
	if err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("got %v, want a nesting error", err)
	}
	ok := strings.Repeat("<value><array><data>", maxDepth-1) + "<value>x</value>" + strings.Repeat("</data></array></value>", maxDepth-1)
	if _, err := UnmarshalResponse([]byte("<methodResponse><params><param>" + ok + "</param></params></methodResponse>")); err != nil {
		t.Fatalf("depth %d: %v", maxDepth, err)
	}
}

func TestUnmarshalSizeBounded(t *testing.T) {
	big := make([]byte, MaxMessageSize+1)
	if _, err := UnmarshalResponse(big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("got %v", err)
	}
	if _, _, err := UnmarshalCall(big); err == nil {
		t.Fatal("call: no error")
	}
}

// deepReader yields a reply nested n <value><array><data> deep (and its
// closing), made as it is read, counting what was read.
type deepReader struct {
	n, open, closing int
	head             bool
	read             int64
	pending          []byte
}

func (d *deepReader) Read(p []byte) (int, error) {
	for len(d.pending) < len(p) {
		switch {
		case !d.head:
			d.pending, d.head = append(d.pending, "<methodResponse><params><param>"...), true
		case d.open < d.n:
			d.pending, d.open = append(d.pending, "<value><array><data>"...), d.open+1
		case d.closing == 0:
			d.pending, d.closing = append(d.pending, "<value>x</value>"...), 1
		case d.closing <= d.n:
			d.pending, d.closing = append(d.pending, "</data></array></value>"...), d.closing+1
		case d.closing == d.n+1:
			d.pending, d.closing = append(d.pending, "</param></params></methodResponse>"...), d.closing+1
		default:
			if len(d.pending) == 0 {
				return 0, io.EOF
			}
			n := copy(p, d.pending)
			d.pending = d.pending[n:]
			d.read += int64(n)
			return n, nil
		}
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	d.read += int64(n)
	return n, nil
}

// TestDepthRefusedWhileReading: a reply a million levels deep (44 MB) is
// refused when its nesting passes the bound, having read a few ten
// kilobytes of it, not the whole (issue 16: it used to be read whole
// first, at a cost of 230 MB). A reply within the bound, read the same
// way, decodes.
func TestDepthRefusedWhileReading(t *testing.T) {
	deep := &deepReader{n: 1_000_000}
	_, err := DecodeResponse(deep, 44_000_000)
	var lim *LimitError
	if !errors.As(err, &lim) || lim.Limit != "depth" {
		t.Fatalf("got %v, want a depth *LimitError", err)
	}
	if deep.read > 4*readChunk {
		t.Errorf("read %d bytes of the reply before refusing it, want at most %d", deep.read, 4*readChunk)
	}
	t.Logf("refused after reading %d bytes", deep.read)
	ok := &deepReader{n: maxDepth - 1}
	v, err := DecodeResponse(ok, -1)
	if err != nil {
		t.Fatalf("depth %d: %v", maxDepth, err)
	}
	for range maxDepth - 1 {
		a, isArray := v.([]any)
		if !isArray || len(a) != 1 {
			t.Fatalf("decoded %#v", v)
		}
		v = a[0]
	}
	if v != "x" {
		t.Fatalf("innermost %#v", v)
	}
}

package xmlrpc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMarshalResponseXapiStyle(t *testing.T) {
	data, err := MarshalResponse(map[string]any{"Status": "Success", "Value": map[string]any{
		"memory": int64(1 << 30), "name": "a<b&c", "ok": true, "vifs": []string{"OpaqueRef:1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{
		`<member><name>Status</name><value>Success</value></member>`,
		`<member><name>memory</name><value>1073741824</value></member>`,
		`<member><name>name</name><value>a&lt;b&amp;c</value></member>`,
		`<member><name>ok</name><value><boolean>1</boolean></value></member>`,
		`<value><array><data><value>OpaqueRef:1</value></data></array></value>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s in\n%s", want, s)
		}
	}
}

type ref string

func TestMarshalCallNamedTypes(t *testing.T) {
	data, err := MarshalCall("VM.start", []any{ref("OpaqueRef:s"), []ref{"a"}, map[string]ref{"k": "v"}, int32(3), uint8(4), float32(0.5), (*string)(nil)})
	if err != nil {
		t.Fatal(err)
	}
	m, params, err := UnmarshalCall(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"OpaqueRef:s", []any{"a"}, map[string]any{"k": "v"}, "3", "4", 0.5, nil}
	if m != "VM.start" || !reflect.DeepEqual(params, want) {
		t.Fatalf("got %q %#v", m, params)
	}
}

func TestMarshalRejects(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for name, v := range map[string]any{
		"nan":       math.NaN(),
		"inf":       math.Inf(1),
		"struct":    struct{ A int }{1},
		"int keys":  map[int]string{1: "a"},
		"cycle":     cyclic,
		"func":      func() {},
		"chan":      make(chan int),
		"deep cplx": complex(1, 2),
	} {
		if _, err := MarshalResponse(v); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := MarshalCall("", nil); err == nil {
		t.Error("empty method: no error")
	}
}

// TestRoundTrip is a property test: for random values of every decoded type,
// decoding the encoding gives the value back, with integers turned into
// decimal strings as xapi sends them.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		v := randomValue(r, 0)
		data, err := MarshalResponse(v)
		if err != nil {
			t.Fatalf("case %d: marshal %#v: %v", i, v, err)
		}
		got, err := UnmarshalResponse(data)
		if err != nil {
			t.Fatalf("case %d: unmarshal %s: %v", i, data, err)
		}
		if want := asSent(v); !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d:\n got %#v\nwant %#v\nxml %s", i, got, want, data)
		}
		params := []any{v, randomValue(r, 0)}
		data, err = MarshalCall("x.y", params)
		if err != nil {
			t.Fatal(err)
		}
		m, gotParams, err := UnmarshalCall(data)
		if err != nil || m != "x.y" || !reflect.DeepEqual(gotParams, asSent(params)) {
			t.Fatalf("call case %d: got %q %#v %v", i, m, gotParams, err)
		}
	}
}

// asSent is v as the peer decodes it: integers become decimal strings.
func asSent(v any) any {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = asSent(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = asSent(e)
		}
		return out
	}
	return v
}

func randomValue(r *rand.Rand, depth int) any {
	n := 9
	if depth > 3 {
		n = 7 // no more containers
	}
	switch r.IntN(n) {
	case 0:
		return randomString(r)
	case 1:
		return r.Int64() - r.Int64()
	case 2:
		return r.IntN(2) == 0
	case 3:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(30)-15))
	case 4:
		return time.Unix(r.Int64N(1<<34), 0).UTC()
	case 5:
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	case 6:
		return nil
	case 7:
		a := make([]any, r.IntN(4))
		for i := range a {
			a[i] = randomValue(r, depth+1)
		}
		return a
	default:
		m := map[string]any{}
		for range r.IntN(4) {
			m[randomString(r)] = randomValue(r, depth+1)
		}
		return m
	}
}

// randomString draws from characters that stress escaping and whitespace
// handling; all are legal XML text.
func randomString(r *rand.Rand) string {
	alphabet := []rune("ab Z09<>&'\"\t\n\r é€😀]]>OpaqueRef:-")
	s := make([]rune, r.IntN(12))
	for i := range s {
		s[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(s)
}

// BenchmarkUnmarshalResponse decodes a VM.get_all_records-sized reply
// (50 records of 30 fields).
func BenchmarkUnmarshalResponse(b *testing.B) {
	recs := map[string]any{}
	for i := range 50 {
		rec := map[string]any{}
		for j := range 27 {
			rec[fmt.Sprintf("field_%d", j)] = fmt.Sprintf("value-%d-%d", i, j)
		}
		rec["allowed_operations"] = []any{"start", "clone", "changing_NVRAM"}
		rec["other_config"] = map[string]any{"xenlab-lab": "lab"}
		rec["memory_static_max"] = int64(4 << 30)
		recs[fmt.Sprintf("OpaqueRef:%d", i)] = rec
	}
	data, err := MarshalResponse(map[string]any{"Status": "Success", "Value": recs})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := UnmarshalResponse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIntIsAnXMLRPCInt: Int goes as <int>, as xapi sends its int32 values.
func TestIntIsAnXMLRPCInt(t *testing.T) {
	data, err := MarshalResponse(map[string]any{"n": Int(7)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `<member><name>n</name><value><int>7</int></value></member>`) {
		t.Fatalf("Int encoded as %s", data)
	}
	v, err := UnmarshalResponse(data)
	if err != nil || v.(map[string]any)["n"] != int64(7) {
		t.Fatalf("decoded %v, %v", v, err)
	}
}

package xmlrpc

import (
	"strings"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		loginResponse,
		failureResponse,
		`<methodResponse><params><param><value><struct><member><name>a</name><value><i4>1</i4></value></member></struct></value></param></params></methodResponse>`,
		`<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member></struct></value></fault></methodResponse>`,
		`<methodCall><methodName>VM.start</methodName><params><param><value><string>OpaqueRef:x</string></value></param><param><value><boolean>0</boolean></value></param></params></methodCall>`,
		`<methodCall><methodName>event.from</methodName><params><param><value><array><data><value>vm</value></data></array></value></param><param><value><double>1.5</double></value></param><param><value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value></param><param><value><base64>aGk=</base64></value></param><param><value><nil/></value></param></params></methodCall>`,
		`<methodResponse><params><param><value><struct><member><name>a</name>`,
	} {
		f.Add([]byte(s))
	}
	// Replies built to cost the decoder much per byte (issue 11 defect
	// 10), small enough for a seed: each meets a bound or stays within it.
	for _, build := range hostileResponses(1 << 10) {
		f.Add(build())
	}
	f.Add([]byte(`<methodResponse><params><param><value>` + strings.Repeat("<array><data><value>", maxDepth+1)))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"latin1\"?><methodCall><methodName>m\xe9</methodName><params><param><value>\xff\x80</value></param></params></methodCall>"))
}

// FuzzUnmarshalResponse checks that no input panics or hangs the response
// decoder, and that whatever it accepts can be encoded and decoded again.
func FuzzUnmarshalResponse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := UnmarshalResponse(data)
		if err != nil {
			return
		}
		out, err := MarshalResponse(v)
		if err != nil {
			t.Fatalf("decoded %#v cannot be encoded: %v", v, err)
		}
		if _, err := UnmarshalResponse(out); err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", out, err)
		}
	})
}

// FuzzUnmarshalCall does the same for the call decoder.
func FuzzUnmarshalCall(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, params, err := UnmarshalCall(data)
		if err != nil {
			return
		}
		out, err := MarshalCall(m, params)
		if err != nil {
			t.Fatalf("decoded %q %#v cannot be encoded: %v", m, params, err)
		}
		if _, _, err := UnmarshalCall(out); err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", out, err)
		}
	})
}

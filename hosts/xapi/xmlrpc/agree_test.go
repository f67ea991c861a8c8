package xmlrpc

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"testing/iotest"
)

// xmlSeeds exercise the XML the decoder reads itself rather than through
// encoding/xml: entities, CDATA, comments, processing instructions,
// directives, attributes, prefixes, CR LF, encodings, bad UTF-8 and
// characters XML forbids.
var xmlSeeds = []string{
	"<?xml version='1.0'?>\r\n<methodResponse><params><param><value>a&lt;b&#x41;&#66;&amp;&quot;&apos;&gt;\r\nc\rd</value></param></params></methodResponse>",
	`<methodResponse><params><param><value><string><![CDATA[<x>&amp;]]]]><![CDATA[>]]></string></value></param></params></methodResponse>`,
	`<!-- c --><?pi data?><!DOCTYPE methodResponse [<!ENTITY x "y"> <!-- > -->]><methodResponse a="1" b='&lt;2'><params><param><value>x<!--y-->z<?p q?></value></param></params></methodResponse><!-- end -->`,
	`<x:methodResponse xmlns:x="u"><x:params><x:param><x:value><x:int> 7 </x:int></x:value></x:param></x:params></x:methodResponse>`,
	`<methodResponse><params><param><value><x:int>7</y:int></value></param></params></methodResponse>`,
	"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodResponse><params><param><value>\xe9\xff</value></param></params></methodResponse>",
	"<?xml version=\"1.0\" encoding=\"utf8\"?><methodResponse><params><param><value>\xc3\xa9</value></param></params></methodResponse>",
	"<?xml version=\"1.1\"?><methodResponse/>",
	"<methodResponse><params><param><value>\xff</value></param></params></methodResponse>",
	"<methodResponse><params><param><value>\x01</value></param></params></methodResponse>",
	"<methodResponse><params><param><value>&#0;&#xD800;</value></param></params></methodResponse>",
	"<methodResponse><params><param><value>]]></value></param></params></methodResponse>",
	"<methodResponse><params><param><value a=\"]]>\" b=x>v</value></param></params></methodResponse>",
	"<methodResponse>\u00a0<params><param><value><struct><member><value>1</value><name>n</name></member></struct></value></param></params></methodResponse>",
	"<méthode/>",
	"<methodCall><methodName>m</methodName><params><param><value><array><data/></array></value></param><param><value><struct/></value></param></params></methodCall>",
	// As Python's xmlrpclib spells them, whitespace between elements.
	"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n<member>\n<name>Status</name>\n<value><string>Success</string></value>\n</member>\n<member>\n<name>Value</name>\n<value><array><data>\n<value><i4>1</i4></value>\n<value><boolean>0</boolean></value>\n<value><nil/></value>\n</data></array></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n",
	"<?xml version='1.0'?>\n<methodCall>\n<methodName>VM.get_record</methodName>\n<params>\n<param>\n<value><string>OpaqueRef:s</string></value>\n</param>\n<param>\n<value><string>OpaqueRef:v</string></value>\n</param>\n</params>\n</methodCall>\n",
	"<methodCall><methodName>m</methodName><params><param><value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value></param><param><value><base64>aGk</base64></value></param><param><value><double>-1e3</double></value></param></params></methodCall>",
}

// sameOutcome says whether two decodings agree: both refused (with a limit
// error naming the same limit, or both with other errors), or both
// decoded to equal values.
func sameOutcome(v1 any, err1 error, v2 any, err2 error) bool {
	if (err1 == nil) != (err2 == nil) {
		return false
	}
	if err1 != nil {
		var l1, l2 *LimitError
		var f1, f2 *Fault
		if errors.As(err1, &l1) != errors.As(err2, &l2) || l1 != nil && l1.Limit != l2.Limit {
			return false
		}
		if errors.As(err1, &f1) != errors.As(err2, &f2) || f1 != nil && *f1 != *f2 {
			return false
		}
		return true
	}
	return reflect.DeepEqual(v1, v2)
}

func agreeSeeds(f *testing.F) {
	fuzzSeeds(f)
	for _, s := range xmlSeeds {
		f.Add([]byte(s))
	}
}

// FuzzDecodersAgree holds the decoder to the reference built on
// encoding/xml (reference_test.go): on any input they accept and refuse
// the same (the same limit, when a limit), and decode to equal values;
// and reading the same bytes from a reader, one byte at a time, gives
// the same outcome again, as a call and as a response.
func FuzzDecodersAgree(f *testing.F) {
	agreeSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := refUnmarshalResponse(data)
		got, err := UnmarshalResponse(data)
		if !sameOutcome(want, wantErr, got, err) {
			t.Fatalf("response %q:\nreference %#v, %v\ndecoder   %#v, %v", data, want, wantErr, got, err)
		}
		streamed, err := DecodeResponse(iotest.OneByteReader(bytes.NewReader(data)), int64(len(data)))
		if !sameOutcome(want, wantErr, streamed, err) {
			t.Fatalf("response %q read from a reader:\nreference %#v, %v\ndecoder   %#v, %v", data, want, wantErr, streamed, err)
		}
		wm, wp, wantErr := refUnmarshalCall(data)
		gm, gp, err := UnmarshalCall(data)
		if !sameOutcome([]any{wm, wp}, wantErr, []any{gm, gp}, err) {
			t.Fatalf("call %q:\nreference %q %#v, %v\ndecoder   %q %#v, %v", data, wm, wp, wantErr, gm, gp, err)
		}
		sm, sp, err := DecodeCall(iotest.HalfReader(bytes.NewReader(data)), -1)
		var lim *LimitError
		if !errors.As(err, &lim) || lim.Limit != "memory" { // unsized, memory is bounded by what was read so far
			if !sameOutcome([]any{wm, wp}, wantErr, []any{sm, sp}, err) {
				t.Fatalf("call %q read from a reader:\nreference %q %#v, %v\ndecoder   %q %#v, %v", data, wm, wp, wantErr, sm, sp, err)
			}
		}
	})
}

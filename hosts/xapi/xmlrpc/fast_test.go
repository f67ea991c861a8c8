package xmlrpc

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
)

// TestFastPathGivesUpToTheTokenPath: replies the fast path reads whole,
// and replies it must hand to the token path part way (a comment, CDATA,
// an attribute, a prefix, spaces in a tag, a limit, a truncation, a
// value longer than its span), decode as the reference decoder decodes
// them, from memory and streamed (one byte at a time, and in halves
// without a size, which keeps the fast path off); and the fast path ran
// to the end where it should, and gave up where it should.
func TestFastPathGivesUpToTheTokenPath(t *testing.T) {
	records := string(vmRecordsReply(30)) // about 200 KB: longer than fastSpan
	pretty := regexp.MustCompile(`><`).ReplaceAllString(records, ">\n <")
	pretty = strings.Replace(pretty, "<value>\n <", "<value><", -1) // text in a value is the value's
	nth := func(s, sub string, n int) int {
		at := 0
		for range n {
			i := strings.Index(s[at:], sub)
			if i < 0 {
				t.Fatalf("no %d %q", n, sub)
			}
			at += i + len(sub)
		}
		return at - len(sub)
	}
	insert := func(s string, at int, what string) string { return s[:at] + what + s[at:] }
	deep := `<methodResponse><params><param><value>` + strings.Repeat(`<array><data><value>`, maxDepth+1)
	cases := []struct {
		name     string
		data     string
		fastToo  bool // the fast path reads it to the end, from memory
		gaveUpAt int  // when not, the offset it reached, or -1 for any
	}{
		{"xapi's spelling", records, true, 0},
		{"xmlrpclib's spelling, whitespace between elements", pretty, true, 0},
		{"a comment in the 20th record", insert(records, nth(records, "<member>", 20*68), "<!-- x -->"), false, nth(records, "<member>", 20*68)},
		{"CDATA in a string", strings.Replace(records, "<value>pygrub</value>", "<value><string><![CDATA[pygrub]]></string></value>", 1), false, -1},
		{"an attribute", strings.Replace(records, "<value><struct>", `<value><struct a="1">`, 2), false, -1},
		{"a prefix", strings.Replace(records, "<name>uuid</name>", "<x:name>uuid</x:name>", 1), false, -1},
		{"a space in an end tag", strings.Replace(records, "</member>", "</member >", 3), false, -1},
		{"entities", strings.Replace(records, "pygrub", "py&amp;gr&#x75;b", -1), true, 0},
		{"mixed text", strings.Replace(records, "<value>pygrub</value>", "<value>x<string>pygrub</string></value>", 1), false, -1},
		{"a name twice in a member", strings.Replace(records, "<name>uuid</name>", "<name>uuid</name><name>u</name>", 1), false, -1},
		{"too deep", deep, false, -1},
		{"truncated in a record", records[:nth(records, "<member>", 700)], false, -1},
		{"truncated after the root", strings.TrimSuffix(records, "\n") + "<", false, -1},
		{"trailing text", records + "x", false, -1},
		{"a call's spelling as a reply", `<methodCall><methodName>m</methodName><params></params></methodCall>`, false, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := []byte(c.data)
			want, wantErr := refUnmarshalResponse(data)
			p, err := newDecoder(data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.response()
			if !sameOutcome(want, wantErr, got, err) {
				t.Fatalf("from memory: reference %v, decoder %v", wantErr, err)
			}
			switch {
			case c.fastToo && p.fastFrom != 0:
				t.Errorf("the fast path gave up at offset %d", p.fastFrom-1)
			case !c.fastToo && p.fastFrom == 0:
				t.Errorf("the fast path never gave up")
			case c.gaveUpAt > 0 && p.fastFrom-1 != int64(c.gaveUpAt):
				t.Errorf("the fast path gave up at offset %d, want %d", p.fastFrom-1, c.gaveUpAt)
			}
			if wantErr == nil && c.fastToo {
				t.Logf("%d bytes, %d values", len(data), p.values)
			}
			for _, r := range []struct {
				name string
				r    func() (any, error)
			}{
				{"one byte at a time", func() (any, error) {
					return DecodeResponse(iotest.OneByteReader(bytes.NewReader(data)), int64(len(data)))
				}},
				{"in halves, unsized", func() (any, error) {
					return DecodeResponse(iotest.HalfReader(bytes.NewReader(data)), -1)
				}},
			} {
				got, err := r.r()
				if !sameOutcome(want, wantErr, got, err) {
					t.Errorf("%s: reference %v, decoder %v", r.name, wantErr, err)
				}
			}
		})
	}
}

// TestStreamedFastPathHoldsItsSpan: streamed, a reply far longer than
// fastSpan is decoded (by the token path at its top and the fast path
// within) with a buffer that stays near the span, not the reply's size.
func TestStreamedFastPathHoldsItsSpan(t *testing.T) {
	data := vmRecordsReply(100) // about 700 KB
	p, err := newStreamDecoder(iotest.HalfReader(bytes.NewReader(data)), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	w := &bufWatcher{r: p.r, p: p}
	p.r = w
	if _, err := p.response(); err != nil {
		t.Fatal(err)
	}
	if w.most > 4*fastSpan {
		t.Errorf("the buffer grew to %d bytes for a %d-byte reply (span %d)", w.most, len(data), fastSpan)
	}
	if p.fastFrom == 0 {
		t.Errorf("the fast path never gave up its span")
	}
}

// bufWatcher reads through r and notes the largest buffer p has had.
type bufWatcher struct {
	r    io.Reader
	p    *scanner
	most int
}

func (w *bufWatcher) Read(b []byte) (int, error) {
	w.most = max(w.most, cap(w.p.buf))
	return w.r.Read(b)
}

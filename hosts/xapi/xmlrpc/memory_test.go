package xmlrpc

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// hostileResponses are replies within MaxMessageSize built to cost the
// decoder as much memory as possible per byte, each about size bytes.
func hostileResponses(size int) map[string]func() []byte {
	wrap := func(head, unit, tail string) func() []byte {
		return func() []byte {
			var b bytes.Buffer
			b.Grow(size + len(head) + len(unit) + len(tail))
			b.WriteString(head)
			for b.Len() < size {
				b.WriteString(unit)
			}
			b.WriteString(tail)
			return b.Bytes()
		}
	}
	const arr = `<methodResponse><params><param><value><array><data>`
	const arrEnd = `</data></array></value></param></params></methodResponse>`
	latin1 := wrap(`<?xml version="1.0" encoding="ISO-8859-1"?><methodResponse><params><param><value><string>`, strings.Repeat("\xe9", 4096), `</string></value></param></params></methodResponse>`)
	return map[string]func() []byte{
		"ISO-8859-1 string":  latin1,
		"empty structs":      wrap(arr, `<value><struct/></value>`, arrEnd),
		"empty values":       wrap(arr, `<value/>`, arrEnd),
		"empty arrays":       wrap(arr, `<value><array/></value>`, arrEnd),
		"one-member structs": wrap(arr, `<value><struct><member><name/><value/></member></struct></value>`, arrEnd),
		"entities":           wrap(arr+`<value>`, `&#x10000;`, `</value>`+arrEnd),
		"one big string":     wrap(arr+`<value>`, strings.Repeat("x", 4096), `</value>`+arrEnd),
	}
}

// TestDecoderMemoryIsBoundedBySize: a reply either decodes within a small
// multiple of its size, counted as bytes allocated while decoding (the
// garbage too) and bytes the result keeps, or is refused with a
// *LimitError naming the limit.
func TestDecoderMemoryIsBoundedBySize(t *testing.T) {
	const size = 4 << 20
	for name, build := range hostileResponses(size) {
		t.Run(name, func(t *testing.T) {
			data := build()
			var m0, m1, m2 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			v, err := UnmarshalResponse(data)
			runtime.ReadMemStats(&m1)
			runtime.GC()
			runtime.ReadMemStats(&m2)
			runtime.KeepAlive(v)
			runtime.KeepAlive(data)
			allocated := float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(data))
			kept := float64(int64(m2.HeapAlloc)-int64(m0.HeapAlloc)) / float64(len(data))
			t.Logf("%d bytes: allocated %.1fx, kept %.1fx its size, err %v", len(data), allocated, kept, err)
			var lim *LimitError
			if err != nil && !errors.As(err, &lim) {
				t.Fatalf("want a decoded value or a *LimitError, got %v", err)
			}
			if limit := float64(memoryFactor*len(data)+memorySlack) / float64(len(data)); kept > limit {
				t.Fatalf("the decoded value keeps %.1fx the message's size, want at most %.1fx", kept, limit)
			}
			if allocated > maxAllocated {
				t.Fatalf("decoding allocated %.1fx the message's size, want at most %dx", allocated, maxAllocated)
			}
		})
	}
}

// maxAllocated bounds what decoding may allocate in all, short-lived
// garbage included, as a multiple of the message's size. encoding/xml's
// tokenizer alone allocates 12-25 times its input on element-dense text
// (two strings per tag); this catches a regression beyond that.
const maxAllocated = 30

// TestDecoderLimitsSayWhichLimit: each bound is an error naming it.
func TestDecoderLimitsSayWhichLimit(t *testing.T) {
	const fewValues = 1000
	values := `<methodResponse><params><param><value><array><data>` + strings.Repeat(`<value>x</value>`+strings.Repeat(" ", 64), fewValues) +
		`</data></array></value></param></params></methodResponse>`
	deep := `<methodResponse><params><param><value>` + strings.Repeat("<array><data><value>", maxDepth+1)
	memory := `<methodResponse><params><param><value><array><data>` + strings.Repeat(`<value><struct><member><name/><value/></member></struct></value>`, 100000) +
		`</data></array></value></param></params></methodResponse>`
	defer func(n int) { maxValues = n }(maxValues)
	for limit, msg := range map[string]string{"values": values, "depth": deep, "memory": memory} {
		maxValues = 1 << 20
		if limit == "values" {
			maxValues = fewValues - 1
		}
		_, err := UnmarshalResponse([]byte(msg))
		var lim *LimitError
		if !errors.As(err, &lim) || lim.Limit != limit {
			t.Errorf("%s: got %v, want a *LimitError for %s", limit, err, limit)
			continue
		}
		t.Log(err)
		if _, _, err := UnmarshalCall([]byte(strings.Replace(strings.Replace(msg, "<methodResponse>", "<methodCall><methodName>m</methodName>", 1), "</methodResponse>", "</methodCall>", 1))); !errors.As(err, &lim) || lim.Limit != limit {
			t.Errorf("%s: the call decoder got %v", limit, err)
		}
	}
}

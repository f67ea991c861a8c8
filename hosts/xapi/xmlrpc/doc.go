// Package xmlrpc is the XML-RPC codec shared by xenlab's XAPI client and the
// simulated xapi server.
//
// Decoding is lenient the way real peers need: it accepts typed strings
// (<value><string>x</string></value>) and bare ones (<value>x</value>),
// <i4>, <int> and <i8>, <nil/>, whitespace and comments between elements, and
// datetimes in xapi's 20250319T04:16:24Z form as well as ISO 8601 variants
// with offsets or fractional seconds. It is strict where safety needs it:
// input is bounded by MaxMessageSize; each message's decoding by its
// nesting depth (100), its number of values (1,048,576), and an estimate of
// the memory the decoded values keep (4 times the message's size plus
// 1 MiB), so no reply costs more than a small multiple of its size; a bound
// reached is a *LimitError naming it. Malformed or truncated input is an
// error, never a panic or a hang.
//
// Decoded values are string, int64, bool, float64, time.Time, []byte, []any,
// map[string]any and nil.
//
// The decoder (scan.go) reads the bytes itself rather than through
// encoding/xml's tokens, and reads the XML encoding/xml's strict mode
// reads, refusing what it refuses: FuzzDecodersAgree holds it to a
// decoder built on encoding/xml (reference_test.go), and
// BenchmarkDecodeVMRecords compares the two. DecodeResponse and
// DecodeCall decode from a reader as they read, so a bound met (nesting
// first: it is checked as each <value> opens) stops the reading. Messages
// spelt as xapi and xmlrpclib spell them are read by a fast path (fast.go)
// that keeps the same bounds and hands anything else to the token reader,
// which decides; member names and short strings come from a small cache
// shared by all decoders. No decoded value shares memory with the input.
//
// Encoding follows xapi: strings are sent bare and XML-escaped, and integers
// are sent as decimal strings (xapi's int64 convention); booleans, doubles,
// datetimes, base64, arrays, structs and nil use their XML-RPC elements.
//
// xapi's result envelope ({Status, Value} or {Status, ErrorDescription}) is
// not handled here: the codec carries it as an ordinary struct.
package xmlrpc

import "fmt"

// Int is an integer sent as an XML-RPC <int>, where xapi sends one: its
// int32 values (event.from's valid_ref_counts), unlike its int64 fields,
// which go as decimal strings.
type Int int32

// MaxMessageSize is the largest message, in bytes, the decoders accept.
const MaxMessageSize = 64 << 20

// maxDepth bounds the nesting of <value> elements (arrays and structs), on
// decode and on encode, so hostile or cyclic input cannot exhaust the stack.
const maxDepth = 100

// maxValues bounds the number of <value> elements in one message. A
// one-host lab's largest reply (an event.from snapshot of every object)
// holds a few ten thousand.
var maxValues = 1 << 20 // a variable for tests

// The decoder's estimate of the memory a decoded message keeps is bounded
// by memoryFactor times the message's size plus memorySlack. Each value
// is charged valueCost bytes (its interface, its slot in an array or a
// map, a map's or slice's header) plus the bytes of its strings.
const (
	memoryFactor = 4
	memorySlack  = 1 << 20
	valueCost    = 64
)

// Fault is an XML-RPC <fault> response. xapi itself reports failures inside
// a successful response, so a Fault means the peer rejected the message at
// the protocol level.
type Fault struct {
	Code    int
	Message string
}

// Error implements error.
func (f *Fault) Error() string {
	return fmt.Sprintf("xmlrpc fault %d: %s", f.Code, f.Message)
}

// LimitError is a message the decoder refused because decoding it would
// cost more than its bounds allow: nesting depth, number of values, or
// memory relative to the message's size.
type LimitError struct {
	Limit string // "depth", "values" or "memory"
	Max   int64  // the bound that was reached
}

// Error implements error.
func (e *LimitError) Error() string {
	switch e.Limit {
	case "depth":
		return fmt.Sprintf("xmlrpc: values nested deeper than %d", e.Max)
	case "values":
		return fmt.Sprintf("xmlrpc: message holds more than %d values", e.Max)
	}
	return fmt.Sprintf("xmlrpc: decoding the message would take more than %d bytes of memory (the limit is %d times its size plus %d)", e.Max, memoryFactor, memorySlack)
}

// Package xapi is xenlab's own client for the XenServer/XCP-ng management API
// (xapi) over XML-RPC.
//
// A Client holds one session per host: Dial logs in once, Close logs out, and
// a call that fails with SESSION_INVALID logs in again once and is retried
// once. Every call takes a context.Context, the client is safe for
// concurrent use, and it counts its HTTP round trips.
//
// HTTPS is verified normally, or, only when Options.Fingerprint is given, by
// pinning the SHA-256 of the host's leaf certificate (for self-signed hosts).
// There is no mode that skips verification. HTTP redirects are never
// followed (*RedirectError): xapi does not redirect its clients.
//
// The TCP connect, the TLS handshake and each login or logout have bounds
// of their own (Options.DialTimeout, TLSHandshakeTimeout, LoginTimeout), so
// a silent host fails the login in seconds (*TimeoutError); other calls are
// bounded by Options.Timeout, and the caller's context bounds everything.
// Errors never quote a reply body; a failed login never describes the
// reply's content and withholds anything that may quote the password.
//
// WaitFor waits on event.from; it re-syncs once on EVENTS_LOST and backs
// off when a batch comes back early with nothing new.
//
// xapi failures are returned as *Error, with the code and every parameter,
// for use with errors.As; transport failures (connection, HTTP status,
// undecodable replies) are *TransportError. Records decode into Go structs
// whose enum fields are plain strings, so an enum value newer than this code
// (such as changing_NVRAM) never fails a record.
package xapi

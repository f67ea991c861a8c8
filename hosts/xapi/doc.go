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
// Calls go over HTTP/1.1 connections of the client's own, kept alive
// between calls as Python's xmlrpclib keeps them with xapi (at most 32,
// none idle longer than 90 s): each call writes its request and reads its
// reply on the caller's goroutine, bounded by a deadline on the connection
// (wire.go). net/http carries the calls
// instead when Options.HTTPClient is given, when a proxy from the
// environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) applies to the endpoint,
// or when its host name is not ASCII (net/http uses its punycode form).
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

package xapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes xenlab handles, as xapi sends them in ErrorDescription[0]
// (ocaml/idl/datamodel_errors.ml).
const (
	CodeHandleInvalid                 = "HANDLE_INVALID"                   // [class, ref]
	CodeUUIDInvalid                   = "UUID_INVALID"                     // [class, uuid]
	CodeMapDuplicateKey               = "MAP_DUPLICATE_KEY"                // [class, field, ref, key]
	CodeMessageMethodUnknown          = "MESSAGE_METHOD_UNKNOWN"           // [method]
	CodeMessageParameterCountMismatch = "MESSAGE_PARAMETER_COUNT_MISMATCH" // [method, expected, received]
	CodeSessionAuthenticationFailed   = "SESSION_AUTHENTICATION_FAILED"    // [user, message]
	CodeSessionInvalid                = "SESSION_INVALID"                  // [ref]
	CodeVMBadPowerState               = "VM_BAD_POWER_STATE"               // [vm, expected, actual]
	CodeVMIsTemplate                  = "VM_IS_TEMPLATE"                   // [vm, op]
	CodeOperationNotAllowed           = "OPERATION_NOT_ALLOWED"            // [reason]
	CodeDeviceAlreadyExists           = "DEVICE_ALREADY_EXISTS"            // [device]
	CodeDeviceAlreadyAttached         = "DEVICE_ALREADY_ATTACHED"          // [vif]
	CodeDeviceAlreadyDetached         = "DEVICE_ALREADY_DETACHED"          // [vif]
	CodeInvalidDevice                 = "INVALID_DEVICE"                   // [device]
	CodeMACInvalid                    = "MAC_INVALID"                      // [mac]
	CodeNetworkContainsVIF            = "NETWORK_CONTAINS_VIF"             // [vifs...]
	CodeNetworkContainsPIF            = "NETWORK_CONTAINS_PIF"             // [pifs...]
	CodeBridgeNotAvailable            = "BRIDGE_NOT_AVAILABLE"             // [bridge]
	CodeVLANTagInvalid                = "VLAN_TAG_INVALID"                 // [vlan]
	CodeXenAPIPluginFailure           = "XENAPI_PLUGIN_FAILURE"            // [status, stdout, stderr]
	CodeUnknownXenAPIPluginFunction   = "UNKNOWN_XENAPI_PLUGIN_FUNCTION"   // [fn]
	CodeXenAPIMissingPlugin           = "XENAPI_MISSING_PLUGIN"            // [plugin]
	CodeVMNotResidentHere             = "VM_NOT_RESIDENT_HERE"             // [vm, host]
	CodeOtherOperationInProgress      = "OTHER_OPERATION_IN_PROGRESS"      // [class, ref]
	CodeVMHostIncompatibleVersion     = "VM_HOST_INCOMPATIBLE_VERSION"     // [host, vm]
	CodeHostNotEnoughFreeMemory       = "HOST_NOT_ENOUGH_FREE_MEMORY"      // [needed, available]
	CodeSRFull                        = "SR_FULL"                          // [requested, maximum]
	CodePermissionDenied              = "PERMISSION_DENIED"                // [message]
	CodeInternalError                 = "INTERNAL_ERROR"                   // [message]
	CodeTaskCancelled                 = "TASK_CANCELLED"                   // [task]
)

// Error is a failure reported by xapi: {Status: Failure, ErrorDescription:
// [Code, Params...]}. Code is empty when xapi sent no ErrorDescription.
type Error struct {
	Code   string
	Params []string
	Method string // the XML-RPC method that failed
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("xapi %s: failed without an ErrorDescription", e.Method)
	}
	if len(e.Params) == 0 {
		return fmt.Sprintf("xapi %s: %s", e.Method, e.Code)
	}
	return fmt.Sprintf("xapi %s: %s [%s]", e.Method, e.Code, strings.Join(e.Params, ", "))
}

// Param returns the i-th parameter, or "" when xapi sent fewer.
func (e *Error) Param(i int) string {
	if i < 0 || i >= len(e.Params) {
		return ""
	}
	return e.Params[i]
}

// HasCode reports whether err is, or wraps, an *Error with the given code.
func HasCode(err error, code string) bool {
	var xe *Error
	return errors.As(err, &xe) && xe.Code == code
}

// TransportError is a failure to exchange a call with xapi: connection and
// TLS errors, an HTTP status other than 200, or a reply that is not a
// well-formed xapi response. It never carries the password.
type TransportError struct {
	Method     string
	URL        string // the endpoint, without credentials
	StatusCode int    // the HTTP status, or 0 when none was received
	Err        error
}

// Error implements error.
func (e *TransportError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("xapi %s at %s: HTTP %d: %v", e.Method, e.URL, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("xapi %s at %s: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the underlying error (context.Canceled, a *xmlrpc.Fault,
// a net or TLS error, ...).
func (e *TransportError) Unwrap() error { return e.Err }

// ErrClosed is returned by calls on a Client after Close.
var ErrClosed = errors.New("xapi: client is closed")

// RedirectError is an HTTP redirect from the endpoint. xapi never redirects
// a client of its own host, so xenlab refuses every redirect: it sends
// nothing to the Location, neither the login nor a session reference.
type RedirectError struct {
	StatusCode int
	Location   string // the redirect's target, resolved, without credentials
}

// Error implements error.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("refusing an HTTP %d redirect to %s: xapi does not redirect its clients (check the URL, or a proxy in between)", e.StatusCode, e.Location)
}

// TimeoutError is a round trip that got no complete answer within one of
// the client's own bounds (not the caller's context).
type TimeoutError struct {
	Phase string // "connect", "login", "logout" or "call"
	After time.Duration
}

// Error implements error.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no answer within %s (the %s timeout)", e.After, e.Phase)
}

// Timeout reports true, as a net.Error does.
func (e *TimeoutError) Timeout() bool { return true }

// Unwrap makes errors.Is(err, context.DeadlineExceeded) true.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

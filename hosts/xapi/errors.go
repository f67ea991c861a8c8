package xapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"syscall"
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
	// Transition is set on a VM_BAD_POWER_STATE that came during a
	// concurrent transition of the VM: what the client saw when it read
	// the VM right after (see Transient).
	Transition string
}

// Transient reports whether xapi says the call may succeed if tried again
// (provision.IsTransient reads it), which is exactly:
//
//   - OTHER_OPERATION_IN_PROGRESS: another operation holds the object and
//     nothing was done; xapi's own helpers retry it as a "transient
//     failure" (ocaml/xapi/helpers.ml, retry; datamodel_errors.ml: "Another
//     operation involving the object is currently in progress").
//   - VM_BAD_POWER_STATE during a concurrent transition: xapi checks a VM's
//     power state before its current operations
//     (xapi_vm_lifecycle.ml, check_operation_error: "Always check the power
//     state constraint of the operation first"), so an operation on a VM
//     another one is shutting down or starting fails with the state the VM
//     is leaving. The client tells it from a VM in the wrong state by
//     reading the VM right after: an operation still in progress on it, or
//     a power state other than the one the error reported (see Transition).
//
// Every other code is permanent: trying again would fail the same way.
func (e *Error) Transient() bool {
	switch e.Code {
	case CodeOtherOperationInProgress:
		return true
	case CodeVMBadPowerState:
		return e.Transition != ""
	}
	return false
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("xapi %s: failed without an ErrorDescription", e.Method)
	}
	msg := fmt.Sprintf("xapi %s: %s", e.Method, e.Code)
	if len(e.Params) > 0 {
		msg += " [" + strings.Join(e.Params, ", ") + "]"
	}
	if e.Transition != "" {
		msg += " (" + e.Transition + ")"
	}
	return msg
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

// Transient reports whether trying the call again is safe and may
// succeed (provision.IsTransient reads it): the connection was reset or
// closed before a whole answer came, and the call only reads (see
// IsRead). A write that lost its answer may have been done (a second
// VM.clone would make a second VM), so it is never transient: the step
// fails, and the next run reads what the host has.
func (e *TransportError) Transient() bool {
	return IsRead(e.Method) && connectionLost(e.Err)
}

// connectionLost reports whether err is a connection reset, aborted or
// closed under a call (the server or something between went away).
func connectionLost(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// IsRead reports whether an xapi method only reads, so calling it twice
// is the same as once: a class's get_* messages (get_record, get_all,
// get_by_uuid, a field's getter) and event.from/event.next, whose token
// makes a repeat see the same changes.
func IsRead(method string) bool {
	switch method {
	case "event.from", "event.next", "system.listMethods":
		return true
	}
	_, msg, ok := strings.Cut(method, ".")
	return ok && !strings.HasPrefix(method, "Async.") && strings.HasPrefix(msg, "get_")
}

// vmTransition fills in e.Transition when e is a VM_BAD_POWER_STATE of a
// VM operation and the VM, read now, is in or just out of a transition:
// an operation in progress on it, or a power state other than the one the
// error reported. It costs one read, only on that error.
func (c *Client) vmTransition(ctx context.Context, e *Error) {
	if e.Code != CodeVMBadPowerState || !strings.HasPrefix(strings.TrimPrefix(e.Method, "Async."), "VM.") || ctx.Err() != nil {
		return
	}
	vm, actual := Ref(e.Param(0)), e.Param(2)
	if vm == "" {
		return
	}
	rec, err := c.VMGetRecord(ctx, vm)
	if err != nil {
		return // no answer is no evidence of a transition
	}
	ops := slices.Sorted(maps.Values(rec.CurrentOperations))
	switch {
	case len(ops) > 0:
		e.Transition = fmt.Sprintf("the VM is %s with %s in progress", strings.ToLower(rec.PowerState), strings.Join(ops, ", "))
	case actual != "" && !strings.EqualFold(rec.PowerState, actual):
		e.Transition = fmt.Sprintf("the VM was %s and is %s now", strings.ToLower(actual), strings.ToLower(rec.PowerState))
	}
}

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
	Phase string // "connect", "TLS handshake", "login", "logout" or "call"
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

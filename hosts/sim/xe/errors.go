package xe

import (
	"fmt"
	"io"
	"strings"
)

// errorDocs are the descriptions and parameter names xapi's datamodel
// gives the errors the simulator raises (xen-api ocaml/idl/datamodel.ml,
// tag XS62), which xe prints for a failed call. An error the 6.2
// datamodel does not describe is printed as newcli prints an unknown one:
// "Error code:" and "Error parameters:".
var errorDocs = map[string]struct {
	doc    string
	params []string
}{
	"INTERNAL_ERROR": {"The server failed to handle your request, due to an internal error.  The given message may give details useful for debugging the problem.", []string{"message"}},
	"HANDLE_INVALID": {"You gave an invalid object reference.  The object may have recently been deleted.  The class parameter gives the type of reference given, and the handle parameter echoes the bad value given.", []string{"class", "handle"}},
	"UUID_INVALID":   {"The uuid you supplied was invalid.", []string{"type", "uuid"}},
	"MAP_DUPLICATE_KEY": {"You tried to add a key-value pair to a map, but that key is already there.",
		[]string{"type", "param_name", "uuid", "key"}},
	"MESSAGE_METHOD_UNKNOWN": {"You tried to call a method that does not exist.  The method name that you used is echoed.", []string{"method"}},
	"MESSAGE_PARAMETER_COUNT_MISMATCH": {"You tried to call a method with the incorrect number of parameters.  The fully-qualified method name that you used, and the number of received and expected parameters are returned.",
		[]string{"method", "expected", "received"}},
	"INVALID_VALUE":         {"The value given is invalid", []string{"field", "value"}},
	"FIELD_TYPE_ERROR":      {"The value specified is of the wrong type", []string{"field"}},
	"OPERATION_NOT_ALLOWED": {"You attempted an operation that was not allowed.", []string{"reason"}},
	"OPERATION_BLOCKED":     {"You attempted an operation that was explicitly blocked (see the blocked_operations field of the given object).", []string{"ref", "code"}},
	"SESSION_INVALID": {"You gave an invalid session reference.  It may have been invalidated by a server restart, or timed out.  You should get a new session handle, using one of the session.login_ calls.  This error does not invalidate the current connection.  The handle parameter echoes the bad value given.",
		[]string{"handle"}},
	"NETWORK_CONTAINS_VIF": {"The network contains active VIFs and cannot be deleted.", []string{"vifs"}},
	"NETWORK_CONTAINS_PIF": {"The network contains active PIFs and cannot be deleted.", []string{"pifs"}},
	"MAC_INVALID":          {"The MAC address specified is not valid.", []string{"MAC"}},
	"VM_BAD_POWER_STATE": {"You attempted an operation on a VM that was not in an appropriate power state at the time; for example, you attempted to start a VM that was already running.  The parameters returned are the VM's handle, and the expected and actual VM state at the time of the call.",
		[]string{"vm", "expected", "actual"}},
	"VM_IS_TEMPLATE":              {"The operation attempted is not valid for a template VM", []string{"vm"}},
	"OTHER_OPERATION_IN_PROGRESS": {"Another operation involving the object is currently in progress", []string{"class", "object"}},
	"VDI_IN_USE":                  {"This operation cannot be performed because this VDI is in use by some other operation", []string{"vdi", "operation"}},
	"DEVICE_ALREADY_ATTACHED":     {"The device is already attached to a VM", []string{"device"}},
	"DEVICE_ALREADY_DETACHED":     {"The device is not currently attached", []string{"device"}},
	"DEVICE_ALREADY_EXISTS":       {"A device with the name given already exists on the selected VM", []string{"device"}},
	"INVALID_DEVICE":              {"The device name is invalid", []string{"device"}},
	"XENAPI_MISSING_PLUGIN":       {"The requested plugin could not be found.", []string{"name"}},
	"XENAPI_PLUGIN_FAILURE":       {"There was a failure communicating with the plugin.", []string{"status", "stdout", "stderr"}},
	"EVENT_FROM_TOKEN_PARSE_FAILURE": {"The event.from token could not be parsed. Valid values include: '', and a value returned from a previous event.from call.",
		[]string{"token"}},
}

// refClasses are where a reference in an error is looked up to show its
// uuid (cli_util.ml ref_convert).
var refClasses = []string{"VM", "VIF", "network", "VDI", "VBD", "SR", "host", "PIF", "pool", "task"}

func (s *state) refConvert(p string) string {
	if !strings.HasPrefix(p, "OpaqueRef:") || p == "OpaqueRef:NULL" {
		return p
	}
	for _, class := range refClasses {
		if r, ok := s.lookup(class, p); ok {
			return str(r["uuid"])
		}
	}
	return p
}

// serverError prints a failed call as cli_util.ml server_error does.
func serverError(s *state, w io.Writer, code string, params []string) {
	conv := make([]string, len(params))
	for i, p := range params {
		conv[i] = s.refConvert(p)
	}
	d, ok := errorDocs[code]
	if !ok {
		fmt.Fprintf(w, "Error code: %s\n", code)
		fmt.Fprintf(w, "Error parameters: %s\n", strings.Join(conv, ", "))
		return
	}
	fmt.Fprintln(w, d.doc)
	n := max(len(d.params), len(conv))
	for i := 0; i < n; i++ {
		name, val := "<extra>", "<unknown>"
		if i < len(d.params) {
			name = d.params[i]
		}
		if i < len(conv) {
			val = conv[i]
		}
		fmt.Fprintf(w, "%s: %s\n", name, val)
	}
}

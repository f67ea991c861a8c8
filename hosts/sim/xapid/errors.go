package xapid

import "strings"

// Error codes the simulator returns, spelled as xapi's datamodel_errors.ml
// spells them. Parameter orders are documented where they are built.
const (
	ErrHandleInvalid               = "HANDLE_INVALID"
	ErrUUIDInvalid                 = "UUID_INVALID"
	ErrMapDuplicateKey             = "MAP_DUPLICATE_KEY"
	ErrMessageMethodUnknown        = "MESSAGE_METHOD_UNKNOWN"
	ErrMessageParameterCount       = "MESSAGE_PARAMETER_COUNT_MISMATCH"
	ErrSessionAuthenticationFailed = "SESSION_AUTHENTICATION_FAILED"
	ErrSessionInvalid              = "SESSION_INVALID"
	ErrVMBadPowerState             = "VM_BAD_POWER_STATE"
	ErrVMIsTemplate                = "VM_IS_TEMPLATE"
	ErrVMIsSnapshot                = "VM_IS_SNAPSHOT"
	ErrOperationNotAllowed         = "OPERATION_NOT_ALLOWED"
	ErrOperationBlocked            = "OPERATION_BLOCKED"
	ErrOtherOperationInProgress    = "OTHER_OPERATION_IN_PROGRESS"
	ErrOnlyProvisionTemplate       = "PROVISION_ONLY_ALLOWED_ON_TEMPLATE"
	ErrOnlyRevertSnapshot          = "REVERT_ONLY_ALLOWED_ON_SNAPSHOT"
	ErrDeviceAlreadyExists         = "DEVICE_ALREADY_EXISTS"
	ErrDeviceAlreadyAttached       = "DEVICE_ALREADY_ATTACHED"
	ErrDeviceAlreadyDetached       = "DEVICE_ALREADY_DETACHED"
	ErrInvalidDevice               = "INVALID_DEVICE"
	ErrMACInvalid                  = "MAC_INVALID"
	ErrNetworkContainsVIF          = "NETWORK_CONTAINS_VIF"
	ErrNetworkContainsPIF          = "NETWORK_CONTAINS_PIF"
	ErrBridgeNotAvailable          = "BRIDGE_NOT_AVAILABLE"
	ErrBridgeNameExists            = "BRIDGE_NAME_EXISTS"
	ErrInvalidValue                = "INVALID_VALUE"
	ErrFieldTypeError              = "FIELD_TYPE_ERROR"
	ErrMemoryConstraintViolation   = "MEMORY_CONSTRAINT_VIOLATION"
	ErrMissingPlugin               = "XENAPI_MISSING_PLUGIN"
	ErrPluginFailure               = "XENAPI_PLUGIN_FAILURE"
	ErrUnknownPluginFunction       = "UNKNOWN_XENAPI_PLUGIN_FUNCTION"
	ErrInternalError               = "INTERNAL_ERROR"
	ErrSRHasNoPBDs                 = "SR_HAS_NO_PBDS"
	ErrVDIInUse                    = "VDI_IN_USE"
	ErrHostNotEnoughFreeMemory     = "HOST_NOT_ENOUGH_FREE_MEMORY" // [needed, available]
)

// APIError is a xapi failure: the ErrorDescription list [code, params...].
type APIError struct {
	Code   string
	Params []string
}

func (e *APIError) Error() string {
	if len(e.Params) == 0 {
		return e.Code
	}
	return e.Code + " [" + strings.Join(e.Params, "; ") + "]"
}

// Description is the ErrorDescription array sent on the wire.
func (e *APIError) Description() []string {
	return append([]string{e.Code}, e.Params...)
}

func apiErr(code string, params ...string) *APIError {
	return &APIError{Code: code, Params: params}
}

// handleInvalid is HANDLE_INVALID [class, ref].
func handleInvalid(class, ref string) *APIError { return apiErr(ErrHandleInvalid, class, ref) }

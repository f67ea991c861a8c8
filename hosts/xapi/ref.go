package xapi

// Ref is an xapi object reference, such as "OpaqueRef:0b5e...".
type Ref string

// NullRef is xapi's null reference.
const NullRef Ref = "OpaqueRef:NULL"

// IsNull reports whether r refers to no object ("" or OpaqueRef:NULL).
func (r Ref) IsNull() bool { return r == "" || r == NullRef }

// String implements fmt.Stringer.
func (r Ref) String() string { return string(r) }

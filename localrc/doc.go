// Package localrc reads xenlab's lab file: an HCL description of a devstack
// (Quantum/Neutron on XenServer) lab that replaces the bash localrc and xenrc
// of devstack's tools/xen.
//
// Load and Parse decode the file with gohcl, fill in devstack's defaults,
// validate every field and the relations between them, and return a typed
// Config or a *DiagError whose diagnostics carry file:line:col ranges sorted
// by position. Import converts a classic bash localrc into a lab file.
package localrc

package xapid

import (
	"fmt"
	"slices"
	"strings"
)

// Release is a XenServer version the simulated host poses as: what its
// host record reports (software_version, API version) and which Python
// dom0 runs plugins under. docs/simulator.md lists the differences and
// where they were read.
type Release struct {
	// Name is the short version xenlab's options take: "6.2", "7.1", "8.2".
	Name string
	// ProductBrand and ProductVersion are software_version's product_brand
	// and product_version ("XenServer", "6.2.0").
	ProductBrand, ProductVersion string
	// BuildNumber is software_version's build_number.
	BuildNumber string
	// APIMajor and APIMinor are host.API_version_major/minor: the API
	// version of the release in xen-api's datamodel (clearwater 2.0, ely
	// 2.6, stockholm 2.16).
	APIMajor, APIMinor int64
	// PlatformVersion, Xapi, Xen and Linux are the other software_version
	// entries that tell releases apart.
	PlatformVersion, Xapi, Xen, Linux, Date string
	// PythonMajor is the major version of dom0's `python`, which runs
	// plugins: 2 on every release modelled (CentOS 5's 2.4 on 6.x, CentOS
	// 7's 2.7 on 7.x and 8.2, whose XenAPIPlugin.py is Python 2 only; 8.2
	// also has a python3).
	PythonMajor int
	// DomPython is the version of dom0's python on a real host of that
	// release (the simulator uses what this machine has of that major).
	DomPython string
	// OVS is the Open vSwitch release dom0 runs, and SyncVMID whether its
	// ovs-xapi-sync writes an Interface's vm-id (Open vSwitch 1.7 and
	// later; xenserver/usr_share_openvswitch_scripts_ovs-xapi-sync).
	OVS      string
	SyncVMID bool
}

// API versions of the releases whose changes the simulator models
// (xen-api ocaml/idl/datamodel_common.ml): Falcon is XenServer 7.2, API
// 2.7.
const Falcon = 7

// Since reports whether the release's API (2.x) is at least that of
// minor, i.e. whether it has what that release brought.
func (r Release) Since(minor int64) bool { return r.APIMajor > 2 || r.APIMinor >= minor }

// DefaultRelease is the release a host poses as when none is chosen: the
// XenServer of the 2013 seed lab.
const DefaultRelease = "6.2"

// Releases are the versions the simulator can pose as, oldest first.
var Releases = []Release{
	{Name: "6.2", ProductBrand: "XenServer", ProductVersion: "6.2.0", BuildNumber: "70446c",
		APIMajor: 2, APIMinor: 0, PlatformVersion: "1.8.0", Xapi: "1.3", Xen: "4.1.5",
		Linux: "2.6.32.43-0.4.1.xs1.8.0.835.170778xen", Date: "2013-06-14", PythonMajor: 2, DomPython: "2.4.3",
		OVS: "1.4.6", SyncVMID: false},
	{Name: "7.1", ProductBrand: "XenServer", ProductVersion: "7.1.0", BuildNumber: "137272c",
		APIMajor: 2, APIMinor: 6, PlatformVersion: "2.2.0", Xapi: "1.9", Xen: "4.7.1-1-d",
		Linux: "4.4.0+2", Date: "2017-02-07", PythonMajor: 2, DomPython: "2.7.5",
		OVS: "2.5.3", SyncVMID: true},
	{Name: "8.2", ProductBrand: "Citrix Hypervisor", ProductVersion: "8.2.0", BuildNumber: "release/stockholm/master/7",
		APIMajor: 2, APIMinor: 16, PlatformVersion: "3.2.0", Xapi: "1.249", Xen: "4.13.1-9.9.1",
		Linux: "4.19.0+1", Date: "2020-05-22", PythonMajor: 2, DomPython: "2.7.5",
		OVS: "2.5.3", SyncVMID: true},
}

// LookupRelease finds a release by its short name ("6.2") or its product
// version ("6.2.0"); "" is DefaultRelease.
func LookupRelease(name string) (Release, error) {
	if name == "" {
		name = DefaultRelease
	}
	for _, r := range Releases {
		if r.Name == name || r.ProductVersion == name {
			return r, nil
		}
	}
	names := make([]string, len(Releases))
	for i, r := range Releases {
		names[i] = r.Name
	}
	return Release{}, fmt.Errorf("XenServer version %q is not one the simulator poses as (%s)", name, strings.Join(names, ", "))
}

// ReleaseNames are the short names of Releases, for help texts.
func ReleaseNames() []string {
	var out []string
	for _, r := range Releases {
		out = append(out, r.Name)
	}
	return slices.Clip(out)
}

// softwareVersion is host.software_version as the release reports it.
func (r Release) softwareVersion(hostname, networkBackend string) map[string]string {
	short := r.ProductVersion[:strings.LastIndex(r.ProductVersion, ".")]
	return map[string]string{
		"product_version": r.ProductVersion, "product_version_text": short, "product_version_text_short": short,
		"platform_name": "XCP", "platform_version": r.PlatformVersion, "product_brand": r.ProductBrand,
		"build_number": r.BuildNumber, "hostname": hostname, "date": r.Date,
		"xapi": r.Xapi, "xen": r.Xen, "linux": r.Linux,
		"network_backend": networkBackend,
		"xs:main":         r.ProductBrand + " Pack, version " + r.ProductVersion + ", build " + r.BuildNumber,
	}
}

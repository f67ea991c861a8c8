package localrc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// reader is where a lab-file field is read: a file of the repository
// (relative to its root) whose code uses selector (the end of a selector
// expression, "Timeouts.Boot", or a method that reads the field), and the
// test that shows the field changing what the lab does.
type reader struct {
	file, selector, test string
}

// readers ties every field of the lab file to the code that reads it.
// A field the schema has and this table lacks fails TestEveryFieldHasAReader:
// a new setting must be read by a step (and tested) or refused at load.
var readers = map[string][]reader{
	"lab": {{"steps/networks.go", "lab.Lab", "TestUpNoOpDownOnTheSimulatedHost"}},

	"host.xapi_url":              {{"hosts/hosts.go", "XAPIURL", "TestUpOnSimulatedHost"}, {"steps/agents.go", "XAPIURL", "TestGoldenAgentFiles"}},
	"host.xapi_user":             {{"hosts/hosts.go", "XAPIUser", "TestUpOnSimulatedHost"}},
	"host.xapi_password":         {{"hosts/hosts.go", "XAPIPassword", "TestUpOnSimulatedHost"}},
	"host.xapi_fingerprint":      {{"hosts/hosts.go", "XAPIFingerprint", "TestUpOnSimulatedHost"}},
	"host.ssh_host":              {{"localrc/config.go", "h.SSHHost", "TestUpOnSimulatedHost"}, {"hosts/hosts.go", "SSHAddr", "TestUpOnSimulatedHost"}},
	"host.ssh_port":              {{"localrc/config.go", "h.SSHPort", "TestUpOnSimulatedHost"}},
	"host.ssh_user":              {{"hosts/hosts.go", "SSHUser", "TestUpOnSimulatedHost"}},
	"host.ssh_key":               {{"hosts/hosts.go", "SSHKey", "TestUpOnSimulatedHost"}},
	"host.ssh_password":          {{"hosts/hosts.go", "SSHPassword", "TestPasswordOnlyWithoutAgent"}},
	"host.known_hosts":           {{"hosts/hosts.go", "KnownHosts", "TestUnknownHostNeedsAcceptNewWhichRecordsIt"}},
	"networks.vm":                {{"steps/networks.go", "Networks.VM", "TestEditsArePlannedAndApplied"}},
	"networks.public":            {{"steps/networks.go", "Networks.Public", "TestUpNoOpDownOnTheSimulatedHost"}},
	"networks.integration":       {{"steps/networks.go", "Networks.Integration", "TestUpNoOpDownOnTheSimulatedHost"}},
	"networks.management":        {{"steps/networks.go", "Networks.Management", "TestManagementBridgePicksTheManagementNetwork"}},
	"networks.management_bridge": {{"steps/networks.go", "Networks.ManagementBridge", "TestManagementBridgePicksTheManagementNetwork"}},
	"networks.integration_bridge": {{"steps/domu.go", "Networks.IntegrationBridge", "TestUpNoOpDownOnTheSimulatedHost"},
		{"steps/placeholder.go", "Networks.IntegrationBridge", "TestUpNoOpDownOnTheSimulatedHost"}},
	"networks.reuse_existing": {{"steps/networks.go", "Networks.ReuseExisting", "TestReuseExistingAdoptsTheOnlySameNamedNetwork"}},

	"domu.name":             {{"steps/domu.go", "DomU.Name", "TestEditsArePlannedAndApplied"}},
	"domu.memory":           {{"steps/domu.go", "DomU.Memory", "TestEditsArePlannedAndApplied"}, {"steps/preflight.go", "DomU.Memory", "TestMemoryBeyondTheHostIsRefusedBeforeDomUStops"}},
	"domu.vcpus":            {{"steps/domu.go", "DomU.VCPUs", "TestEditsArePlannedAndApplied"}},
	"domu.disk":             {{"steps/template.go", "DomU.Disk", "TestTemplateEditsRebuild"}, {"steps/installtemplate.go", "DomU.Disk", "TestTemplateEditsRebuild"}},
	"domu.xvdb_size":        {{"steps/domu.go", "DomU.XVDB", "TestEditsArePlannedAndApplied"}},
	"domu.template":         {{"steps/template.go", "DomU.Template", "TestTemplateEditsRebuild"}},
	"domu.rebuild_template": {{"steps/template.go", "DomU.RebuildTemplate", "TestTemplateEditsRebuild"}},
	"domu.template_from":    {{"steps/template.go", "DomU.TemplateFrom", "TestTemplateOfTheLabIsFoundByTagAndKeptUnlessPurged"}},
	"domu.password":         {{"steps/boot.go", "DomU.Password", "TestUpNoOpDownOnTheSimulatedHost"}},
	"domu.ssh_user":         {{"steps/agents.go", "DomU.SSHUser", "TestUpNoOpDownOnTheSimulatedHost"}},
	"domu.ssh_port":         {{"steps/boot.go", "DomU.SSHPort", "TestUpNoOpDownOnTheSimulatedHost"}},
	"domu.management_ip":    {{"steps/guestnet.go", "d.ManagementIP", "TestStaticAddressesReachDomU"}},
	"domu.vm_ip":            {{"steps/guestnet.go", "d.VMIP", "TestStaticAddressesReachDomU"}},
	"domu.public_ip":        {{"steps/guestnet.go", "d.PublicIP", "TestStaticAddressesReachDomU"}},
	"domu.devices.management": {{"steps/domu.go", "dev.Management", "TestUpNoOpDownOnTheSimulatedHost"},
		{"steps/boot.go", "Devices.Management", "TestStaticAddressesReachDomU"}},
	"domu.devices.vm":          {{"steps/domu.go", "dev.VM", "TestUpNoOpDownOnTheSimulatedHost"}, {"steps/guestnet.go", "Devices.VM", "TestStaticAddressesReachDomU"}},
	"domu.devices.public":      {{"steps/domu.go", "dev.Public", "TestUpNoOpDownOnTheSimulatedHost"}, {"steps/guestnet.go", "Devices.Public", "TestStaticAddressesReachDomU"}},
	"domu.devices.integration": {{"steps/domu.go", "dev.Integration", "TestUpNoOpDownOnTheSimulatedHost"}},
	"domu.ubuntu.release":      {{"steps/installtemplate.go", "u.Release", "TestInstallTemplateBuildsThroughTheInstaller"}},
	"domu.ubuntu.arch":         {{"steps/installtemplate.go", "u.Arch", "TestInstallTemplateBuildsThroughTheInstaller"}},
	"domu.ubuntu.mirror_host":  {{"steps/installtemplate.go", "u.MirrorHost", "TestInstallTemplateBuildsThroughTheInstaller"}},
	"domu.ubuntu.mirror_dir":   {{"steps/installtemplate.go", "u.MirrorDir", "TestInstallTemplateBuildsThroughTheInstaller"}},
	"domu.ubuntu.proxy":        {{"steps/installtemplate.go", "u.Proxy", "TestInstallTemplateBuildsThroughTheInstaller"}},
	"domu.ubuntu.ip":           {{"steps/installtemplate.go", "u.IP", "TestInstallTemplateBuildsThroughTheInstaller"}},
	"domu.ubuntu.preseed":      {{"steps/installtemplate.go", "u.Preseed", "TestInstallTemplateRefusesABrokenPreseed"}},

	"quantum.plugin":              {{"steps/agents.go", "q.Plugin", "TestGoldenAgentFiles"}},
	"quantum.physical_network":    {{"steps/agents.go", "q.PhysicalNetwork", "TestEditsReachDomU"}},
	"quantum.vlan_range":          {{"steps/agents.go", "NetworkVLANRanges", "TestEditsReachDomU"}},
	"quantum.tenant_network_type": {{"steps/agents.go", "q.TenantNetworkType", "TestQAgtBridgesReachItsConfig"}},
	// Both agents' blocks: q-agt's bridges reach its ini, q-domua's its own.
	"quantum.agent.integration_bridge": {{"steps/agents.go", "Dom0Agent.IntegrationBridge", "TestQAgtBridgesReachItsConfig"},
		{"steps/agents.go", "DomUAgent.IntegrationBridge", "TestQAgtBridgesReachItsConfig"}},
	"quantum.agent.physical_bridge": {{"steps/agents.go", "Dom0Agent.PhysicalBridge", "TestQAgtBridgesReachItsConfig"},
		{"steps/agents.go", "DomUAgent.PhysicalBridge", "TestAgentsMistakesThenWalkThrough"}},
	"quantum.agent.physical_interface": {{"steps/agents.go", "DomUAgent.PhysicalInterface", "TestStatusShowsTheLab"},
		{"localrc/validate.go", "DomUAgent.PhysicalInterface", "TestCrossFieldChecks"}},

	"devstack.repo":             {{"steps/agents.go", "Devstack.Repo", "TestEditsReachDomU"}},
	"devstack.branch":           {{"steps/agents.go", "Devstack.Branch", "TestEditsReachDomU"}},
	"devstack.source":           {{"steps/agents.go", "Devstack.Source", "TestAgentsFromALocalCheckout"}},
	"devstack.base_services":    {{"localrc/config.go", "d.BaseServices", "TestGoldenAgentFiles"}, {"steps/agents.go", "localrc.UpServices", "TestGoldenAgentFiles"}},
	"devstack.enabled_services": {{"localrc/config.go", "d.EnabledServices", "TestGoldenAgentFiles"}, {"steps/agents.go", "localrc.UpServices", "TestGoldenAgentFiles"}},
	"devstack.extra":            {{"steps/agents.go", "Devstack.Extra", "TestGoldenAgentFiles"}},

	"timeouts.step":  {{"cli/labflags.go", "Timeouts.Step", "TestStepTimeoutFromLabFile"}},
	"timeouts.stack": {{"steps/agents.go", "Timeouts.Stack", "TestUpOnSimulatedHost"}},
	"timeouts.boot":  {{"steps/boot.go", "Timeouts.Boot", "TestBootIsBoundByTimeoutsBoot"}},
}

// schemaFields lists the lab file's fields from the gohcl tags of the
// schema: "block.attribute", blocks nested ("domu.ubuntu.release"); the
// bodies of labelled blocks (host, agent) are their block structs.
func schemaFields(t reflect.Type, prefix string) []string {
	bodies := map[string]reflect.Type{"host": reflect.TypeFor[hostBlock](), "agent": reflect.TypeFor[agentBlock]()}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("hcl")
		name, kind, _ := strings.Cut(tag, ",")
		if name == "" || f.Type == reflect.TypeFor[hcl.Range]() || f.Type == reflect.TypeFor[hcl.Body]() {
			continue
		}
		switch kind {
		case "", "optional":
			out = append(out, prefix+name)
		case "block":
			et := f.Type
			for et.Kind() == reflect.Pointer || et.Kind() == reflect.Slice {
				et = et.Elem()
			}
			if b, ok := bodies[name]; ok {
				et = b
			}
			out = append(out, schemaFields(et, prefix+name+".")...)
		}
	}
	return out
}

// TestEveryFieldHasAReader: each field of the lab file's schema is read
// by the code this table names (a selector of that name is in that file)
// and shown by a test that exists; the table names no field the schema
// lacks.
func TestEveryFieldHasAReader(t *testing.T) {
	fields := schemaFields(reflect.TypeFor[fileSchema](), "")
	if len(fields) < 50 {
		t.Fatalf("the schema has %d fields; the walk of its tags is broken: %v", len(fields), fields)
	}
	for _, f := range fields {
		if _, ok := readers[f]; !ok {
			t.Errorf("lab-file field %s has no reader: a step must read it (add it to readers, with its test) or validation refuse it", f)
		}
	}
	for f := range readers {
		if !slices.Contains(fields, f) {
			t.Errorf("readers names %s, which the schema does not have", f)
		}
	}

	root := ".."
	selectors := map[string][]string{} // file -> its selector expressions
	tests := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if strings.HasSuffix(p, "_test.go") {
			for _, decl := range file.Decls {
				if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
					tests[fn.Name.Name] = true
				}
			}
			return nil
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				selectors[rel] = append(selectors[rel], types.ExprString(s))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		for _, r := range readers[f] {
			found := false
			for _, s := range selectors[r.file] {
				found = found || s == r.selector || strings.HasSuffix(s, "."+r.selector)
			}
			if !found {
				t.Errorf("%s: %s does not read it (no selector %s there)", f, r.file, r.selector)
			}
			if !tests[r.test] {
				t.Errorf("%s: test %s does not exist", f, r.test)
			}
		}
	}
}

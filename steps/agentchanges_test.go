package steps

import (
	"strings"
	"testing"

	"xenlab/provision"
	"xenlab/secret"
)

// TestSettingChangesNameTheFieldAndHideSecrets: a changed setting of
// domU's localrc or an agent's ini file is named by the lab-file field
// behind it, with its old and new values, except a credential's (by its
// name, or a value holding a password), which shows as redacted.
func TestSettingChangesNameTheFieldAndHideSecrets(t *testing.T) {
	pw := secret.New("hunter2-secret")
	old := "# localrc\nXENAPI_PASSWORD='old-password'\nOVS_VLAN_RANGES='physnet1:1000:1024'\nGREETING='hi hunter2-secret'\nSAME='x'\n"
	new := "# localrc\nXENAPI_PASSWORD='hunter2-secret'\nOVS_VLAN_RANGES='physnet1:2000:2010'\nGREETING='hi'\nSAME='x'\n"
	var got []string
	for _, c := range settingChanges(DevstackDir+"/localrc", []byte(old), []byte(new), pw) {
		if c.How != provision.Restack {
			t.Errorf("%s: how %s", c.Field, c.How)
		}
		got = append(got, c.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"quantum.physical_network / quantum.vlan_range (localrc): 'physnet1:1000:1024' -> 'physnet1:2000:2010'",
		"host.xapi_password (localrc): <redacted> -> <redacted>",
		"devstack.extra GREETING (localrc): 'hi <redacted> -> 'hi'", // Scrub takes the rest of the word
	} {
		if !strings.Contains(all, want) {
			t.Errorf("changes lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "hunter2") || strings.Contains(all, "old-password") || strings.Contains(all, "SAME") {
		t.Errorf("changes show a secret or an unchanged setting:\n%s", all)
	}
	ini := settingChanges(RootwrapPath, []byte("[xenapi]\nxenapi_connection_password = a\n"), []byte("[xenapi]\nxenapi_connection_password = b\n"))
	if len(ini) != 1 || ini[0].From != secret.Redacted || ini[0].Field != "host.xapi_password (rootwrap.conf)" {
		t.Errorf("rootwrap.conf's password change: %+v", ini)
	}
	if cs := settingChanges(WrapperPath, []byte("a"), []byte("b")); len(cs) != 1 || cs[0].Field != WrapperPath {
		t.Errorf("the wrapper's change: %+v", cs)
	}
}

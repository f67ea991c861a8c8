package localrc

import (
	"fmt"
	"strings"
	"testing"
)

// TestImportRefusesWhatIsNoLocalrc: a file where nothing sets a variable
// or calls a service function is not a localrc, and the error shows none
// of it; a localrc with a line of another file among its settings warns
// about that line without quoting it; too many variables, too much work
// and a lab file over 1 MiB are errors that say which bound was met.
func TestImportRefusesWhatIsNoLocalrc(t *testing.T) {
	shadow := "root:$6$Zq9salt$hashhash:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n"
	if _, _, err := Import("shadow", []byte(shadow)); err == nil || !strings.Contains(err.Error(), "not a localrc") || strings.Contains(err.Error(), "Zq9") {
		t.Errorf("shadow: %v", err)
	}
	_, warns, err := Import("localrc", []byte("A=1\n"+shadow))
	if err != nil {
		t.Fatal(err)
	}
	if j := strings.Join(warns, "\n"); strings.Contains(j, "Zq9") || strings.Contains(j, "bin:") || !strings.Contains(j, notCommand) {
		t.Errorf("warnings quote a line that is no command:\n%s", j)
	}
	var many strings.Builder
	for i := range maxSettings + 1 {
		fmt.Fprintf(&many, "V%d=1\n", i)
	}
	if _, _, err := Import("localrc", []byte(many.String())); err == nil || !strings.Contains(err.Error(), "sets 2001 variables") {
		t.Errorf("%d variables: %v", maxSettings+1, err)
	}
	if _, _, err := Import("localrc", []byte(strings.Repeat("enable_service "+strings.Repeat("s", 50)+"\n", 1)+strings.Repeat("ENABLED_SERVICES+=,x-service-name\n", 20000))); err == nil || !strings.Contains(err.Error(), "stopped here") {
		t.Errorf("20,000 appends: %v", err)
	}
	if _, _, err := Import("localrc", []byte(strings.Repeat("#\n", MaxLocalrcSize/2+1))); err == nil || !strings.Contains(err.Error(), "more than 1 MiB") {
		t.Errorf("over 1 MiB: %v", err)
	}
}

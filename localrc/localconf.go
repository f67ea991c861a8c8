package localrc

import (
	"strings"
)

// localConfSections handles devstack's local.conf (Havana onwards): a
// "[[local|localrc]]" section holds localrc lines, and other sections such
// as "[[post-config|$NOVA_CONF]]" hold ini text that is not shell. It
// returns the source with the headers and the non-localrc sections blanked
// (line numbers kept) and a warning per dropped section. A plain localrc,
// with no headers, comes back unchanged.
func localConfSections(src string) (string, []warning) {
	lines := strings.Split(src, "\n")
	inLocalrc := true
	var warns []warning
	changed := false
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[[") && strings.HasSuffix(t, "]]") && strings.Contains(t, "|") {
			phase, file, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(t, "[["), "]]"), "|")
			inLocalrc = phase == "local" && file == "localrc"
			if !inLocalrc {
				warns = append(warns, warning{i + 1, "local.conf section " + t + " is not a localrc; its lines are not translated"})
			}
			lines[i] = ""
			changed = true
			continue
		}
		if !inLocalrc {
			lines[i] = ""
			changed = true
		}
	}
	if !changed {
		return src, nil
	}
	return strings.Join(lines, "\n"), warns
}

package localrc

import (
	"fmt"
	"regexp"
	"strings"
)

// ENABLED_SERVICES as devstack computes it: stackrc sets a default list,
// localrc edits it with +=, plain assignments and enable_service /
// disable_service (functions, havana-eol), and stack.sh then removes the
// services negated with "-name" (disable_negated_services).

// stackrcServices is the default ENABLED_SERVICES of stackrc at havana-eol
// (the lab's default branch), the value an unset ENABLED_SERVICES has when
// localrc is sourced.
const stackrcServices = "g-api,g-reg,key,n-api,n-crt,n-obj,n-cpu,n-net,n-cond,cinder,c-sch,c-api,c-vol,n-sch,n-novnc,n-xvnc,n-cauth,horizon,rabbit,tempest,mysql"

// stackrcDefault returns the value stackrc gave a variable before localrc
// was sourced, for the variables the importer models.
func stackrcDefault(name string) (segs, bool) {
	if name == "ENABLED_SERVICES" {
		return segs{{text: stackrcServices}}, true
	}
	return nil, false
}

// cleanupServices is devstack's _cleanup_service_list: ",," becomes ","
// (one pass), and a leading and a trailing comma go.
func cleanupServices(s string) string {
	s = strings.ReplaceAll(s, ",,", ",")
	s = strings.TrimPrefix(s, ",")
	return strings.TrimSuffix(s, ",")
}

// disableNegated is devstack's disable_negated_services: for each "-name"
// in the list, every ",-name," (commas and '-' optional, name a regular
// expression, as sed -r reads it) becomes ",".
func disableNegated(s string) string {
	tmp := s
	for _, svc := range strings.Split(s, ",") {
		if !strings.HasPrefix(svc, "-") || !serviceRE.MatchString(svc) {
			continue
		}
		re, err := regexp.Compile(`,?-?` + svc[1:] + `,?`)
		if err != nil {
			continue
		}
		tmp = re.ReplaceAllLiteralString(tmp, ",")
	}
	return cleanupServices(tmp)
}

// serviceEnabled is devstack's is_service_enabled for one name: in the
// list, or a group name (nova, glance, neutron, ...) with one of its
// services in it.
func serviceEnabled(list, svc string) bool {
	if strings.Contains(","+list+",", ","+svc+",") {
		return true
	}
	groups := map[string]string{"nova": "n-", "cinder": "c-", "ceilometer": "ceilometer-", "glance": "g-", "neutron": "q-", "trove": "tr-", "swift": "s-"}
	if p, ok := groups[svc]; ok && strings.Contains(list, p) {
		return true
	}
	return strings.HasPrefix(svc, "n-cell-") && strings.Contains(list, "n-cell") ||
		strings.HasPrefix(svc, "s-") && strings.Contains(list, "swift")
}

// serviceCommand runs enable_service or disable_service on the literal
// ENABLED_SERVICES, as devstack's functions do.
func (in *interp) serviceCommand(name string, svcs []string, line int) {
	cur := segs{{text: stackrcServices}}
	if v, ok := in.vars["ENABLED_SERVICES"]; ok {
		cur = v.value
		if v.isArray {
			in.warnf(line, "%s on an array ENABLED_SERVICES not translated", name)
			return
		}
	}
	list, ok := cur.literal()
	if !ok {
		in.warnf(line, "%s: ENABLED_SERVICES depends on $%s, which this file does not set; not translated", name, strings.Join(cur.refs(), ", $"))
		return
	}
	// Each edit scans the list once, and once more per negated service.
	in.work += len(list) * (2 + strings.Count(list, "-"))
	if name == "enable_service" {
		for _, svc := range svcs {
			if !serviceEnabled(list, svc) {
				list += "," + svc
			}
		}
		list = disableNegated(cleanupServices(list))
	} else {
		list = "," + list + ","
		for _, svc := range svcs {
			if serviceEnabled(strings.Trim(list, ","), svc) {
				list = strings.ReplaceAll(list, ","+svc+",", ",")
			}
		}
		list = cleanupServices(list)
	}
	in.set("ENABLED_SERVICES", &shellVar{value: segs{{text: list}}}, line)
}

// maxServices bounds the services an imported ENABLED_SERVICES may list
// (devstack havana knows about a hundred): a lab file's list is decoded in
// time that grows with the square of its length.
const maxServices = 1000

// services maps ENABLED_SERVICES. A list that is stackrc's default
// followed by ",edits" is written as enabled_services (the edits, for
// devstack to apply to its own default); any other list as base_services,
// the services as devstack would end up with them. With no ENABLED_SERVICES
// the file runs devstack's default: enabled_services = [] says so, where
// the lab file's own default would be a Quantum lab.
func (m *mapper) services(get func(string) *shellVar) {
	v := get("ENABLED_SERVICES")
	list, line := stackrcServices, 0
	if v != nil {
		line = v.line
		if v.isArray {
			m.warnf(v, "an array; devstack expects a comma-separated list; not translated")
			return
		}
		s, ok := v.value.literal()
		if !ok {
			m.warnf(v, "depends on $%s; those parts dropped", strings.Join(v.value.refs(), ", $"))
		}
		list = s
	}
	if n := strings.Count(list, ",") + 1; n > maxServices {
		m.warns = append(m.warns, warning{line, fmt.Sprintf("ENABLED_SERVICES: %d services, where devstack knows about a hundred; not translated, the lab file's default services apply", n)})
		return
	}
	items := func(s string) []string {
		var out []string
		for _, svc := range strings.Split(s, ",") {
			svc = strings.TrimSpace(svc)
			switch {
			case svc == "":
			case !serviceRE.MatchString(svc):
				m.warns = append(m.warns, warning{line, "ENABLED_SERVICES: " + quoteUnlessSecret(svc) + " is not a service name; dropped"})
			default:
				out = append(out, svc)
			}
		}
		return out
	}
	switch {
	case list == stackrcServices || strings.HasPrefix(list, stackrcServices+","):
		m.out.set("devstack.enabled_services", stringList(items(strings.TrimPrefix(list, stackrcServices))))
	default:
		if strings.HasPrefix(list, stackrcServices) {
			last := stackrcServices[strings.LastIndexByte(stackrcServices, ',')+1:]
			glued := strings.SplitN(list[len(stackrcServices)-len(last):], ",", 2)[0]
			m.warns = append(m.warns, warning{line, "ENABLED_SERVICES: appended without a leading comma, so bash joins the first new service to stackrc's last one: " + quoteUnlessSecret(glued) + " (write +=,name to add a service)"})
		}
		m.out.set("devstack.base_services", stringList(items(disableNegated(cleanupServices(list)))))
		m.out.set("devstack.enabled_services", stringList(nil))
	}
	final := disableNegated(cleanupServices(list))
	var svcs []string
	for _, svc := range strings.Split(final, ",") {
		if svc = strings.TrimSpace(svc); serviceRE.MatchString(svc) {
			svcs = append(svcs, svc)
		}
	}
	runs, added, dropped := UpServices(Devstack{BaseServices: svcs, EnabledServices: []string{}})
	if len(added)+len(dropped) > 0 {
		what := "ENABLED_SERVICES:"
		if v == nil {
			what = "ENABLED_SERVICES not set: devstack's default (nova-network) is not a Quantum lab;"
		}
		var change []string
		if len(added) > 0 {
			change = append(change, "adds "+strings.Join(added, ", "))
		}
		if len(dropped) > 0 {
			change = append(change, "leaves out "+strings.Join(dropped, ", ")+" (nova-network cannot run beside Quantum)")
		}
		m.warns = append(m.warns, warning{line, what + " `xenlab up` " + strings.Join(change, " and ") +
			", so domU runs " + strings.Join(runs, ",")})
	}
}

// quoteUnlessSecret quotes text for a warning unless it mentions a
// credential.
func quoteUnlessSecret(s string) string {
	if mentionsSecret(s) {
		return "a value (not shown: it mentions a credential)"
	}
	return `"` + s + `"`
}

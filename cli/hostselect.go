package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"xenlab/internal/editdistance"
	"xenlab/localrc"
)

// shard is a parsed --shard i/n: this runner's part (1-based) of n.
type shard struct{ i, n int }

// parseShard reads --shard's "i/n", 1 <= i <= n.
func parseShard(s string) (shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, ierr := strconv.Atoi(strings.TrimSpace(a))
	n, nerr := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case !ok || ierr != nil || nerr != nil:
		return shard{}, usagef("--shard %q: want i/n, such as 2/4 (this runner's part i of n)", s)
	case n < 1:
		return shard{}, usagef("--shard %q: n must be 1 or more", s)
	case i < 1 || i > n:
		return shard{}, usagef("--shard %q: i must be between 1 and %d", s, n)
	}
	return shard{i, n}, nil
}

// selectHosts is the part of the lab's hosts a command acts on: those
// named by --host (all without it), then, with --shard i/n, every n-th of
// them in host name order starting at the i-th. The split depends only
// on the names, so n runners given 1/n .. n/n share the hosts out
// between them, each host to exactly one. The hosts keep the lab file's
// order.
func (l *labFlags) selectHosts(cfg *localrc.Config) ([]localrc.Host, error) {
	var names []string
	for _, h := range cfg.Hosts {
		names = append(names, h.Name)
	}
	picked := cfg.Hosts
	if len(l.hostNames) > 0 {
		picked = nil
		for _, h := range cfg.Hosts {
			if slices.Contains(l.hostNames, h.Name) {
				picked = append(picked, h)
			}
		}
		for _, want := range l.hostNames {
			if !slices.Contains(names, want) {
				return nil, unknownHost(cfg.Lab, want, names)
			}
		}
	}
	if l.shard == "" {
		return picked, nil
	}
	sh, err := parseShard(l.shard)
	if err != nil {
		return nil, err
	}
	var sorted []string
	for _, h := range picked {
		sorted = append(sorted, h.Name)
	}
	slices.Sort(sorted)
	var mine []localrc.Host
	for _, h := range picked {
		if slices.Index(sorted, h.Name)%sh.n == sh.i-1 {
			mine = append(mine, h)
		}
	}
	if len(mine) == 0 {
		return nil, usagef("--shard %s selects none of the %d host(s) %s; use n of at most %d",
			l.shard, len(sorted), strings.Join(sorted, ", "), len(sorted))
	}
	return mine, nil
}

// unknownHost is the usage error for a --host the lab does not have, with
// the closest name.
func unknownHost(lab, name string, names []string) error {
	msg := fmt.Sprintf("--host %q: lab %q has no such host", name, lab)
	best, dist := "", -1
	for _, n := range names {
		if d := editdistance.Levenshtein(name, n); dist < 0 || d < dist {
			best, dist = n, d
		}
	}
	if best != "" && dist <= max(2, len(name)/3) {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return usagef("%s; its hosts: %s", msg, strings.Join(names, ", "))
}

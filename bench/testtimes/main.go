// Command testtimes reads `go test -json` output on stdin and prints where
// the time went: each package's elapsed time (and its CPU time when the
// tests ran through bench/testcpu), and its slowest tests (top level,
// subtests of a second or more indented), slowest first.
//
//	go test -count=1 -json -exec "$PWD/bench/testcpu" ./... > t.json
//	go run ./bench/testtimes -top 10 < t.json
//
// docs/performance.md ("The test suite's time") is made from its output.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

type result struct {
	name    string
	action  string
	elapsed float64
	cpu     float64 // bench/testcpu's figure; -1 if none
}

func main() {
	top := flag.Int("top", 5, "the slowest `N` tests of each package (0: none)")
	min := flag.Float64("min", 0, "only tests of at least `S` seconds")
	flag.Parse()
	pkgs := map[string]*result{}
	tests := map[string][]result{}
	cpu := map[string]float64{}
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	for {
		var e event
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "testtimes:", err)
			os.Exit(2)
		}
		if e.Action == "output" && e.Test == "" && strings.HasPrefix(e.Output, "testcpu: ") {
			var s float64
			if _, err := fmt.Sscanf(e.Output, "testcpu: %g CPU-seconds", &s); err == nil {
				cpu[e.Package] = s
			}
		}
		switch e.Action {
		case "pass", "fail", "skip":
		default:
			continue
		}
		if e.Test == "" {
			pkgs[e.Package] = &result{e.Package, e.Action, e.Elapsed, -1}
		} else {
			tests[e.Package] = append(tests[e.Package], result{e.Test, e.Action, e.Elapsed, -1})
		}
	}
	var order []*result
	total, totalCPU := 0.0, 0.0
	for _, p := range pkgs {
		if s, ok := cpu[p.name]; ok {
			p.cpu = s
			totalCPU += s
		}
		order = append(order, p)
		total += p.elapsed
	}
	sort.Slice(order, func(i, j int) bool { return order[i].elapsed > order[j].elapsed })
	fmt.Printf("| package | elapsed (s) | CPU (s) | result |\n|---|---|---|---|\n")
	for _, p := range order {
		c := "-"
		if p.cpu >= 0 {
			c = fmt.Sprintf("%.1f", p.cpu)
		}
		fmt.Printf("| %s | %.1f | %s | %s |\n", p.name, p.elapsed, c, p.action)
	}
	fmt.Printf("| (sum of packages) | %.1f | %.1f | |\n", total, totalCPU)
	if *top == 0 {
		return
	}
	for _, p := range order {
		ts := tests[p.name]
		sort.Slice(ts, func(i, j int) bool { return ts[i].elapsed > ts[j].elapsed })
		n := 0
		var lines []string
		for _, r := range ts {
			if strings.Contains(r.name, "/") || r.elapsed < *min {
				continue
			}
			if n == *top {
				break
			}
			n++
			lines = append(lines, fmt.Sprintf("  %7.2fs %s %s", r.elapsed, r.action, r.name))
			for _, s := range ts {
				if strings.HasPrefix(s.name, r.name+"/") && s.elapsed >= 1 && strings.Count(s.name, "/") == 1 {
					lines = append(lines, fmt.Sprintf("      %7.2fs %s %s", s.elapsed, s.action, s.name))
				}
			}
		}
		if len(lines) > 0 {
			fmt.Printf("\n%s (%.1f s)\n%s\n", p.name, p.elapsed, strings.Join(lines, "\n"))
		}
	}
}

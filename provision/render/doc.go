// Package render shows the step engine's events: a progress bar on a
// terminal ([TTY]), timestamped lines for CI logs ([Plain]), one JSON object
// per line ([JSON]) and a JUnit XML file ([JUnit]). Combine several with
// provision.Multi; [Select] picks the terminal or plain view the way the CLI
// should, and [Interactive] is the decision behind it.
//
// Every renderer is closed once, after the run, with the run's report; the
// terminal and plain views end with the per-step timing table
// (provision.Report.WriteTable), and [Table] prints only that table (for
// example on stderr next to --json on stdout).
package render

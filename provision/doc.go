// Package provision is xenlab's step engine.
//
// A lab is brought up by a list of small [Step]s. Each names the steps it
// depends on, can tell whether its work is already done on the host
// ([Step.Check], read-only), can do it ([Step.Apply]) and can undo what this lab
// owns ([Step.Destroy]). A graph is a list of [Node]s: a step plus what the
// engine needs to know to run it (its host, time limit, attempts, whether it
// only reads), as plain values the engine reads, so no wrapper around a
// step can hide them. An [Engine] builds the dependency graph once
// (rejecting cycles, unknown dependencies and duplicate names) and then:
//
//   - [Engine.Plan] checks every step, in dependency order, touching nothing;
//   - [Engine.Apply] runs the steps whose work is not done, independent ones in
//     parallel, each with a timeout, retrying transient errors ([IsTransient]:
//     xapi's "try again") with exponential backoff; dependents of a failed
//     step are skipped;
//   - [Engine.Destroy] undoes every step in reverse dependency order.
//
// A fleet is the steps of several hosts in one graph, each node on its
// [Node.Host]: parallelism is bounded per host ([Options.Parallel]) with a
// separate bound on the hosts at work at once ([Options.MaxHosts]), a
// failure skips only its own host's steps, and the [Report] has a
// [HostResult] per host.
//
// What happens to the host after a failed or interrupted Apply is a policy
// ([OnError]): leave it for debugging (the default) or destroy, newest first,
// the steps this run applied. The policy is a separate phase after the run, not
// flags inside steps.
//
// Progress is reported as [Event]s to a [Renderer]; package
// xenlab/provision/render has the terminal, plain-line, JSON and JUnit views.
// Every run ends in a [Report]; [ExitCode] maps the run's error to the CLI's
// exit status.
package provision

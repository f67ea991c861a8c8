//go:build race

package main

// raceEnabled says the test binary runs under the race detector
// (`go test -race`): TestMain then builds the xenlab binary the tests run
// with -race too, so the code they exercise (the CLI and `sim serve`) is
// checked by it as well.
const raceEnabled = true

//go:build !race

package race

// Enabled: this program is built with the race detector.
const Enabled = false

package xapi

import "xenlab/secret"

// Secret is a password; it is secret.Secret. It prints as "<redacted>" with
// every fmt verb, so it cannot leak into logs, errors or String output by
// accident.
type Secret = secret.Secret

package localrc

import "xenlab/secret"

// Secret holds a password in a Config. It is secret.Secret: every way of
// printing it yields "<redacted>" and only Reveal returns the value, so a
// Config can be logged safely.
type Secret = secret.Secret

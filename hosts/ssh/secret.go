package ssh

import "xenlab/secret"

// Secret holds a password (Config.Password); it is secret.Secret. Its zero
// value is "no password", and it prints as "<redacted>" with every fmt verb,
// so a Config can be logged safely. Build one with secret.New.
type Secret = secret.Secret

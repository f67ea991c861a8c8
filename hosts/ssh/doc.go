// Package ssh is xenlab's SSH client for dom0 and domU: one verified,
// kept-alive connection per host, reused for every command and file
// transfer.
//
// Choices this package makes, so callers need not guess:
//
//   - Host keys are always verified against Config.KnownHosts, read with
//     OpenSSH's matching rules (wildcards, negation, hashed names,
//     @revoked); any matching line with another key is a mismatch. With
//     AcceptNewHostKeys, a host that no line matches is trusted on first use
//     and its key appended to the last file of the list, in OpenSSH format
//     with the host written in plain text ("[127.0.0.1]:2222 ssh-ed25519
//     AAAA..."), not hashed: the lab's file names lab hosts only, and plain
//     lines can be read, grepped and removed with ssh-keygen -R. A key that
//     differs from a recorded one is always refused with a *HostKeyError
//     showing both SHA256 fingerprints.
//   - Connections are dialed with Config.Retry (backoff while a booting
//     domU is not listening yet), bounded by attempts and the context.
//     Authentication and host key failures are never retried.
//   - When the connection has died, the next call redials once, with the
//     same retry policy. A command is re-sent only if it provably never
//     started (the session could not be opened) or the caller marked it
//     Idempotent(); SFTP operations are idempotent (uploads go through a
//     temporary name and a rename) and are retried once.
//   - Keepalive sends "keepalive@openssh.com" global requests every
//     Config.Keepalive; one left unanswered for three intervals closes the connection, so
//     the next call redials.
//   - Upload skips a file whose remote copy has the same size and SHA-256
//     (computed remotely with sha256sum, falling back to downloading it
//     when sha256sum is unavailable) and reports the skip.
//   - SFTP requests are not interrupted by the context mid-request; a
//     transfer stops between chunks, and a hung connection is ended by the
//     keepalive.
//   - Config.UseAgent uses the ssh-agent at SSH_AUTH_SOCK when there is
//     one; a password or key files authenticate without it.
//   - Secrets (passphrases, passwords) are never logged or put in errors;
//     commands are quoted in errors, so do not put secrets in command
//     lines: pass them with WithStdin.
package ssh

// Package sshd runs the SSH servers of the simulated hosts (dom0 and every
// running guest): real SSH (golang.org/x/crypto/ssh, server side) on a
// loopback address, with password and public-key authentication, a host
// key that persists across restarts, an SFTP subsystem confined to the
// host's own directory, and exec through /bin/sh in the host's environment.
//
// # File system
//
// Each host owns a directory on this machine (Config.Root). Its SFTP view is
// that directory: the absolute path /etc/xapi.d/plugins/netwrap is
// <Root>/etc/xapi.d/plugins/netwrap. Paths are cleaned as absolute paths
// inside the host (so ".." stops at the host's /), then resolved by the
// standard library's os.Root, which refuses to follow ".." or symbolic links
// out of the directory (absolute link targets count as outside, because a
// command on this machine would read them from the real /).
//
// # Commands
//
// When the server may make mount namespaces (IsolationMountNS: as root,
// or, not root, through a user namespace per host where uid 0 is the
// server's user, userns.go), each command runs in the host's PID
// namespace (pid 1 a holder process, pidns.go) and in a root of the
// host's own: this
// program is executed again in fresh mount and UTS namespaces (nsinit.go),
// binds Root on itself with this machine's programs read-only inside it
// (/usr but /usr/local, /bin, /sbin, /lib*), a /dev of harmless devices, a
// proc with read-only sysctls, a read-only /sys (with Config.ReadOnlyBinds,
// the host's own facts, over it), pivots into it, sets Config.Hostname,
// drops CAP_SYS_ADMIN and the other capabilities that could undo this from
// its bounding set, and executes /bin/sh. Every other path (/etc, /tmp,
// /root, /opt, /usr/local ...) is the host's own, so writes land in Root and
// `chmod +x /etc/xapi.d/plugins/netwrap` acts on the host's file, as on a
// real host. Otherwise (IsolationPaths) commands run on this machine's file
// system: HOME and the working directory are the real directories under
// Root and absolute paths mean this machine's paths. Either way PATH is
// Config.Env's PATH first, then the host's bin directories, then the
// system's; XENLAB_SIM_ROOT=<Root> and XENLAB_SIM_HOST=<Name> mark the
// host's processes. Server.Command runs a program the host starts itself
// (xapi's plugins in dom0) the same way.
//
// Every command is its own process group; the group is killed when the
// channel closes or the client disconnects while the command runs, and
// when the server is closed. What a command that exited normally left
// running (nohup agent &, a daemon) lives on, as on a real host, until
// Close, which kills the host's PID namespace and cgroup (as root: every
// command starts in both; without root there is no cgroup) and every
// process carrying the host's marks in its environment.
package sshd

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
// Commands run on this machine's real file system; there is no chroot. What
// is per host: the working directory and HOME (the user's home inside the
// host), PATH (Config.Env's PATH first, then the host's own usr/local/bin,
// usr/bin ... directories, then the system's), XENLAB_SIM_ROOT=<Root> and
// XENLAB_SIM_HOST=<Name>. When the server runs as root and may make mount
// namespaces (IsolationMountNS), each command runs in a private mount
// namespace in which the host's own trees (Config.HostPaths, plus the user's
// home) are bind-mounted over the same absolute paths, so
// `chmod +x /etc/xapi.d/plugins/netwrap` acts on the host's file, as on a
// real host; the parents of mount points that do not exist on this machine
// (such as /etc for /etc/xapi.d) are overlaid with a throw-away layer, so
// writes elsewhere under them do not reach this machine. Otherwise
// (IsolationPaths) HOME and the working directory are the real directories
// under Root and absolute paths mean this machine's paths.
//
// Every command is its own process group; the group is killed when the
// channel closes or the client disconnects while the command runs, and
// when the server is closed. What a command that exited normally left
// running (nohup agent &, a daemon) lives on, as on a real host, until
// Close, which kills every process carrying the host's XENLAB_SIM_ROOT and
// XENLAB_SIM_HOST in its environment.
package sshd

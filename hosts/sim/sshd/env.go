package sshd

// Env is the environment a command of user gets on this host, for a process
// the simulated host starts itself rather than through SSH (xapi's plugins
// in dom0): the same PATH (Config.Env's prefix, the host's own bin
// directories, the system's), markers and user variables, with HOME the
// user's real directory under Root, since such a process runs outside any
// mount namespace. An unknown user gets nil.
func (s *Server) Env(user string) []string {
	u, ok := s.cfg.Users[user]
	if !ok {
		return nil
	}
	return s.commandEnv(user, s.HostPath(u.Home), nil)
}

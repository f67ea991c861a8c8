package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	sshc "xenlab/hosts/ssh"
	"xenlab/steps"
)

// newSSH is `xenlab ssh dom0|domu [-- COMMAND...]`: a shell, or a command,
// on the lab's dom0 or domU, through xenlab's own SSH client with the
// lab's key, password and known_hosts (host keys checked as every step
// checks them), so the walk-through can be followed by hand. The remote
// exit status is xenlab's.
func newSSH(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "ssh dom0|domu [-- COMMAND...]",
		Short: "a shell or a command on the lab's dom0 or domU (exit status passed through)",
		Long: `A shell, or a command, on the lab's dom0 or domU, with the lab's SSH key, password and
known_hosts, as xenlab's steps connect: dom0 as the lab file's ssh_user, domU as domu.ssh_user
at the address its guest reports through xapi. Words after -- are the command, joined with
spaces for the remote shell as ssh(1) does; without them, a login shell (on a pseudo-terminal
when stdin is a terminal). The exit status is the remote command's.

  xenlab ssh dom0 -- xe network-list
  xenlab ssh domu -- sudo ovs-ofctl dump-flows br-int`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("usage: %s (which host: dom0 or domu)", c.UseLine())
			}
			switch strings.ToLower(args[0]) {
			case "dom0", "domu":
				return nil
			}
			return usagef("ssh to %q: the lab's hosts are dom0 and domu", args[0])
		},
		RunE: func(c *cobra.Command, args []string) error {
			target := strings.ToLower(args[0])
			cmd := strings.Join(args[1:], " ")
			if len(args) > 1 && c.ArgsLenAtDash() != 1 {
				return usagef("put the command after --: xenlab ssh %s -- %s", target, cmd)
			}
			l, err := openLab(c.Context(), io, c, &lab, false)
			if err != nil {
				return err
			}
			defer l.close()
			if len(l.hosts) != 1 {
				var names []string
				for _, h := range l.hosts {
					names = append(names, h.Name())
				}
				return usagef("lab %q has %d hosts (%s): choose one with --host", l.cfg.Lab, len(l.hosts), strings.Join(names, ", "))
			}
			code, err := sshAttach(c.Context(), io, l, target, cmd)
			if err != nil {
				return l.scrub(err)
			}
			if code != 0 {
				return exitError{code: code}
			}
			return nil
		},
	}
	lab.register(c)
	c.Flags().Lookup("json").Hidden = true
	return c
}

// sshAttach connects to dom0 or domU of the lab's one host and runs cmd
// (a shell when "") with the command's streams.
func sshAttach(ctx context.Context, io IO, l *openedLab, target, cmd string) (int, error) {
	h := l.hosts[0]
	var client *sshc.Client
	if target == "dom0" {
		var err error
		if client, err = h.Dom0(ctx); err != nil {
			return 0, fmt.Errorf("host %s: %w", h.Name(), err)
		}
	} else {
		inv, err := h.Inventory(ctx)
		if err != nil {
			return 0, fmt.Errorf("host %s: %w", h.Name(), err)
		}
		addr := steps.DomUAddress(inv, l.cfg)
		if addr == "" {
			return 0, fmt.Errorf("host %s: domU %q is not running or reports no address (xenlab status shows it; xenlab up brings it up)",
				h.Name(), l.cfg.DomU.Name)
		}
		// The host's connection to domU (the one the steps use); the host
		// closes it.
		if client, err = steps.DomU(ctx, h, inv, l.cfg); err != nil {
			return 0, fmt.Errorf("host %s: %w", h.Name(), err)
		}
	}
	in, isFile := io.In.(*os.File)
	if cmd == "" && io.Terminal && isFile && term.IsTerminal(int(in.Fd())) {
		code, err := attachTerminal(ctx, io, client, in)
		var nopty *sshc.NoPTYError
		if !errors.As(err, &nopty) {
			return code, err
		}
		fmt.Fprintf(io.Err, "xenlab: %v; a shell without one\n", err)
	}
	return client.Attach(ctx, cmd, io.In, io.Out, io.Err, nil)
}

// attachTerminal runs a login shell on a pseudo-terminal, the local
// terminal in raw mode (restored at the end) and its size followed.
func attachTerminal(ctx context.Context, io IO, client *sshc.Client, in *os.File) (int, error) {
	fd := int(in.Fd())
	w, hgt, err := term.GetSize(fd)
	if err != nil {
		w, hgt = 80, 24
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return 0, fmt.Errorf("terminal: %w", err)
	}
	defer term.Restore(fd, old)
	resize := make(chan [2]int, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	go func() {
		for range winch {
			if w, h, err := term.GetSize(fd); err == nil {
				select {
				case resize <- [2]int{w, h}:
				default:
				}
			}
		}
	}()
	pty := &sshc.PTY{Term: os.Getenv("TERM"), Width: w, Height: hgt, Resize: resize}
	return client.Attach(ctx, "", io.In, io.Out, io.Err, pty)
}

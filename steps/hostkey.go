package steps

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"

	"xenlab/hosts"
	sshc "xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/secret"
	"xenlab/templates"
)

// domU's identity is known before first contact: xenlab makes domU's SSH
// host key, gives it to the guest before its first boot and records it in
// the lab's known_hosts, so no key is ever trusted on first use.
//
//   - The domU step, while domU is Halted and has no key yet, makes an
//     ECDSA P-256 key (the newest type the era's guests serve: Ubuntu
//     12.04's OpenSSH 5.9 has no Ed25519) and puts its private half, as
//     base64 of its PEM, into domU's xenstore_data under
//     XenstoreHostKey, the channel xapi gives a guest before it boots (xapi
//     writes vm-data/* into the domain's xenstore at start). The public
//     half goes into domU's other_config (TagHostKey), where any step can
//     read it, and into known_hosts under the name domUAlias(uuid).
//   - In the guest, the template's first-boot job (templates/hostkey.go,
//     installed by the preseed) reads vm-data/ssh_host_ecdsa_key at every
//     boot, before sshd starts, and installs it as
//     /etc/ssh/ssh_host_ecdsa_key. The simulated guest does the same.
//   - The boot step, once xapi reports domU's address and before it
//     connects, adds that address to the key's known_hosts line.
//   - down, destroying domU, removes that line, and only that one: each
//     line xenlab records carries the comment hostKeyTag(lab, uuid).
//
// The private key is a secret: it is made here, sent once in the body of
// one xapi call, and never logged, put in an event or an argument, or kept
// by xenlab. On the host it lives in the VM record's xenstore_data, which
// pool administrators can read (docs/security.md says why that is
// acceptable).
const (
	// XenstoreHostKey is the xenstore_data key of domU's host key.
	XenstoreHostKey = templates.HostKeyXenstoreKey
	// TagHostKey is the other_config key of domU's host key's public half
	// (authorized_keys form).
	TagHostKey = "xenlab-ssh-host-key"
)

// domUAlias is the host name known_hosts records domU's key under before
// its address is known (ssh -o HostKeyAlias= finds it too).
func domUAlias(vmUUID string) string { return "xenlab-domu-" + vmUUID }

// hostKeyTag is the comment of the known_hosts line of one domU's key.
func hostKeyTag(lab, vmUUID string) string { return "xenlab:" + lab + ":domU:" + vmUUID }

// hostKeyMissing reports whether domU is Halted and has no host key from
// xenlab, and its template has the first-boot job that installs one
// (templates.HostKeyJobKey): the domU step gives it one before it boots.
// A running domU without one (made before xenlab gave keys), or one whose
// template lacks the job, keeps the key it makes itself: the boot step
// then knows it only from known_hosts or --accept-new-host-keys.
func hostKeyMissing(rec xapi.VMRecord) bool {
	return rec.PowerState == xapi.PowerHalted && rec.OtherConfig[TagHostKey] == "" &&
		rec.OtherConfig[templates.HostKeyJobKey] == XenstoreHostKey
}

// giveHostKey makes domU's host key, gives its private half to domU
// through xenstore_data and records its public half in other_config and in
// the lab's known_hosts (under domUAlias). The public half is written last:
// a run interrupted before it leaves no public key, and the next run makes
// a new pair (replacing the private half).
func giveHostKey(ctx context.Context, c *xapi.Client, h *hosts.Host, lab *localrc.Config, vm xapi.Ref, rec xapi.VMRecord, out provision.Output) error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return err
	}
	pub, err := ssh.NewPublicKey(&priv.PublicKey)
	if err != nil {
		return err
	}
	private := secret.New(base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})))
	if err := c.VMRemoveFromXenstoreData(ctx, vm, XenstoreHostKey); err != nil {
		return err
	}
	if err := c.VMAddToXenstoreData(ctx, vm, XenstoreHostKey, private); err != nil {
		return fmt.Errorf("giving domU its SSH host key (xenstore_data %s): %w", XenstoreHostKey, err)
	}
	if _, err := sshc.RecordKnownHost(h.Config.KnownHosts, []string{domUAlias(rec.UUID)}, pub, hostKeyTag(lab.Lab, rec.UUID)); err != nil {
		return fmt.Errorf("recording domU's SSH host key: %w", err)
	}
	authorized := string(ssh.MarshalAuthorizedKey(pub))
	if err := c.VMAddToOtherConfig(ctx, vm, TagHostKey, authorized[:len(authorized)-1]); err != nil {
		return err
	}
	out.Line("SSH host key %s %s made for domU: given to it in xenstore %s, recorded in %s",
		pub.Type(), ssh.FingerprintSHA256(pub), XenstoreHostKey, h.Config.KnownHosts)
	return nil
}

// recordHostKeyAt records, before the first connection to domU at addr,
// the host key xenlab gave it (if it did) for that address.
func recordHostKeyAt(h *hosts.Host, lab *localrc.Config, rec xapi.VMRecord, addr string, out provision.Output) error {
	line := rec.OtherConfig[TagHostKey]
	if line == "" {
		return nil
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return fmt.Errorf("domU's other_config %s is not a public key: %w", TagHostKey, err)
	}
	changed, err := sshc.RecordKnownHost(h.Config.KnownHosts, []string{sshc.KnownHostName(addr), domUAlias(rec.UUID)}, pub,
		hostKeyTag(lab.Lab, rec.UUID))
	if err != nil {
		return fmt.Errorf("recording domU's SSH host key for %s: %w", addr, err)
	}
	if changed {
		out.Line("domU's SSH host key %s (given by xenlab) recorded for %s", ssh.FingerprintSHA256(pub), addr)
	}
	return nil
}

// forgetHostKey removes from the lab's known_hosts the line of the key
// xenlab gave the VM just destroyed; no other line is touched.
func forgetHostKey(h *hosts.Host, lab *localrc.Config, rec xapi.VMRecord, out provision.Output) error {
	if rec.IsASnapshot || rec.OtherConfig[TagHostKey] == "" {
		return nil // a snapshot shares its VM's key, which goes with the VM
	}
	n, err := sshc.ForgetKnownHost(h.Config.KnownHosts, hostKeyTag(lab.Lab, rec.UUID))
	if err != nil {
		return fmt.Errorf("forgetting the SSH host key of %q: %w", rec.NameLabel, err)
	}
	if n > 0 {
		out.Line("forgot %q's SSH host key in %s", rec.NameLabel, h.Config.KnownHosts)
	}
	return nil
}

// recordHostKeyIfNew records domU's key for addr when known_hosts has no
// line for that address yet (domU came back at another address after a
// revert or a resume): the usual case, the same address, costs no xapi
// round trip.
func recordHostKeyIfNew(ctx context.Context, h *hosts.Host, lab *localrc.Config, vm xapi.Ref, addr string, out provision.Output) error {
	if known, err := knownHost(h.Config.KnownHosts, addr); err == nil && known {
		return nil
	}
	inv, err := h.Inventory(ctx)
	if err != nil {
		return err
	}
	return recordHostKeyAt(h, lab, inv.VMs[vm], addr, out)
}

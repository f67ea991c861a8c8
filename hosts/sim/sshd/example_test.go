package sshd_test

import (
	"context"
	"fmt"
	"log"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"xenlab/hosts/sim/sshd"
)

// A simulated dom0: root logs in with a password or a key, OVS tools come
// first on PATH, and dom0's identifying files exist from the start.
func ExampleStart() {
	var userKey ssh.PublicKey // the lab's key, from ssh.ParseAuthorizedKey
	srv, err := sshd.Start(context.Background(), sshd.Config{
		Name:        "dom0",
		Root:        "/var/lib/xenlab/sim/dom0",
		Addr:        "127.0.0.1:0",
		HostKeyFile: "/var/lib/xenlab/sim/keys/dom0_ed25519",
		Users: map[string]sshd.User{
			"root": {Password: "secrete", AuthorizedKeys: []ssh.PublicKey{userKey}, Home: "/root"},
		},
		Env: []string{"PATH=/var/lib/xenlab/sim/dom0-ovs/bin"},
		Skeleton: map[string]string{
			"/etc/xensource/network.conf": "openvswitch\n",
			"/etc/xapi.d/plugins/":        "",
		},
		Logf: log.Printf,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	// What a client's known_hosts needs.
	fmt.Println(knownhosts.Line([]string{knownhosts.Normalize(srv.Addr())}, srv.HostKey()))
}

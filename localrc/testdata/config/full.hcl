lab = "devstack"

host "xs1" {
  xapi_url         = "https://192.168.1.10"
  xapi_user        = "root"
  xapi_password    = env("XENLAB_TEST_PASSWORD")
  xapi_fingerprint = "sha256:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89"
  ssh_port         = 2222
  ssh_key          = "keys/id_ed25519"
  known_hosts      = "lab_known_hosts"
}

host "xs2" {
  xapi_url      = "http://192.168.1.11:8080"
  xapi_password = env("XENLAB_TEST_UNSET", "fallback")
  ssh_password  = trimspace(file("dom0.pass"))
}

networks {
  management         = "Pool-wide network associated with eth0"
  integration_bridge = "attach"
}

domu {
  memory = "3GiB"
  vcpus  = 4
  disk   = "20GiB"
  vm_ip  = "10.0.0.2/16"
  devices {
    integration = 1
  }
  ubuntu {
    release = "raring"
    proxy   = "http://proxy.lab:3128"
    preseed = file("preseed.cfg")
  }
}

quantum {
  vlan_range = "2000:2100"
  agent "q-domua" {
    physical_bridge = "br-eth2"
  }
}

devstack {
  branch           = "stable/grizzly"
  enabled_services = ["quantum", "q-svc", "q-agt", "q-domua", "-n-net"]
  extra = {
    Q_USE_SECGROUP = "False"
    MULTI_HOST     = 1
    ADMIN_PASSWORD = "s3cret"
    EXTRA_OPTS     = ["a=b", "c=d e"]
  }
}

timeouts {
  stack = "1h30m"
}

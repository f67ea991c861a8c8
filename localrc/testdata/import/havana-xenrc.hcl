# Lab file imported by `xenlab localrc import` from havana-xenrc.localrc.
# Settings not written here keep xenlab's defaults (docs/configuration.md).
lab = "devstack"

host "dom0" {
  xapi_url      = "https://xenserver.lab.example:443"
  xapi_user     = "root"
  xapi_password = env("XENAPI_PASSWORD")
}

networks {
  vm          = "vmnet"
  public      = "pubnet"
  integration = "intnet"
  management  = "Pool-wide network associated with eth0"
}

domu {
  xvdb_size        = "20GiB"
  rebuild_template = true
  password         = env("GUEST_PASSWORD")
  ssh_user         = "stack"
  management_ip    = "dhcp"
  vm_ip            = "dhcp"
  public_ip        = "172.24.5.10/16"

  devices {
    management = 0
    vm         = 1
  }

  ubuntu {
    release     = "precise"
    arch        = "i386"
    mirror_host = "mirror.lab.example"
    mirror_dir  = "/mirror/ubuntu"
    proxy       = ""
  }
}

quantum {
  plugin           = "openvswitch"
  physical_network = "physnet1"
  vlan_range       = "1:4094"

  agent "q-domua" {
    physical_bridge = "br-eth1"
  }
}

devstack {
  base_services    = ["g-api", "g-reg", "key", "n-api", "n-crt", "n-obj", "n-cpu", "n-cond", "n-sch", "horizon", "mysql", "rabbit", "q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "q-domua", "neutron"]
  enabled_services = []
  extra = {
    LOGDAYS        = "2"
    LOG_COLOR      = "False"
    Q_USE_SECGROUP = "False"
    SCREEN_LOGDIR  = "/opt/stack/logs"
  }
}

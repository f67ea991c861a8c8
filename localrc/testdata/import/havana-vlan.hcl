# Lab file imported by `xenlab localrc import` from havana-vlan.localrc.
# Settings not written here keep xenlab's defaults (docs/configuration.md).
lab = "devstack"

host "dom0" {
  xapi_url      = "http://192.168.56.101"
  xapi_user     = "root"
  xapi_password = env("XENAPI_PASSWORD")
}

networks {
  vm          = "OpenStack VM Network"
  public      = "OpenStack Public Network"
  integration = "OpenStack VM Integration Network"
}

domu {
  name          = "DevStackOSDomU"
  memory        = "3GiB"
  disk          = "16GiB"
  password      = env("GUEST_PASSWORD")
  management_ip = "dhcp"
  vm_ip         = "10.255.255.255/24"
  public_ip     = "172.24.4.10/24"

  devices {
    management  = 0
    vm          = 1
    public      = 2
    integration = 3
  }

  ubuntu {
    release     = "precise"
    mirror_host = "gb.archive.ubuntu.com"
    proxy       = "http://10.0.0.1:3128"
  }
}

quantum {
  plugin              = "openvswitch"
  physical_network    = "physnet1"
  vlan_range          = "1000:1024"
  tenant_network_type = "vlan"
}

devstack {
  enabled_services = ["quantum", "q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "q-domua", "-n-net"]
  extra = {
    ADMIN_PASSWORD   = env("ADMIN_PASSWORD")
    LOGFILE          = "/tmp/devstack/stack.sh.log"
    MULTI_HOST       = "1"
    MYSQL_PASSWORD   = env("MYSQL_PASSWORD")
    Q_USE_SECGROUP   = "False"
    RABBIT_PASSWORD  = env("RABBIT_PASSWORD")
    SCREEN_LOGDIR    = "$${DEST}/logs/screen"
    SERVICE_PASSWORD = env("ADMIN_PASSWORD")
    SERVICE_TOKEN    = env("SERVICE_TOKEN")
    VIRT_DRIVER      = "xenserver"
  }
}

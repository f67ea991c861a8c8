# Lab file imported by `xenlab localrc import` from ocata-os-xenapi.localrc.
# Settings not written here keep xenlab's defaults (docs/configuration.md).
lab = "devstack"

host "dom0" {
  xapi_url      = "http://169.254.0.1"
  xapi_password = env("XENAPI_PASSWORD")
}

quantum {
  physical_network = "physnet1"
  vlan_range       = "1100:1200"
}

devstack {
  enabled_services = ["neutron", "q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "q-domua", "-n-net"]
  extra = {
    ADMIN_PASSWORD            = env("ADMIN_PASSWORD")
    DATABASE_PASSWORD         = env("ADMIN_PASSWORD")
    LOGFILE                   = "$${DEST}/logs/stack.sh.log"
    Q_ML2_TENANT_NETWORK_TYPE = "vlan"
    VIRT_DRIVER               = "xenserver"
    XENSERVER_IP              = "192.0.2.30"
    XENSERVER_PASSWORD        = env("XENSERVER_PASSWORD")
  }
}

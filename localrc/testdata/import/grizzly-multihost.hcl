# Lab file imported by `xenlab localrc import` from grizzly-multihost.localrc.
# Settings not written here keep xenlab's defaults (docs/configuration.md).
lab = "devstack"

host "dom0" {
  xapi_url      = "https://10.10.0.5"
  xapi_password = env("XENAPI_PASSWORD")
}

domu {
  name   = "OpenStack-192.168.1.20"
  memory = "6GiB"
  disk   = "40GiB"
}

quantum {
  plugin              = "openvswitch"
  physical_network    = "physnet1"
  vlan_range          = "2000:2999"
  tenant_network_type = "vlan"
}

devstack {
  base_services    = ["g-api", "g-reg", "key", "n-api", "n-crt", "n-obj", "n-cpu", "n-cond", "cinder", "c-sch", "c-api", "c-vol", "n-sch", "n-novnc", "n-xvnc", "n-cauth", "horizon", "rabbit", "tempest", "mysql", "q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "quantum", "q-domua"]
  enabled_services = []
  extra = {
    ADMIN_PASSWORD      = env("ADMIN_PASSWORD")
    API_RATE_LIMIT      = "False"
    DATABASE_PASSWORD   = env("DATABASE_PASSWORD")
    EXTRA_OPTS          = ["force_config_drive=true", "flat_injected=False"]
    FLAT_NETWORK_BRIDGE = "xapi1"
    HOST_IP             = "192.168.1.20"
    IMAGE_URLS          = "$${IMAGE_URLS},http://download.cirros-cloud.net/0.3.1/cirros-0.3.1-x86_64-uec.tar.gz"
    MULTI_HOST          = "1"
    MYSQL_HOST          = "192.168.1.20"
    RABBIT_HOST         = "192.168.1.20"
    SERVICE_HOST        = "192.168.1.20"
    SERVICE_PASSWORD    = env("ADMIN_PASSWORD")
    SERVICE_TOKEN       = env("SERVICE_TOKEN")
    SWIFT_HASH          = env("SWIFT_HASH")
    VIRT_DRIVER         = "xenserver"
  }
}

# Lab file imported by `xenlab localrc import` from grizzly-novanet.localrc.
# Settings not written here keep xenlab's defaults (docs/configuration.md).
lab = "devstack"

host "dom0" {
  xapi_url      = "https://10.20.0.2"
  xapi_password = env("XENAPI_PASSWORD")
}

domu {
  memory = "3GiB"

  ubuntu {
    ip = "dhcp"
  }
}

devstack {
  enabled_services = []
  extra = {
    ADMIN_PASSWORD      = env("ADMIN_PASSWORD")
    FLAT_NETWORK_BRIDGE = "xapi1"
    MYSQL_PASSWORD      = env("MYSQL_PASSWORD")
    PUBLIC_INTERFACE    = "eth2"
    RABBIT_PASSWORD     = env("RABBIT_PASSWORD")
    SERVICE_PASSWORD    = env("ADMIN_PASSWORD")
    SERVICE_TOKEN       = env("SERVICE_TOKEN")
  }
}

lab = "devstack"

host "xs1" {
  xapi_url      = "https://192.168.1.10"
  xapi_password = "x"
}

networks {
  public             = "OpenStack VM Network"
  management         = ""
  integration_bridge = "vif"
}

domu {
  vm_ip     = "10.0.0.300/24"
  public_ip = "dhcp"
  ubuntu {
    arch = "arm64"
  }
}

devstack {
  enabled_services = ["q-agt", "bad service"]
  extra = {
    Q_PLUGIN       = "ml2"
    Q_USE_SECGROUP = false
    "NOT-A-NAME"   = "x"
  }
}

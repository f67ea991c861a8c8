lab = "devstack"

host "xs1" {
  xapi_url      = "https://192.168.1.10"
  xapi_password = "x"
}

quantum {
  vlan_range = "1024:1000"
  agent "q-dom0" {}
  agent "q-domua" {
    physical_bridge = "br-int"
  }
}

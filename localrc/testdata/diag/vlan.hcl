lab = "devstack"

host "xs1" {
  xapi_url      = "https://192.168.1.10"
  xapi_password = "x"
}

quantum {
  vlan_range = "1000:5000"
}

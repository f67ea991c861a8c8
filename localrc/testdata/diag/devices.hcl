lab = "devstack"

host "xs1" {
  xapi_url      = "https://192.168.1.10"
  xapi_password = "x"
}

domu {
  devices {
    vm          = 0
    integration = 2
  }
}

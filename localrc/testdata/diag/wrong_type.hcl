lab = "devstack"

host "xs1" {
  xapi_url      = "https://192.168.1.10"
  xapi_password = "x"
  ssh_port      = "twenty-two"
}

domu {
  vcpus = [2]
}

devstack {
  enabled_services = "quantum,q-svc"
}

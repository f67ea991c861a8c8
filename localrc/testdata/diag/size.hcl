lab = "devstack"

host "xs1" {
  xapi_url      = "https://192.168.1.10"
  xapi_password = "x"
}

domu {
  memory = "4GB"
  disk   = "4GiB"
  xvdb_size = "lots"
}

lab = "devstack"

host "xs1" {
  xapi_url      = "https://192.168.1.10"
  xapi_pasword  = "x"
  xapi_password = "x"
}

domu {
  memroy = "4GiB"
}

lab = "devstack"

host "xs1" {
  xapi_url      = "https://192.168.1.10"
  xapi_password = "x"
}

timeouts {
  step  = "20 minutes"
  stack = "-5m"
}

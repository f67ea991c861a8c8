lab = "devstack"

host "xs1" {
  xapi_url = "https://192.168.1.10
}

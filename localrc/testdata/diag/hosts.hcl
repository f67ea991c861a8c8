lab = "my lab"

host "xs1" {
  xapi_url         = "ftp://192.168.1.10"
  xapi_password    = "x"
  xapi_fingerprint = "sha1:00:11"
}

host "xs1" {
  xapi_url      = "https://root:pw@192.168.1.11"
  xapi_password = "x"
}

host "xs2" {
  xapi_url      = "https://192.168.1.12"
  xapi_password = env("XENLAB_GOLDEN_UNSET")
  ssh_password  = file("missing.pass")
}

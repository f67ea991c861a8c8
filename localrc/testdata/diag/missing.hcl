host "xs1" {
  xapi_user = "root"
}

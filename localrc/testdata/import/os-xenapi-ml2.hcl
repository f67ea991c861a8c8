# Lab file imported by `xenlab localrc import` from os-xenapi-ml2.localrc.
# Settings not written here keep xenlab's defaults (docs/configuration.md).
lab = "devstack"

host "dom0" {
  xapi_url      = "http://192.0.2.30"
  xapi_password = env("XENAPI_PASSWORD")
}

networks {
  vm = "osvmnet"
}

domu {
  memory   = "8GiB"
  password = env("GUEST_PASSWORD")
}

devstack {
  base_services    = ["g-api", "g-reg", "key", "n-api", "n-crt", "n-obj", "n-cpu", "n-net", "n-cond", "cinder", "c-sch", "c-api", "c-vol", "n-sch", "n-novnc", "n-xvnc", "n-cauth", "horizon", "rabbit", "tempest", "mysqlneutron", "q-domua"]
  enabled_services = []
  extra = {
    ADMIN_PASSWORD                 = env("ADMIN_PASSWORD")
    GIT_BASE                       = "https://github.com"
    LOGDIR                         = "/opt/stack/devstack_logs"
    LOGFILE                        = "/opt/stack/devstack_logs/stack.log"
    MYSQL_PASSWORD                 = env("MYSQL_PASSWORD")
    Q_ML2_PLUGIN_MECHANISM_DRIVERS = "openvswitch"
    Q_ML2_TENANT_NETWORK_TYPE      = "vxlan"
    VIRT_DRIVER                    = "xenserver"
    VNCSERVER_PROXYCLIENT_ADDRESS  = "192.0.2.30"
  }
}

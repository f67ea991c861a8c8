# Lab file imported by `xenlab localrc import` from havana-ci.localrc.
# Settings not written here keep xenlab's defaults (docs/configuration.md).
lab = "devstack"

host "dom0" {
  xapi_url      = "http://address_of_your_xenserver"
  xapi_password = env("XENSERVER_PASS")
}

networks {
  management_bridge = "xenbr0"
}

domu {
  memory   = "4GiB"
  password = env("ADMIN_PASSWORD")

  ubuntu {
    ip = "192.168.33.40/24"
  }
}

quantum {
  physical_network = "physnet1"
  vlan_range       = "1000:1024"
}

devstack {
  base_services    = ["g-api", "g-reg", "key", "n-api", "n-crt", "n-obj", "n-cpu", "n-cond", "cinder", "c-sch", "c-api", "c-vol", "n-sch", "n-novnc", "n-xvnc", "n-cauth", "horizon", "rabbit", "tempest", "mysqlneutron", "q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "q-domua", "tempest"]
  enabled_services = []
  extra = {
    ADMIN_PASSWORD      = env("ADMIN_PASSWORD")
    DB_INIT             = "mysql -uroot -p$${ADMIN_PASSWORD} -e 'select 1'"
    EXTRA_OPTS          = ["xenapi_vmops_timeout=600", "--sql_password=$${EXTRA_OPTS_PASSWORD}", "flat_injected=True"]
    EXTRA_OPTS_PASSWORD = env("EXTRA_OPTS_PASSWORD")
    MYSQL_PASSWORD      = env("ADMIN_PASSWORD")
    RABBIT_PASSWORD     = env("ADMIN_PASSWORD")
    SERVICE_PASSWORD    = env("ADMIN_PASSWORD")
    SERVICE_TOKEN       = env("ADMIN_PASSWORD")
    SWIFT_HASH          = env("SWIFT_HASH")
    VIRT_DRIVER         = "xenserver"
    XENSERVER_PASS      = env("XENSERVER_PASS")
  }
}

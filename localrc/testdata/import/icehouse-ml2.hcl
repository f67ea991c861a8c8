# Lab file imported by `xenlab localrc import` from icehouse-ml2.localrc.
# Settings not written here keep xenlab's defaults (docs/configuration.md).
lab = "devstack"

host "dom0" {
  xapi_url      = "http://169.254.0.1"
  xapi_password = env("XENAPI_PASSWORD")
}

networks {
  vm         = "OpenStack VM Network"
  management = "Pool-wide network associated with eth0"
}

quantum {
  physical_network = "physnet1"
  vlan_range       = "1100:1199"
}

devstack {
  base_services    = ["g-api", "g-reg", "key", "n-api", "n-crt", "n-obj", "n-cpu", "n-cond", "cinder", "c-sch", "c-api", "c-vol", "n-sch", "n-novnc", "n-xvnc", "n-cauth", "horizon", "rabbit", "mysql", "q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "q-domua"]
  enabled_services = []
  extra = {
    ADMIN_PASSWORD           = env("ADMIN_PASSWORD")
    DATABASE_PASSWORD        = env("DATABASE_PASSWORD")
    KEYSTONE_CATALOG_BACKEND = "sql"
    NOVA_DB_URL              = "mysql://root:$${NOVA_DB_URL_PASSWORD}@127.0.0.1/nova?charset=utf8"
    NOVA_DB_URL_PASSWORD     = env("NOVA_DB_URL_PASSWORD")
    RABBIT_PASSWORD          = env("RABBIT_PASSWORD")
    SCREEN_LOGDIR            = "$${DEST}/logs/screen"
    SERVICE_PASSWORD         = env("ADMIN_PASSWORD")
    SERVICE_TOKEN            = env("SERVICE_TOKEN")
    SWIFT_CONF               = "--auth-url http://127.0.0.1:5000/v2.0 --os-password $${ADMIN_PASSWORD}"
  }
}

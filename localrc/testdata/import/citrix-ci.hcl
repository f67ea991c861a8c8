# Lab file imported by `xenlab localrc import` from citrix-ci.localrc.
# Settings not written here keep xenlab's defaults (docs/configuration.md).
lab = "devstack"

host "dom0" {
  xapi_url      = "http://169.254.0.1"
  xapi_password = env("XENAPI_PASSWORD")
}

domu {
  password = env("GUEST_PASSWORD")
}

quantum {
  plugin = "openvswitch"
}

devstack {
  enabled_services = ["-n-net", "q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "q-domua", "quantum"]
  extra = {
    ADMIN_PASSWORD   = env("ADMIN_PASSWORD")
    IMAGE_URLS       = "https://github.com/downloads/citrix-openstack/warehouse/cirros-0.3.0-x86_64-disk.vhd.tgz"
    LOGFILE          = "$${DEST}/devstack.log"
    MYSQL_PASSWORD   = env("MYSQL_PASSWORD")
    NOVA_BRANCH      = "ci-$${GITHUB_USER}"
    NOVA_REPO        = "https://github.com/citrix-openstack/nova.git"
    RABBIT_USERID    = "$${XENAPI_PASSWORD}"
    SCREEN_LOGDIR    = "$${DEST}/logs"
    SERVICE_PASSWORD = env("ADMIN_PASSWORD")
    SERVICE_TOKEN    = env("SERVICE_TOKEN")
    SWIFT_CMD        = "swift -U admin:admin -K $${XENAPI_PASSWORD} stat"
  }
}

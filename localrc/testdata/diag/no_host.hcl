lab = "devstack"

networks {
  vm = "OpenStack VM Network"
}

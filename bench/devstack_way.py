#!/usr/bin/env python3
"""The lab brought up devstack's way, for bench/ to compare with xenlab.

It does what devstack's tools/xen/install_os_domU.sh did, in its order, at
devstack commit d91dd6f400b4424abd792d514eb19090642150a9 (branch
havana-eol, 2014-08-26; `git show havana-eol:tools/xen/install_os_domU.sh`
and tools/xen/functions), on the path a nightly run takes: the template
jeos_template_for_devstack already exists, DO_SHUTDOWN=1, neutron with
q-agt, WAIT_TILL_LAUNCH=1. What made it slow is kept as it was:

- every `xe` command is a new xapi session: login_with_password, its calls,
  session.logout (the xe CLI logs in and out for each command); an `xe
  ...-list` by name-label is get_by_name_label, by another field
  get_all_records filtered here;
- every dom0 shell command is a command of its own: install_os_domU.sh ran
  in dom0, so these are local commands there, which this model runs over
  one SSH connection to dom0 (the operator's login; ssh's ControlMaster),
  each a session of its own, counted as dom0_commands, not as handshakes;
  devstack's probe of domU is a new SSH connection, as it was;
- the waits poll as devstack did: wait_for_VM_to_halt every 20 s,
  find_ip_by_name every 10 s (10 tries), scaled by --scale like the rest.

Not reproduced: downloading nova's and neutron's zipballs (only neutron's
netwrap plugin is copied, from xenlab's scripts/netwrap), the file work
prepare_guest_template.sh and build_xva.sh did on domU's mounted disk (each
is one xe command and as many SSH connections as it ran commands, running
`true`), and stack.sh in domU: the run ends when domU answers on SSH, which
is where devstack began to poll for run.sh.log. The guest's own halt at the
end of prepare_guest.sh (first boot) is played by a second, uncounted
session that shuts the VM down once it has booted (reported an IP); its
calls are reported apart (model_round_trips), for bench/ to subtract.

Input: one JSON object on stdin (xapi_url, password_file, dom0_ssh,
ssh_key, known_hosts, guest_ssh_port, netwrap, scale, control_dir). The
password is read from its file and never printed. Output: one JSON line on
stdout with wall_seconds, xapi_round_trips (api_calls plus session_calls:
the logins and logouts of its xe commands), ssh_connections,
dom0_commands, sessions and model_round_trips. With --cleanup
it removes what a previous run made (uncounted) and prints nothing.
"""

import json
import os
import subprocess
import sys
import threading
import time
import xmlrpc.client

try:
    import XenAPI
except ImportError:
    from os_xenapi.client import XenAPI

GUEST_NAME = "DevStackOSDomU"
TNAME = "jeos_template_for_devstack"
NETS = {  # xenrc defaults (havana-eol)
    "VM_BRIDGE_OR_NET_NAME": "OpenStack VM Network",
    "PUB_BRIDGE_OR_NET_NAME": "OpenStack Public Network",
    "XEN_INT_BRIDGE_OR_NET_NAME": "OpenStack VM Integration Network",
}
MGT_DEV_NR, VM_DEV_NR, PUB_DEV_NR = "0", "1", "2"
OSDOMU_MEM_MB = 3072


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.round_trips = 0
        self.api_calls = 0
        self.session_calls = 0
        self.ssh = 0
        self.dom0_commands = 0
        self.sessions = 0

    def add(self, field):
        with self.lock:
            setattr(self, field, getattr(self, field) + 1)


class CountingTransport(xmlrpc.client.Transport):
    """One request is one HTTP round trip."""

    def __init__(self, counter):
        super().__init__()
        self.counter = counter

    SESSION = (b"<methodName>session.login_with_password</methodName>",
               b"<methodName>session.logout</methodName>")

    def request(self, host, handler, request_body, verbose=False):
        if self.counter is not None:
            self.counter.add("round_trips")
            body = request_body if isinstance(request_body, bytes) else request_body.encode()
            self.counter.add("session_calls" if any(m in body for m in self.SESSION) else "api_calls")
        return super().request(host, handler, request_body, verbose)


class Lab:
    def __init__(self, cfg, counter, model=None):
        self.cfg = cfg
        self.counter = counter
        self.model = model  # counts the calls that play the guest, not devstack
        with open(cfg["password_file"]) as f:
            self.password = f.read().strip()
        self.scale = float(cfg["scale"])
        host, port = cfg["dom0_ssh"].rsplit(":", 1)
        self.dom0 = (host, port)
        self.control = os.path.join(cfg["control_dir"], "dom0")

    # --- xe: a new session per command -------------------------------
    def xe(self, fn):
        s = XenAPI.Session(self.cfg["xapi_url"], transport=CountingTransport(self.counter))
        s.xenapi.login_with_password("root", self.password, "1.0", "devstack-way")
        if self.counter is not None:
            self.counter.add("sessions")
        try:
            return fn(s.xenapi)
        finally:
            s.xenapi.session.logout()

    def vm_uuid(self, name):  # _vm_uuid: xe vm-list name-label=... --minimal
        return self.xe(lambda x: [r for r in x.VM.get_by_name_label(name)
                                  if not x.VM.get_is_a_template(r)])

    def bridge_exists(self, name):  # _bridge_exists
        return self.xe(lambda x: [r for r, n in x.network.get_all_records().items() if n["bridge"] == name])

    def network_uuid(self, name):  # _network_uuid
        nets = self.bridge_exists(name)
        if nets:
            return nets[0]
        return self.xe(lambda x: x.network.get_by_name_label(name))[0]

    def bridge_for(self, name):
        if self.bridge_exists(name):
            return name
        return self.xe(lambda x: x.network.get_bridge(x.network.get_by_name_label(name)[0]))

    # --- dom0 and domU commands: a new SSH connection each -----------
    def ssh(self, host, port, user, command, stdin=None, check_host=True, control=None):
        opts = ["-i", self.cfg["ssh_key"], "-p", str(port), "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
        if control is None:
            if self.counter is not None:
                self.counter.add("ssh")
        else:
            # One connection, made by the first command (the operator's
            # login to dom0), then a session on it per command.
            if self.counter is not None:
                if not os.path.exists(control):
                    self.counter.add("ssh")
                self.counter.add("dom0_commands")
            opts += ["-o", "ControlMaster=auto", "-o", "ControlPath=" + control, "-o", "ControlPersist=120"]
        if check_host:
            opts += ["-o", "UserKnownHostsFile=" + self.cfg["known_hosts"], "-o", "StrictHostKeyChecking=yes"]
        else:  # devstack's ssh_no_check
            opts += ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no"]
        return subprocess.run(["ssh"] + opts + ["%s@%s" % (user, host), command],
                              input=stdin, capture_output=True, text=True, timeout=120)

    def dom0_sh(self, command, stdin=None):
        """A command install_os_domU.sh ran in dom0 (locally there)."""
        return self.ssh(self.dom0[0], self.dom0[1], "root", command, stdin, control=self.control)

    def close_dom0(self):
        if os.path.exists(self.control):
            subprocess.run(["ssh", "-o", "ControlPath=" + self.control, "-O", "exit", "dom0"],
                           capture_output=True, timeout=30)

    def sleep(self, seconds):
        time.sleep(seconds * self.scale)

    # --- install_os_domU.sh ------------------------------------------
    def run(self):
        if len(self.xe(lambda x: x.host.get_all())) > 1:  # have_multiple_hosts
            raise SystemExit("multiple hosts found")
        # install_xapi_plugins_from (neutron's netwrap only)
        plugin_dir = self.dom0_sh('for d in /etc/xapi.d/plugins/ /usr/lib/xcp/plugins/ /usr/lib/xapi/plugins; '
                                  'do [ -d $d ] && echo $d && break; done').stdout.strip()
        with open(self.cfg["netwrap"]) as f:
            self.dom0_sh("cat > %snetwrap" % plugin_dir, stdin=f.read())
        self.dom0_sh("chmod a+x %s*" % plugin_dir)
        # create_directory_for_kernels / _images
        for link, sub in (("/boot/guest", "os-guest-kernels"), ("/images", "os-images")):
            if self.dom0_sh("[ -d %s ]" % link).returncode != 0:
                sr = self.xe(lambda x: x.SR.get_uuid(x.SR.get_by_name_label("Local storage")[0]))
                self.dom0_sh("mkdir -p /var/run/sr-mount/%s/%s && ln -s /var/run/sr-mount/%s/%s %s"
                             % (sr, sub, sr, sub, link))
        # the management network and its bridge
        mgt_net = self.xe(lambda x: [p["network"] for p in x.PIF.get_all_records().values() if p["management"]])[0]
        mgt_bridge = self.xe(lambda x: x.network.get_bridge(mgt_net))
        for name in (NETS["VM_BRIDGE_OR_NET_NAME"], mgt_bridge, NETS["PUB_BRIDGE_OR_NET_NAME"],
                     NETS["XEN_INT_BRIDGE_OR_NET_NAME"]):  # setup_network
            if self.bridge_exists(name):
                continue
            if self.xe(lambda x: x.network.get_by_name_label(name)):
                self.xe(lambda x: x.network.get_by_name_label(name))  # _multiple_networks_with_name
            else:
                self.xe(lambda x: x.network.create({"name_label": name, "name_description": "",
                                                    "MTU": "1500", "other_config": {}}))
        for _ in range(2):  # xenapi_is_listening_on, then HOST_IP=$(xenapi_ip_on ...)
            self.dom0_sh("ip -4 addr show %s" % self.bridge_for(mgt_bridge))
        # ip_forward in rc.local and now
        self.dom0_sh('grep -q "echo 1 >/proc/sys/net/ipv4/ip_forward" /etc/rc.local || '
                     'echo "echo 1 >/proc/sys/net/ipv4/ip_forward" >> /etc/rc.local')
        self.dom0_sh("echo 1 > /proc/sys/net/ipv4/ip_forward || true")
        # DO_SHUTDOWN: uninstall-os-vpx.sh, nova instances, Glance VDIs
        old = self.xe(lambda x: [r for r, v in x.VM.get_all_records().items()
                                 if v["other_config"].get("os-vpx") == "true" and not v["is_a_template"]])
        for vm in old:
            self.xe(lambda x: x.VM.hard_shutdown(vm) if x.VM.get_power_state(vm) == "Running" else None)
            self.xe(lambda x: x.VM.destroy(vm))
        self.xe(lambda x: x.VM.get_all_records())
        self.xe(lambda x: x.VDI.get_all_records())
        # the template exists: vm-install from it
        tmpl = self.xe(lambda x: x.VM.get_by_name_label(TNAME))
        if not tmpl:
            raise SystemExit("no template %s on the host" % TNAME)

        def vm_install(x):
            vm = x.VM.clone(tmpl[0], GUEST_NAME)
            x.VM.provision(vm)
            x.VM.set_is_a_template(vm, False)
            x.VM.add_to_other_config(vm, "os-vpx", "true")
            return vm
        vm = self.xe(vm_install)
        # prepare_guest_template.sh: domU's disk mounted in dom0, files written
        self.xe(lambda x: x.VM.get_VBDs(vm))
        for _ in range(4):
            self.dom0_sh("true")
        self.set_vm_memory()
        self.max_vcpus()
        # first boot: prepare_guest.sh runs in domU, then halts it
        self.xe(lambda x: x.VM.start(vm, False, False))
        halter = threading.Thread(target=self.guest_halts_itself, args=(vm,))
        halter.start()
        self.xe(lambda x: x.VM.get_domid(vm))  # domid=$(xe vm-list ... params=dom-id)
        self.dom0_sh("true")  # xenstore-read .../console/vnc-port
        while True:  # wait_for_VM_to_halt
            if self.xe(lambda x: x.VM.get_power_state(vm)) == "Halted":
                break
            self.sleep(20)
        halter.join()
        self.xe(lambda x: x.VM.set_actions_after_reboot(vm, "restart"))
        # destroy_all_vifs_of, then add_interface x3
        v = self.vm_uuid(GUEST_NAME)[0]
        for vif in self.xe(lambda x: x.VM.get_VIFs(v)):
            self.xe(lambda x: x.VIF.destroy(vif))
        for net, dev in ((NETS["VM_BRIDGE_OR_NET_NAME"], VM_DEV_NR), (mgt_bridge, MGT_DEV_NR),
                         (NETS["PUB_BRIDGE_OR_NET_NAME"], PUB_DEV_NR)):
            v = self.vm_uuid(GUEST_NAME)[0]
            n = self.network_uuid(net)
            self.xe(lambda x: x.VIF.create({"device": dev, "network": n, "VM": v, "MAC": "", "MTU": "1500",
                                            "other_config": {}, "qos_algorithm_type": "",
                                            "qos_algorithm_params": {}}))
        # build_xva.sh: the disk mounted again, localrc and run.sh written
        self.xe(lambda x: x.VM.get_VBDs(vm))
        for _ in range(4):
            self.dom0_sh("true")
        # attach_network, then the two bridges on the kernel command line
        n = self.network_uuid(NETS["XEN_INT_BRIDGE_OR_NET_NAME"])
        h = self.xe(lambda x: x.host.get_all())[0]
        self.xe(lambda x: x.network.attach(n, h))
        self.append_kernel_cmdline("xen_integration_bridge=" + self.bridge_for(NETS["XEN_INT_BRIDGE_OR_NET_NAME"]))
        self.append_kernel_cmdline("flat_network_bridge=" + self.bridge_for(NETS["VM_BRIDGE_OR_NET_NAME"]))
        self.xe(lambda x: x.VM.snapshot(vm, "before_first_boot"))
        self.xe(lambda x: x.VM.start(vm, False, False))
        ip = self.find_ip_by_name(vm, MGT_DEV_NR)
        # WAIT_TILL_LAUNCH: devstack now polls domU for run.sh.log; the
        # first probe is where this model stops.
        self.ssh(ip, self.cfg["guest_ssh_port"], "stack", "true", check_host=False)
        return ip

    def set_vm_memory(self):
        v = self.vm_uuid(GUEST_NAME)[0]
        b = str(OSDOMU_MEM_MB * 1024 * 1024)
        self.xe(lambda x: x.VM.set_memory_limits(v, b, b, b, b))

    def max_vcpus(self):
        h = self.xe(lambda x: x.host.get_all())[0]
        v = self.vm_uuid(GUEST_NAME)[0]
        n = self.xe(lambda x: x.host.get_cpu_info(h)).get("cpu_count", "1")
        self.xe(lambda x: x.VM.set_VCPUs_max(v, n))
        self.xe(lambda x: x.VM.set_VCPUs_at_startup(v, n))

    def append_kernel_cmdline(self, arg):
        v = self.vm_uuid(GUEST_NAME)[0]
        pv = self.xe(lambda x: x.VM.get_PV_args(v))
        self.xe(lambda x: x.VM.set_PV_args(v, (pv + " " + arg).strip()))

    def find_ip_by_name(self, vm, dev):
        for _ in range(10):
            def ip(x):
                m = x.VM.get_guest_metrics(vm)
                if m == "OpaqueRef:NULL":
                    return ""
                return x.VM_guest_metrics.get_networks(m).get(dev + "/ip", "")
            addr = self.xe(ip)
            if addr:
                return addr
            self.sleep(10)
        raise SystemExit("Timeout: ip address for interface %s of %s" % (dev, GUEST_NAME))

    def guest_halts_itself(self, vm):
        """The end of prepare_guest.sh in domU: halt. Uncounted."""
        quiet = Lab(self.cfg, self.model)
        for _ in range(600):
            def booted(x):
                m = x.VM.get_guest_metrics(vm)
                return m != "OpaqueRef:NULL" and x.VM_guest_metrics.get_networks(m)
            if quiet.xe(booted):
                quiet.xe(lambda x: x.VM.clean_shutdown(vm))
                return
            time.sleep(0.1)

    def cleanup(self):
        def clean(x):
            for r, v in x.VM.get_all_records().items():
                if v["is_a_template"] and not v["is_a_snapshot"]:
                    continue
                if v["name_label"] not in (GUEST_NAME, "before_first_boot"):
                    continue
                if v["power_state"] != "Halted":
                    x.VM.hard_shutdown(r)
                for vbd in v["VBDs"]:
                    vdi = x.VBD.get_VDI(vbd)
                    if vdi != "OpaqueRef:NULL" and x.VBD.get_type(vbd) == "Disk":
                        try:
                            x.VDI.destroy(vdi)
                        except XenAPI.Failure:
                            pass
                x.VM.destroy(r)
            for name in NETS.values():
                for n in x.network.get_by_name_label(name):
                    for vif in x.network.get_VIFs(n):
                        x.VIF.destroy(vif)
                    x.network.destroy(n)
        self.xe(clean)


def main():
    cfg = json.load(sys.stdin)
    if "--cleanup" in sys.argv:
        Lab(cfg, None).cleanup()
        return
    counter, model = Counter(), Counter()
    start = time.monotonic()
    lab = Lab(cfg, counter, model)
    try:
        lab.run()
        wall = time.monotonic() - start
    finally:
        lab.close_dom0()
    print(json.dumps({"wall_seconds": wall, "xapi_round_trips": counter.round_trips,
                      "api_calls": counter.api_calls, "session_calls": counter.session_calls,
                      "ssh_connections": counter.ssh, "dom0_commands": counter.dom0_commands,
                      "sessions": counter.sessions, "model_round_trips": model.round_trips,
                      "model_session_calls": model.session_calls}))


if __name__ == "__main__":
    main()

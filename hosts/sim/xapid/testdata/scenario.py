"""Drive the simulated xapi with the stock XenAPI Python client.

Usage: XENLAB_TEST_PASSWORD=... scenario.py URL. Prints one JSON object with what each step
saw; the Go test checks it against what real xapi answers.
"""
import json
import os
import sys

try:
    import XenAPI
except ImportError:
    from os_xenapi.client import XenAPI


def failure(fn):
    try:
        fn()
    except XenAPI.Failure as e:
        return list(e.details)
    return None


def main():
    url, password = sys.argv[1], os.environ["XENLAB_TEST_PASSWORD"]
    out = {}
    bad = XenAPI.Session(url)
    out["bad_password"] = failure(lambda: bad.xenapi.login_with_password("root", "not-the-password"))

    s = XenAPI.Session(url)
    s.xenapi.login_with_password("root", password, "1.0", "xenlab-scenario")
    x = s.xenapi
    out["api_version"] = s.API_version
    host = x.pool.get_master(x.pool.get_all()[0])
    out["network_backend"] = x.host.get_software_version(host).get("network_backend")

    net = x.network.create({"name_label": "OpenStack VM Network", "name_description": "",
                            "MTU": "1500", "other_config": {}})
    out["bridge"] = x.network.get_bridge(net)
    out["managed"] = x.network.get_record(net).get("managed")  # 7.2 and later

    tpl = x.VM.get_by_name_label("Ubuntu Precise Pangolin 12.04 (64-bit)")[0]
    vm = x.VM.clone(tpl, "DevStackOSDomU")
    x.VM.provision(vm)
    x.VM.set_is_a_template(vm, False)
    vif_rec = {"device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
               "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {},
               "locking_mode": "network_default"}
    vif = x.VIF.create(vif_rec)
    out["mac"] = x.VIF.get_MAC(vif)
    out["duplicate_device"] = failure(lambda: x.VIF.create(vif_rec))

    first = getattr(x.event, "from")(["vm"], "", 0.0)
    x.VM.start(vm, False, False)
    out["power_state"] = x.VM.get_power_state(vm)
    out["domid"] = x.VM.get_domid(vm)
    out["bad_power_state"] = failure(lambda: x.VM.start(vm, False, False))
    out["vm_ref"] = vm
    out["vif_ref"] = vif

    ev = getattr(x.event, "from")(["vm"], first["token"], 5.0)
    out["event_keys"] = sorted(ev.keys())
    out["event_ops"] = sorted({(e["class"], e["operation"]) for e in ev["events"] if e["ref"] == vm})
    out["event_power"] = [e["snapshot"]["power_state"] for e in ev["events"] if e["ref"] == vm]

    token = getattr(x.event, "from")(["task"], "", 0.0)["token"]
    task = x.Async.VM.clean_shutdown(vm)
    for _ in range(50):  # each round waits for a change of a task
        status = x.task.get_status(task)
        if status != "pending":
            break
        token = getattr(x.event, "from")(["task"], token, 5.0)["token"]
    out["task_status"] = status
    out["after_shutdown"] = x.VM.get_power_state(vm)
    x.logout()
    print(json.dumps(out))


main()

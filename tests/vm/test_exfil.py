"""USB mass-storage writes in the QEMU guest (stock Debian 6.1 kernel, the real USB core through
dummy_hcd): a gadget with a mass-storage function enumerates as a SCSI disk under a USB interface
of class 08; writes to it are summed by bpf/exfil.bpf.c and raise GW-EXFIL-REMOVABLE, citing the
device's attach event and never its serial number. The gadget's backing file is 1 MiB, so the
threshold is lowered to 512 KiB (the default, 100 MiB, is what tests/e2e/test_exfil.py keeps).
"""


def test_usb_storage_writes_raise_removable(agent_guest):
    vm = agent_guest
    vm.start_agent(["debug", "--json", "--no-forks", "--stats-interval=0",
                    "--exfil-removable=524288"])
    stats = vm.wait_for_event(lambda e: e["type"] == "stats", timeout=60, what="startup stats")
    hooks = {h["signal"]: h for h in stats["stats"]["hooks"]}
    assert hooks["removable_storage"]["hook"] in ("tp_btf/block_rq_issue",
                                                  "tp/block/block_rq_issue"), hooks
    mark = len(vm.agent_events())
    vm.make_gadget("stick", 0x0781, 0x5583, "SanDisk", "Ultra Fit", "4C5300012345",
                   functions=["mass_storage"])
    attach = vm.wait_for_event(
        lambda e: e["type"] == "device" and e["device"]["kind"] == "usb"
        and e["device"]["action"] == "attach" and e["device"]["usb"].get("vid_pid") == "0781:5583",
        timeout=30, after=mark, what="stick attach")
    vm.wait_sh("ls /sys/block | grep -q '^sd'", timeout=30)
    disk = vm.check("ls /sys/block | grep '^sd' | head -1").strip()
    vm.wait_sh(f"test -b /dev/{disk}", timeout=10)
    vm.check(f"dd if=/dev/zero of=/dev/{disk} bs=4k count=224 oflag=direct")
    fi = vm.wait_for_event(lambda e: e["type"] == "finding"
                           and e["finding"]["rule_id"] == "GW-EXFIL-REMOVABLE",
                           timeout=20, after=mark, what="removable storage finding")["finding"]
    assert fi["subject"] == f"{disk} (USB 0781:5583 Ultra Fit)", fi
    assert fi["category"] == "exfil", fi
    assert fi["evidence"][0]["kind"] == "device", fi
    assert str(fi["evidence"][0]["event_id"]) == str(attach["event_id"]), (fi, attach["event_id"])
    assert "4C5300012345" not in str(fi), "the serial number was reported"
    assert vm.stop_agent() == 0

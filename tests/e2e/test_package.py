"""The Debian packages a fleet admin installs (`make deb`): built from this tree, installable on
this host (dpkg --dry-run checks the archive and that every Depends is satisfiable), laid out as
the unit and the agent expect, and what they install works."""
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import BUILD, ROOT  # noqa: E402


def run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, **kw)


def test_packages_build_install_and_work(tmp_path):
    made = run(ROOT / "tools" / "make-deb.sh", BUILD, cwd=ROOT)
    assert made.returncode == 0, made.stderr
    debs = {p.name.split("_")[0]: p for p in (BUILD / "deb").glob("*.deb")}
    assert set(debs) == {"ghostwatch", "ghostwatch-collector"}, debs

    for deb in debs.values():
        dry = run("dpkg", "--dry-run", "-i", deb)
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert run("dpkg-deb", "-f", deb, "Version").stdout.strip()[0].isdigit()

    agent = debs["ghostwatch"]
    listing = run("dpkg-deb", "-c", agent).stdout
    modes = {line.split()[-1].lstrip("."): line.split()[0] for line in listing.splitlines()}
    assert modes["/usr/sbin/ghostwatch"] == "-rwxr-xr-x"
    assert modes["/etc/ghostwatch/ghostwatch.yaml"] == "-rw-------"  # it names key files
    assert "/etc/ghostwatch/rules.d/" in modes
    assert "/lib/systemd/system/ghostwatch.service" in modes
    conffiles = run("dpkg-deb", "-I", agent, "conffiles").stdout.split()
    assert conffiles == ["/etc/ghostwatch/ghostwatch.yaml"]
    depends = run("dpkg-deb", "-f", agent, "Depends").stdout
    assert "libnats" in depends and "libssl3" in depends, depends

    root = tmp_path / "root"
    for deb in debs.values():
        assert run("dpkg-deb", "-x", deb, root).returncode == 0
    ghostwatch = root / "usr/sbin/ghostwatch"
    assert run(ghostwatch, "--version").stdout.startswith("ghostwatch ")
    assert run(root / "usr/sbin/ghostwatch-collector", "--version").returncode == 0

    # the packaged rules are the shipped ones, and they load from where the package puts them
    shipped = sorted(p.name for p in (ROOT / "rules").glob("*.yaml"))
    assert sorted(p.name for p in (root / "usr/share/ghostwatch/rules").glob("*.yaml")) == shipped
    view = run(ghostwatch, "debug", "--duration=1", "--no-network", "--cadence-window=0",
               "--rules", root / "usr/share/ghostwatch/rules",
               "--rules-d", root / "etc/ghostwatch/rules.d")
    assert view.returncode == 0, view.stderr
    assert f"from {len(shipped)} files in {root}/usr/share/ghostwatch/rules" in view.stderr, \
        view.stderr

    # the unit's ExecStartPre check runs the packaged binary on the packaged config: until the
    # admin puts certificates in place it refuses, naming the missing file (exit 2: no restart loop)
    unit = (root / "lib/systemd/system/ghostwatch.service").read_text()
    assert "ExecStartPre=/usr/sbin/ghostwatch run --check --config /etc/ghostwatch/ghostwatch.yaml" \
        in unit
    check = run(ghostwatch, "run", "--check", "--config", root / "etc/ghostwatch/ghostwatch.yaml")
    assert check.returncode == 2 and "certificate /etc/ghostwatch/tls/agent.crt" in check.stderr, \
        check.stderr
    assert "RestartPreventExitStatus=2" in unit

"""The packages a fleet admin installs: `make deb` (debian/, dpkg-buildpackage) and `make rpm`
(packaging/rpm/ghostwatch.spec). The .debs are built once per session, checked by lintian,
installed on this host with apt, run, removed and purged; the RPMs' file lists and scriptlets are
read back with rpm. `make portable` keeps the mostly static agent as a tarball."""
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import BUILD, ROOT  # noqa: E402

AGENT_UNIT = "/lib/systemd/system/ghostwatch.service"
COLLECTOR_UNIT = "/lib/systemd/system/ghostwatch-collector.service"
CONFFILE = "/etc/ghostwatch/ghostwatch.yaml"
# Libraries the distribution patches: the packages must link them, not carry a copy.
SHARED_LIBS = ("libbpf1", "libyaml-0-2", "zlib1g", "libprotobuf-c1", "libnats3.4", "libssl3")


RULES_DIR = "/usr/share/ghostwatch/rules/"


def shipped_rules():
    """Every rules file of the tree (the detections' and the place domain's lan/), as the
    packages must install them under RULES_DIR."""
    return sorted(str(p.relative_to(ROOT / "rules")) for p in (ROOT / "rules").rglob("*.yaml"))


def run(*cmd, timeout=120, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                          **kw)


def apt(*args):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    res = run("apt-get", "-y", "-q", "--no-install-recommends", *args, timeout=300, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def installed(pkg):
    res = run("dpkg-query", "-W", "-f=${Status}", pkg)
    return res.returncode == 0 and res.stdout.endswith(" installed")


@pytest.fixture(scope="session")
def debs():
    """{package: .deb} from one `make deb` per session (the build is the slow part)."""
    made = run("make", "deb", f"BUILD={BUILD}", cwd=ROOT, timeout=900)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    found = {p.name.split("_")[0]: p for p in (BUILD / "deb").glob("*.deb")}
    assert set(found) == {"ghostwatch", "ghostwatch-collector", "ghostwatch-dbgsym",
                          "ghostwatch-collector-dbgsym"}, found
    # the source tree is left as it was: no build directory, no debhelper leftovers
    assert not (ROOT / "build/debian").exists() and not (ROOT / "debian/ghostwatch").exists()
    return found


@pytest.fixture(scope="session")
def rpms():
    made = run("make", "rpm", f"BUILD={BUILD}", cwd=ROOT, timeout=900)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    found = {re.sub(r"-[0-9][^-]*-[^-]*$", "", p.name[:-len(".x86_64.rpm")]): p
             for p in (BUILD / "rpm/RPMS/x86_64").glob("*.rpm")}
    assert set(found) == {"ghostwatch", "ghostwatch-collector"}, found
    return found


def test_lintian_no_errors_no_warnings(debs):
    # every package of the build, dbgsym included; the overrides in debian/ say why each is there
    res = run("lintian", "--display-level", ">=warning", BUILD / "deb/ghostwatch.changes",
              timeout=300)
    tags = [line for line in res.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    assert tags == [], res.stdout
    assert res.returncode == 0, res.stdout + res.stderr


def test_deb_layout_depends_and_debug_symbols(debs, tmp_path):
    agent = debs["ghostwatch"]
    listing = run("dpkg-deb", "-c", agent).stdout
    modes = {line.split()[-1].lstrip("."): line.split()[0] for line in listing.splitlines()}
    assert modes["/usr/sbin/ghostwatch"] == "-rwxr-xr-x"
    assert modes[CONFFILE] == "-rw-r--r--"  # paths only: the key it names is the secret
    assert modes["/etc/ghostwatch/rules.d/"].startswith("d")
    for path in (AGENT_UNIT, "/usr/share/man/man8/ghostwatch.8.gz",
                 "/usr/share/man/man5/ghostwatch.yaml.5.gz", "/usr/share/doc/ghostwatch/copyright",
                 "/usr/share/doc/ghostwatch/changelog.gz", "/usr/share/doc/ghostwatch/NOTICE"):
        assert path in modes, path
    shipped = shipped_rules()
    assert sorted(p[len(RULES_DIR):] for p in modes if p.startswith(RULES_DIR)
                  and p.endswith(".yaml")) == shipped
    assert run("dpkg-deb", "-I", agent, "conffiles").stdout.split() == [CONFFILE]

    depends = run("dpkg-deb", "-f", agent, "Depends").stdout
    for lib in SHARED_LIBS:
        assert lib in depends, (lib, depends)
    # loaded with dlopen (common/mhd_api.h): no soname for dpkg-shlibdeps, named in debian/control
    assert "libmicrohttpd12" in depends, depends
    collector_depends = run("dpkg-deb", "-f", debs["ghostwatch-collector"], "Depends").stdout
    assert "libnats" in collector_depends and "libmicrohttpd12" in collector_depends

    collector = run("dpkg-deb", "-c", debs["ghostwatch-collector"]).stdout
    for path in (COLLECTOR_UNIT, "/usr/sbin/ghostwatch-collector",
                 "/usr/share/man/man8/ghostwatch-collector.8.gz",
                 "/usr/share/doc/ghostwatch-collector/copyright",
                 "/usr/share/ghostwatch-collector/pki/make-test-ca.sh",
                 "/usr/share/ghostwatch-collector/host-id.sh"):
        assert f".{path}" in collector, path

    # the LOLRMM-derived rules' licence is in the machine-readable copyright file
    root = tmp_path / "root"
    for name in ("ghostwatch", "ghostwatch-dbgsym"):
        assert run("dpkg-deb", "-x", debs[name], root).returncode == 0
    copyright_text = (root / "usr/share/doc/ghostwatch/copyright").read_text()
    assert copyright_text.startswith("Format: https://www.debian.org/doc/packaging-manuals/"
                                     "copyright-format/1.0/")
    assert re.search(r"Files: rules/rmm.yaml\n(.+\n)*License: Apache-2.0", copyright_text)

    # stripped binary, linked against the distribution's libraries; its symbols in -dbgsym
    binary = root / "usr/sbin/ghostwatch"
    sections = run("readelf", "-S", "-W", binary).stdout
    assert ".debug_info" not in sections and ".symtab" not in sections
    needed = run("readelf", "-d", binary).stdout
    for soname in ("libbpf.so.1", "libyaml-0.so.2", "libz.so.1", "libnats.so"):
        assert soname in needed, (soname, needed)
    build_id = re.search(r"Build ID: ([0-9a-f]+)", run("readelf", "-n", binary).stdout).group(1)
    debug = root / f"usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug"
    assert ".debug_info" in run("readelf", "-S", "-W", debug).stdout


def test_deb_install_run_remove_purge(debs, tmp_path):
    # apt installs a local file named by a path with a slash in it, pulling its Depends
    pkgs = [debs["ghostwatch"].resolve(), debs["ghostwatch-collector"].resolve()]
    for name in ("ghostwatch", "ghostwatch-collector"):
        if installed(name):
            apt("purge", name)
    apt("install", *pkgs)
    try:
        files = {}
        for name in ("ghostwatch", "ghostwatch-collector"):
            assert installed(name)
            files[name] = [Path(f) for f in run("dpkg", "-L", name).stdout.split()]
            for f in files[name]:
                assert f.exists(), f
        conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "ghostwatch").stdout.split()
        assert conffiles[0] == CONFFILE, conffiles
        assert oct(Path(CONFFILE).stat().st_mode & 0o7777) == "0o644"
        assert Path("/etc/ghostwatch/rules.d").is_dir()

        # both units as systemd reads them, against the installed binaries (offline: systemd is
        # not PID 1 here)
        for unit in (AGENT_UNIT, COLLECTOR_UNIT):
            res = run("systemd-analyze", "verify", unit)
            assert res.returncode == 0 and res.stderr.strip() == "", (unit, res.stderr)

        version = run("/usr/sbin/ghostwatch", "--version")
        assert version.returncode == 0 and version.stdout.startswith("ghostwatch "), version
        assert run("/usr/sbin/ghostwatch-collector", "--version").returncode == 0
        # the installed deploy scripts find the host-id rule they share (host-id.sh)
        share = Path("/usr/share/ghostwatch-collector")
        accounts = run(share / "nats/gen-accounts.sh", "host-a")
        assert accounts.returncode == 0 and "CN=host-a" in accounts.stdout, accounts
        for script in (share / "nats/gen-accounts.sh", share / "pki/make-test-ca.sh"):
            args = [tmp_path / "pki"] if script.parent.name == "pki" else []
            refused = run(script, *args, "collector")
            assert refused.returncode == 2 and "reserved" in refused.stderr, refused
        assert run("man", "-w", "ghostwatch.yaml").stdout.strip() == \
            "/usr/share/man/man5/ghostwatch.yaml.5.gz"

        # the installed agent finds the packaged rules by itself (not a build tree's)
        shipped = len(list((ROOT / "rules").glob("*.yaml")))
        view = run("/usr/sbin/ghostwatch", "debug", "--duration=1", "--no-network",
                   "--cadence-window=0")
        assert view.returncode == 0, view.stderr
        assert (f"from {shipped} files in /usr/share/ghostwatch/rules and "
                "/etc/ghostwatch/rules.d") in view.stderr, view.stderr
        # ExecStartPre's check on the packaged config: no certificates yet -> exit 2, named
        unit = Path(AGENT_UNIT).read_text()
        assert f"ExecStartPre=/usr/sbin/ghostwatch run --check --config {CONFFILE}" in unit
        check = run("/usr/sbin/ghostwatch", "run", "--check", "--config", CONFFILE)
        assert check.returncode == 2 and "certificate /etc/ghostwatch/tls/agent.crt" in \
            check.stderr, check.stderr

        # remove keeps the admin's edit of the conffile; reinstalling keeps it too
        Path(CONFFILE).write_text(Path(CONFFILE).read_text() + "log_level: debug\n")
        apt("remove", "ghostwatch")
        assert not Path("/usr/sbin/ghostwatch").exists()
        assert Path(CONFFILE).read_text().endswith("log_level: debug\n")
        apt("install", debs["ghostwatch"].resolve())
        assert Path(CONFFILE).read_text().endswith("log_level: debug\n")

        # purge: the package's files, its conffile and the spool go; what the admin put in
        # /etc/ghostwatch (certificates) stays, as dpkg does with files it did not install
        spool = Path("/var/lib/ghostwatch/spool")
        spool.mkdir(parents=True, exist_ok=True)
        (spool / "seg-0001").write_bytes(b"batch")
        tls = Path("/etc/ghostwatch/tls")
        tls.mkdir(exist_ok=True)
        (tls / "agent.crt").write_text("admin's certificate\n")
        apt("purge", "ghostwatch", "ghostwatch-collector")
        for name in ("ghostwatch", "ghostwatch-collector"):
            assert run("dpkg-query", "-W", "-f=${Status}", name).stdout in ("", "unknown ok "
                                                                             "not-installed")
            left = [f for f in files[name] if f.exists() and not f.is_dir()]
            assert left == [], left
        assert not Path(CONFFILE).exists() and not Path("/var/lib/ghostwatch").exists()
        assert not Path("/etc/ghostwatch/rules.d").exists()
        assert not Path("/usr/share/ghostwatch").exists()
        assert (tls / "agent.crt").read_text() == "admin's certificate\n"
    finally:
        for name in ("ghostwatch", "ghostwatch-collector"):
            if run("dpkg-query", "-W", name).returncode == 0:
                run("dpkg", "--purge", name)
        shutil.rmtree("/etc/ghostwatch", ignore_errors=True)
        shutil.rmtree("/var/lib/ghostwatch", ignore_errors=True)


def test_rpm_files_and_scriptlets(rpms):
    agent, collector = rpms["ghostwatch"], rpms["ghostwatch-collector"]
    files = set(run("rpm", "-qlp", agent).stdout.split())
    for path in ("/usr/sbin/ghostwatch", CONFFILE, "/etc/ghostwatch/rules.d",
                 "/usr/lib/systemd/system/ghostwatch.service",
                 "/usr/share/man/man8/ghostwatch.8", "/usr/share/man/man5/ghostwatch.yaml.5",
                 "/usr/share/licenses/ghostwatch-0.1.0/LICENSE-LOLRMM"):
        assert path in files, path
    shipped = shipped_rules()
    assert sorted(f[len(RULES_DIR):] for f in files
                  if f.startswith(RULES_DIR) and f.endswith(".yaml")) == shipped
    assert run("rpm", "-qp", "--configfiles", agent).stdout.split() == [CONFFILE]
    # the config is noreplace: an admin's edit survives an upgrade
    flags = run("rpm", "-qp", "--queryformat", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]",
                agent).stdout
    assert f"{CONFFILE} cn" in flags, flags

    requires = run("rpm", "-qp", "--requires", agent).stdout
    for soname in ("libbpf.so.1", "libyaml-0.so.2", "libz.so.1", "libnats.so", "libcrypto.so.3"):
        assert soname in requires, (soname, requires)

    scripts = run("rpm", "-qp", "--scripts", agent).stdout
    assert re.search(r"postinstall scriptlet.*\n.*\$1 -eq 1.*systemctl --no-reload preset "
                     r"ghostwatch.service", scripts), scripts
    assert re.search(r"preuninstall scriptlet.*\n.*\$1 -eq 0.*systemctl --no-reload disable "
                     r"--now ghostwatch.service", scripts), scripts
    assert re.search(r"postuninstall scriptlet.*\n.*daemon-reload.*\$1 -ge 1.*try-restart "
                     r"ghostwatch.service", scripts), scripts

    cfiles = set(run("rpm", "-qlp", collector).stdout.split())
    for path in ("/usr/sbin/ghostwatch-collector",
                 "/usr/lib/systemd/system/ghostwatch-collector.service",
                 "/usr/share/man/man8/ghostwatch-collector.8",
                 "/usr/share/ghostwatch-collector/pki/make-test-ca.sh",
                 "/usr/share/ghostwatch-collector/host-id.sh"):
        assert path in cfiles, path
    assert "ghostwatch-collector.service" in run("rpm", "-qp", "--scripts", collector).stdout

    # what rpmbuild packaged runs: the binary's version is the tree's
    root = Path(BUILD) / "rpm/extract"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    cpio = subprocess.run(f"rpm2cpio {agent} | cpio -idm --quiet", shell=True, cwd=root,
                          capture_output=True, text=True, timeout=60)
    assert cpio.returncode == 0, cpio.stderr
    version = run(root / "usr/sbin/ghostwatch", "--version")
    assert version.returncode == 0 and version.stdout.startswith("ghostwatch "), version


def test_portable_tarball_links_its_libraries_in(tmp_path):
    # under `make test` the inner make would also print its "Entering directory" lines
    made = run("make", "--no-print-directory", "portable", f"BUILD={BUILD}", cwd=ROOT, timeout=600)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    tarball = Path([l for l in made.stdout.splitlines() if l.endswith(".tar.gz")][-1])
    with tarfile.open(ROOT / tarball if not tarball.is_absolute() else tarball) as tar:
        tar.extractall(tmp_path)
    (top,) = tmp_path.iterdir()
    needed = run("readelf", "-d", top / "ghostwatch").stdout
    for soname in ("libbpf.so", "libyaml", "libz.so", "libelf.so"):
        assert soname not in needed, (soname, needed)
    assert (top / "rules/rmm.yaml").exists() and (top / "ghostwatch.service").exists()
    assert run(top / "ghostwatch", "--version").stdout.startswith("ghostwatch ")

# ghostwatch build. `make` builds build/ghostwatch (libbpf linked statically); `make test` runs every
# test; `make run` starts the live debug view; `make bench` measures; `make deb` builds the Debian
# packages (debian/), `make rpm` the RPM (packaging/rpm/), `make portable` the release tarball of
# the mostly static agent. Sources are found by wildcard, so a new agent/*/*.c, common/*.c,
# bpf/*.bpf.c, proto/*.proto, tests/unit/test_*.c or tests/fuzz/fuzz_*.c needs no edit here.

BUILD    ?= build
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
LLVM_STRIP ?= llvm-strip
PROTOC_C ?= protoc-c
PYTHON   ?= /usr/bin/python3
ARCH     := x86

VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS      := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
PROTOS     := $(wildcard proto/*.proto)
PROTO_C    := $(PROTOS:proto/%.proto=$(BUILD)/proto/%.pb-c.c)
PROTO_H    := $(PROTOS:proto/%.proto=$(BUILD)/proto/%.pb-c.h)
AGENT_SRCS := $(wildcard agent/*.c agent/*/*.c common/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)

GENERATED  := $(SKELS) $(PROTO_H)

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers
CPPFLAGS  := -D_GNU_SOURCE -DGW_VERSION=\"$(VERSION)\" -Iagent -I. -Ibpf -I$(BUILD)/bpf -I$(BUILD)/proto \
	     -I/usr/include/libnl3
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# libnats ships only as a shared library, so the release binary links everything it can statically
# (libbpf, libelf, zlib, libyaml, protobuf-c) and libnats with the OpenSSL it uses dynamically
# (one libcrypto for libnats and the agent's own hashing).
# libsystemd (sd-login and sd-bus for the sessions domain) ships only shared: dynamic too.
# The QEMU harness copies what `ldd build/ghostwatch` lists into its initramfs.
# LINK=shared links all of them dynamically instead: the distribution packages, whose libraries
# get the distribution's security updates (use its own BUILD: make does not relink on a switch).
STATIC_PART := -lbpf -lelf -lz -lyaml -lprotobuf-c -lnl-genl-3 -lnl-route-3 -lnl-3
# libcap: the capability drop once the programs are attached (agent/core/privs.c)
STATIC_PART += -lcap
DYNAMIC_PART := -lnats -lssl -lcrypto -lpthread -lm -lsystemd
# libmicrohttpd (the ops endpoint, the collector's --metrics) is not linked: common/mhd_api.c
# loads it when an endpoint is configured, since it brings GnuTLS and its constructors with it
LIBS        := $(STATIC_PART) $(DYNAMIC_PART)
STATIC_LIBS := -Wl,-Bstatic $(STATIC_PART) -Wl,-Bdynamic $(DYNAMIC_PART)
LINK        ?= static
ifeq ($(LINK),shared)
REL_LIBS    := $(LIBS)
else ifeq ($(LINK),static)
REL_LIBS    := $(STATIC_LIBS)
else
$(error LINK must be static or shared, not $(LINK))
endif

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Ibpf -Ibpf/vmlinux/$(ARCH)

# Objects per flavour: release (linked static) and asan (sanitizers, dynamic).
rel_obj  = $(patsubst %.c,$(BUILD)/obj/rel/%.o,$(1))
asan_obj = $(patsubst %.c,$(BUILD)/obj/asan/%.o,$(1))

LIB_SRCS      := $(filter-out agent/main.c,$(AGENT_SRCS)) $(PROTO_C)
REL_LIB_OBJS  := $(call rel_obj,$(LIB_SRCS))
ASAN_LIB_OBJS := $(call asan_obj,$(LIB_SRCS))
UNIT_BINS     := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BINS     := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all asan unit fuzz test run deps bench clean vmlinux-h vm bench-cadence deb rpm portable
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/ghostwatch

asan: $(BUILD)/asan/ghostwatch

unit: $(UNIT_BINS)

fuzz: $(FUZZ_BINS)

# --- BPF -------------------------------------------------------------------------------------------
# DWARF is stripped, BTF kept (as libbpf-tools does): the objects are embedded in the agent, and
# their debug sections were three quarters of its size; line info for the verifier is in .BTF.ext
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h bpf/lib/*.h) | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name gw_$* > $@

# --- protobuf --------------------------------------------------------------------------------------
$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto | $(BUILD)/proto
	$(PROTOC_C) --proto_path=proto --c_out=$(BUILD)/proto $<

# --- userspace -------------------------------------------------------------------------------------
$(BUILD)/obj/rel/%.o: %.c | $(GENERATED)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/asan/%.o: %.c | $(GENERATED)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

# Generated protobuf-c code is not ours to keep -Wextra clean.
$(BUILD)/obj/rel/$(BUILD)/proto/%.o: $(BUILD)/proto/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -O2 -g -c $< -o $@

$(BUILD)/obj/asan/$(BUILD)/proto/%.o: $(BUILD)/proto/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/ghostwatch: $(call rel_obj,agent/main.c) $(REL_LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(REL_LIBS) -o $@

$(BUILD)/asan/ghostwatch: $(call asan_obj,agent/main.c) $(ASAN_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(ASAN_LIB_OBJS) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(SAN_FLAGS) $< $(ASAN_LIB_OBJS) $(LIBS) -o $@

# libFuzzer targets: each links only the module it fuzzes (named in its first line: "// fuzz: agent/x.c").
# The sources a target names are not known to make before it reads line 1, so every target depends
# on all agent and collector sources: a change to the fuzzed module rebuilds its fuzzer.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(AGENT_SRCS) $(wildcard collector/*.c) | $(GENERATED)
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined $< \
		$$(sed -n '1s|^// fuzz: ||p' $<) $(LIBS) -o $@

$(BUILD)/bpf $(BUILD)/proto:
	@mkdir -p $@

# --- BPF unit tests (tests/bpf): a test object over bpf/lib headers, and its runner -------------
# tests/bpf/test_X.bpf.c drives the logic of a bpf/lib header; tests/bpf/test_X.c runs it through
# BPF_PROG_TEST_RUN (tests/bpf/test_bpf_units.py runs each of its cases).
BPF_UNIT_SRCS := $(wildcard tests/bpf/test_*.bpf.c)
BPF_UNIT_BINS := $(BPF_UNIT_SRCS:tests/bpf/%.bpf.c=$(BUILD)/tests/bpf/%)

.PHONY: bpf-units
bpf-units: $(BPF_UNIT_BINS)

$(BUILD)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c $(wildcard bpf/*.h bpf/lib/*.h tests/bpf/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -Ibpf/lib -Itests/bpf -c $< -o $@

$(BUILD)/tests/bpf/%.skel.h: $(BUILD)/tests/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/tests/bpf/%: tests/bpf/%.c tests/bpf/bpf_unit.c $(wildcard tests/bpf/*.h) \
		      $(BUILD)/tests/bpf/%.skel.h
	$(CC) $(CPPFLAGS) -I$(BUILD)/tests/bpf -Itests/bpf $(CFLAGS) $< tests/bpf/bpf_unit.c \
		-Wl,-Bstatic -lbpf -lelf -lz -Wl,-Bdynamic -o $@

# --- bench (load generators for `make bench`; see bench/run.sh) ------------------------------------
BENCH_GEN_SRCS := $(filter-out bench/pacer.c bench/loopback.c bench/empty_hook.c bench/true_static.c \
			       bench/fleet_bench.c,\
			       $(wildcard bench/*.c))
BENCH_BINS     := $(BENCH_GEN_SRCS:bench/%.c=$(BUILD)/bench/%) $(BUILD)/bench/true_static \
		  $(BUILD)/bench/fleet_bench

.PHONY: bench-tools
bench-tools: $(BENCH_BINS)

# The fleet path without BPF (bench/fleet.py): the agent's objects, linked like the release binary.
$(BUILD)/bench/fleet_bench: bench/fleet_bench.c $(REL_LIB_OBJS) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $< $(REL_LIB_OBJS) $(STATIC_LIBS) -o $@

# The exec target: no libc, static, so an exec is the kernel's exec path and little else.
$(BUILD)/bench/true_static: bench/true_static.c
	@mkdir -p $(@D)
	$(CC) -O2 -static -nostdlib -fno-stack-protector -fno-asynchronous-unwind-tables $(WARN) $< -o $@

BENCH_COMMON := bench/pacer.c bench/loopback.c
$(BUILD)/bench/%: bench/%.c $(BENCH_COMMON) bench/pacer.h bench/loopback.h
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE -O2 -g -std=gnu11 $(WARN) -pthread $< $(BENCH_COMMON) -o $@

# The network programs attached and detached in alternation under the connect loop (BENCHMARKS.md).
# It links the agent's objects for the cgroup2 lookup the agent itself uses.
$(BUILD)/bench/connect_ab: bench/connect_ab.c $(BENCH_COMMON) bench/empty_hook.c bench/pacer.h \
			   bench/loopback.h bench/empty_hook.h $(BUILD)/bpf/network.skel.h \
			   $(REL_LIB_OBJS) | $(GENERATED)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -pthread $< $(BENCH_COMMON) bench/empty_hook.c $(REL_LIB_OBJS) \
		$(STATIC_LIBS) -o $@

# --- workflows -------------------------------------------------------------------------------------
deps:
	@tools/deps.sh

test: deps
	$(MAKE) all asan unit fuzz bpf-units
	tools/run-tests.sh

run: deps
	$(MAKE) all
	$(BUILD)/ghostwatch debug

# Debian packages for the fleet, built the Debian way (debian/rules builds with LINK=shared in
# build/debian): $(BUILD)/deb/ghostwatch_*.deb (endpoints), ghostwatch-collector_*.deb (collector
# hosts) and their -dbgsym packages. dpkg-buildpackage writes to ../ unless told otherwise: the
# .debs, .changes and .buildinfo all go to $(BUILD)/deb.
DEB_OUT = $(abspath $(BUILD))/deb
deb: deps
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)
	GW_DEB_DESTDIR=$(DEB_OUT) dpkg-buildpackage -b -us -uc -jauto \
		--buildinfo-option=-u$(DEB_OUT) --buildinfo-file=$(DEB_OUT)/ghostwatch.buildinfo \
		--changes-option=-u$(DEB_OUT) --changes-file=$(DEB_OUT)/ghostwatch.changes
	debian/rules clean

# The RPM for RHEL/Fedora hosts (packaging/rpm/ghostwatch.spec) from this tree's sources; rpmbuild
# runs here on Debian, so --nodeps (the BuildRequires name Fedora packages). -> $(BUILD)/rpm/RPMS/
RPM_TOP = $(abspath $(BUILD))/rpm
rpm: deps
	rm -rf $(RPM_TOP) && mkdir -p $(RPM_TOP)/SOURCES
	tar -czf $(RPM_TOP)/SOURCES/ghostwatch-$(RPM_VERSION).tar.gz --exclude=./build --exclude=./.git \
		--exclude=./tests/vm/cache --transform 's|^\.|ghostwatch-$(RPM_VERSION)|' .
	rpmbuild -bb --nodeps --define '_topdir $(RPM_TOP)' --define 'gw_version $(RPM_VERSION)' \
		--define 'gw_build_id $(VERSION)' packaging/rpm/ghostwatch.spec
RPM_VERSION = $(shell dpkg-parsechangelog -S Version)

# The portable agent for hosts without the distribution's libraries (libbpf, libelf, zlib, libyaml
# and protobuf-c linked in; libnats, OpenSSL and libsystemd still shared): a tarball with the
# binary, the shipped rules, the config, the unit and the man pages.
PORTABLE = ghostwatch-$(VERSION)-linux-$(shell uname -m)
portable: $(BUILD)/ghostwatch
	@[ "$(LINK)" = static ] || { echo "make portable: needs LINK=static" >&2; exit 1; }
	rm -rf $(BUILD)/portable && mkdir -p $(BUILD)/portable/$(PORTABLE)/rules
	install -m 0755 $(BUILD)/ghostwatch $(BUILD)/portable/$(PORTABLE)/
	install -m 0644 rules/*.yaml rules/README.md rules/NOTICE rules/LICENSE-LOLRMM \
		$(BUILD)/portable/$(PORTABLE)/rules/
	install -D -m 0644 rules/lan/ipkvm_oui.yaml $(BUILD)/portable/$(PORTABLE)/rules/lan/ipkvm_oui.yaml
	install -m 0644 deploy/ghostwatch.yaml deploy/ghostwatch.service docs/man/ghostwatch.8 \
		docs/man/ghostwatch.yaml.5 $(BUILD)/portable/$(PORTABLE)/
	tar -C $(BUILD)/portable -czf $(BUILD)/portable/$(PORTABLE).tar.gz $(PORTABLE)
	@echo $(BUILD)/portable/$(PORTABLE).tar.gz

# Today's agent against BENCH_BASE_REF's (built by bench/base.sh) and the peers, side by side in one
# run (bench/run.sh); connect_ab.sh and fleet.py on request.
bench:
	@tools/deps.sh bench
	$(MAKE) all bench-tools
	bench/run.sh
	[ "$${BENCH_CONNECT_AB:-0}" = 0 ] || bench/connect_ab.sh
	[ "$${BENCH_FLEET:-0}" = 0 ] || $(PYTHON) bench/fleet.py

# The QEMU test guest (tests/vm): Debian kernel fetched into tests/vm/cache, initramfs around the agent,
# and the systemd flavour's (the logind tests: it boots this host's root, agent included).
vm: $(BUILD)/ghostwatch
	tests/vm/fetch-kernel.sh
	GW_VM_AGENT=$(BUILD)/ghostwatch tests/vm/build-initramfs.sh
	GW_VM_FLAVOUR=systemd tests/vm/build-initramfs.sh

# Input cadence: native BPF cost per input event (BPF_PROG_TEST_RUN; BENCHMARKS.md "Input cadence").
$(BUILD)/bench/cadence_cost: bench/cadence_cost.c $(BUILD)/bpf/cadence.skel.h | $(GENERATED)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(STATIC_LIBS) -o $@

bench-cadence: $(BUILD)/bench/cadence_cost
	$(BUILD)/bench/cadence_cost

vmlinux-h:
	tests/vm/fetch-kernel.sh && \
	$(BPFTOOL) btf dump file tests/vm/cache/vmlinux format c > bpf/vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# --- collector (issue 5): build/ghostwatch-collector and its test publisher -------------------------
# cnats ships only a shared library, so the collector links dynamically (it runs on the collector
# host, not on endpoints). collector/main.c is the CLI; the other collector/*.c are its modules.
COLLECTOR_SRCS     := $(wildcard collector/*.c)
# It shares the agent's descriptor-driven JSON emitter, so its NDJSON has the shape of debug --json.
COLLECTOR_LIB_SRCS := $(filter-out collector/main.c,$(COLLECTOR_SRCS)) common/json_emit.c common/log.c common/text.c \
	common/http_reply.c common/mhd_api.c $(PROTO_C)
COLLECTOR_LIBS     := -lnats -lprotobuf-c -lz -lssl -lcrypto
COLLECTOR_TOOLS    := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))

all: $(BUILD)/ghostwatch-collector $(COLLECTOR_TOOLS)
asan: $(BUILD)/asan/ghostwatch-collector

$(BUILD)/ghostwatch-collector: $(call rel_obj,collector/main.c $(COLLECTOR_LIB_SRCS))
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(COLLECTOR_LIBS) -o $@

$(BUILD)/asan/ghostwatch-collector: $(call asan_obj,collector/main.c $(COLLECTOR_LIB_SRCS))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(COLLECTOR_LIBS) -o $@

# Test tools (tests/tools/*.c) link the collector modules, e.g. gw-publish (publishes batches).
$(BUILD)/tools/%: $(call rel_obj,tests/tools/%.c $(COLLECTOR_LIB_SRCS))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ $(COLLECTOR_LIBS) -o $@

$(BUILD)/obj/rel/tests/tools/%.o: CPPFLAGS += -Icollector

# Unit tests of collector modules (tests/unit/test_collector_*.c) link those instead of agent/.
$(BUILD)/tests/test_collector_%: tests/unit/test_collector_%.c $(call asan_obj,$(COLLECTOR_LIB_SRCS)) tests/unit/testing.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Icollector -Itests/unit $(CFLAGS) $(SAN_FLAGS) $< \
		$(call asan_obj,$(COLLECTOR_LIB_SRCS)) $(COLLECTOR_LIBS) -o $@

# Collector throughput (batches/s, events/s) against a local nats-server; results in BENCHMARKS.md.
bench-collector: all
	$(PYTHON) bench/collector_bench.py
.PHONY: bench-collector

# The argv redaction per exec (BENCHMARKS.md "Redacting command lines"): the agent's object alone.
$(BUILD)/bench/redact_cost: bench/redact_cost.c $(call rel_obj,agent/core/redact.c \
						   agent/core/redact_pattern.c)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $^ -o $@

# mpagefs - a Linux filesystem lab for fs/mpage.c.
#
#   make          build the module (against Debian's 6.1 headers), the
#                 reference ext2 module, mpagectl and the VM's initramfs
#   make KERNEL=6.12 ...  any target for Debian 12's 6.12 kernel (from
#                 bookworm-backports) instead of 6.1: see KERNEL below
#   make check    every test: unit tests, kernel style, VM tests
#   make check-kernel  only what depends on the kernel (kmod style, VM tests),
#                 e.g. make check-kernel KERNEL=6.12 after make check
#   make check-long  the long VM tests (power cuts, stress; @pytest.mark.long)
#   make demo     the seed example, measured in a VM, both orders side by side,
#                 on 6.1 and 6.12 (DEMO_KERNELS)
#   make shell    a VM with the module loaded and a formatted disk mounted
#   make bench    mpagefs against ext2, vfat and the raw device in one VM run,
#                 the cost of the lab's get_block wrapper (against make
#                 module-nolab's build/mpagefs-nolab.ko, MPAGEFS_LAB=0), and
#                 trace decoding against blkparse (~25 min under TCG;
#                 results in build/bench/, see Documentation/bench.rst)
#   make deps     install the Debian packages the project needs (as root)
#   make check-debug  the VM tests marked debug_kernel under a KASAN + lockdep +
#                 kmemleak + gcov kernel built from linux-source-$(KERNEL) (cached
#                 in ~/.cache/mpagefs; first build ~15 min, then seconds)
#   make coverage fs/mpage.c line/branch coverage of the scenarios under that
#                 kernel: $(BUILD)/coverage/report.md (build/k6.12/... for 6.12)
#   make install  mpagectl to /usr/local/sbin, mkfs.mpagefs and fsck.mpagefs
#                 links to /sbin (DESTDIR= for staging); make install-module
#                 puts build/mpagefs.ko under /lib/modules/$(KVER)/extra

TOP      := $(abspath .)
# KERNEL: the kernel series every target builds for and boots, 6.1 (Debian 12's
# own, the default) or 6.12 (bookworm-backports).  KVER is the newest installed
# release of that series with headers (qemu/kver.sh); the module is built
# against it, ext2 from that series' linux-source, and qemu/vm.py boots it
# (MPAGEFS_KERNEL_SERIES, exported below).
KERNEL   ?= 6.1
KERNELS  := 6.1 6.12
ifneq ($(words $(KERNEL)) $(filter $(KERNELS),$(KERNEL)),1 $(KERNEL))
$(error KERNEL=$(KERNEL) is not a kernel series this project builds for: use one of $(KERNELS))
endif
# build/ holds what does not depend on the kernel (mpagectl, the unit tests, the
# VM tests' host helpers) and, for 6.1, the kernel's artefacts as it always
# has; another series has its own build/k<series>/ (mpagefs.ko, ext2.ko,
# initramfs.cpio.gz, the kmod copy, ext2's source, style/, demo/, bench/...)
# with a copy of mpagectl, so that either BUILD is complete for qemu/vm.py,
# demo, bench and shell.
TOPBUILD := $(TOP)/build
BUILD    := $(TOPBUILD)$(if $(filter-out 6.1,$(KERNEL)),/k$(KERNEL))
ifneq ($(origin KVER),command line)
KVER      = $(shell $(TOP)/qemu/kver.sh $(KERNEL) 2>/dev/null)
endif
KDIR     ?= /lib/modules/$(KVER)/build
LINUX_SOURCE := /usr/src/linux-source-$(KERNEL).tar.xz
JOBS     ?= $(shell nproc)
# Debian's python3 (with python3-pytest from install-deps.sh), not whatever
# python3 comes first on PATH.
PYTHON   ?= /usr/bin/python3
PYTEST   ?= $(PYTHON) -m pytest
PYTEST_ARGS ?=

export KVER
export MPAGEFS_KERNEL_SERIES := $(KERNEL)
# ccache (if installed) hashes paths relative to the checkout's parent, so a
# second checkout of the same sources compiles from the cache.
export CCACHE_BASEDIR := $(abspath $(TOP)/..)
export CCACHE_NOHASHDIR := 1
MAKEFLAGS += --no-print-directory

.PHONY: all deps kernel userspace module module-nolab ext2 initramfs check check-long unit-test style vm-test demo shell clean \
	install install-module debug-kernel module-debug initramfs-debug check-debug coverage \
	coverage-report bench bench-decode bench-unit cli-test kmod-style check-kernel docs-check

all: deps userspace module ext2 initramfs

deps:
	@sh $(TOP)/qemu/install-deps.sh

# The selected kernel with its headers, and its source: one line naming what
# to install when one is missing.
kernel: deps
	@$(TOP)/qemu/kver.sh $(KERNEL) >/dev/null
	@test -r $(LINUX_SOURCE) || { echo "make: $(LINUX_SOURCE) missing: run make deps (installs linux-source-$(KERNEL))" >&2; exit 1; }

# --- userspace (C++20, CMake) ------------------------------------------------
# Kernel-independent: built once in build/userspace, copied to build/mpagectl
# and to the selected kernel's BUILD.
userspace: deps
	@cmake -S userspace -B $(TOPBUILD)/userspace -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(TOPBUILD)/userspace -j $(JOBS) -- --no-print-directory
	@for d in $(sort $(TOPBUILD) $(BUILD)); do mkdir -p $$d; \
	 cmp -s $(TOPBUILD)/userspace/mpagectl $$d/mpagectl || cp $(TOPBUILD)/userspace/mpagectl $$d/mpagectl; done

# --- kernel module -----------------------------------------------------------
# Kbuild of 6.1 writes objects next to the sources, so the module is built in
# a copy under BUILD (build/kmod, build/k6.12/kmod) and the source tree stays
# clean.
KMOD_RSYNC := rsync -a --delete --exclude '*.o' --exclude '*.ko' --exclude '.*.cmd' \
		--exclude '*.mod*' --exclude 'modules.order' --exclude 'Module.symvers' \
		--filter='P *.o' --filter='P *.ko' --filter='P .*.cmd' --filter='P *.mod*' \
		--filter='P modules.order' --filter='P Module.symvers'
module: kernel
	@mkdir -p $(BUILD)/kmod
	@$(KMOD_RSYNC) kmod/ $(BUILD)/kmod/
	@$(MAKE) -C $(KDIR) M=$(BUILD)/kmod $(KMOD_FLAGS) modules
	@cmp -s $(BUILD)/kmod/mpagefs.ko $(BUILD)/mpagefs.ko || cp $(BUILD)/kmod/mpagefs.ko $(BUILD)/mpagefs.ko

# The module without the lab's wrapper of get_block (MPAGEFS_LAB=0, see
# kmod/Kbuild), built in a copy of its own into $(BUILD)/mpagefs-nolab.ko:
# make bench loads it in turn with the lab build to measure the wrapper.
module-nolab: kernel
	@mkdir -p $(BUILD)/kmod-nolab
	@$(KMOD_RSYNC) kmod/ $(BUILD)/kmod-nolab/
	@$(MAKE) -C $(KDIR) M=$(BUILD)/kmod-nolab $(KMOD_FLAGS) MPAGEFS_LAB=0 modules
	@cmp -s $(BUILD)/kmod-nolab/mpagefs.ko $(BUILD)/mpagefs-nolab.ko || \
		cp $(BUILD)/kmod-nolab/mpagefs.ko $(BUILD)/mpagefs-nolab.ko

# The reference peer: fs/ext2 from the selected kernel's Debian linux-source
# (linux-source-6.1, linux-source-6.12), as a module.
ext2: kernel
	@$(MAKE) -C qemu/ext2 BUILD=$(BUILD) KDIR=$(KDIR) SERIES=$(KERNEL)

initramfs: userspace module ext2
	@$(PYTHON) qemu/mkinitramfs.py --kver $(KVER) --build $(BUILD) --out $(BUILD)/initramfs.cpio.gz

# --- debug kernel (KASAN, lockdep, kmemleak, gcov of fs/mpage.c) -------------
# qemu/debug-kernel/build.sh builds it once per (linux-source version, config)
# into $(MPAGEFS_CACHE) (default ~/.cache/mpagefs), outside the clone; the
# module is built against that tree in $(BUILD)/debug/kmod (Kbuild's M=), the
# initramfs has everything else built into the kernel.  KERNEL= picks the
# series (linux-source-6.1 or linux-source-6.12); CI runs 6.12's.
DEBUG_BUILD := $(BUILD)/debug
# $(shell) does not see make's exports (make 4.3): the series goes in by hand.
DEBUG_TREE   = $(shell MPAGEFS_KERNEL_SERIES=$(KERNEL) $(TOP)/qemu/debug-kernel/build.sh --dir)
COVERAGE     := $(BUILD)/coverage
# The debug subset: 5,000 fsx ops per block size instead of make check's 10,000 (KASAN and
# lockdep under TCG run about 3-5x slower).
DEBUG_ENV   ?= MPAGEFS_KERNEL=debug MPAGEFS_FSX_OPS=5000 MPAGEFS_FSX_BLOCKS="1024 4096" \
	MPAGEFS_GCOV_COLLECT=$(COVERAGE)/runs
# make coverage runs the tests of this marker expression under the debug kernel;
# COVERAGE_KEEP=1 adds to the runs already collected (by check-debug) instead
# of starting afresh.
COVERAGE_MARK ?= debug_kernel or mpage_scenario
COVERAGE_KEEP ?=

debug-kernel: deps
	@$(TOP)/qemu/debug-kernel/build.sh

module-debug: debug-kernel
	@$(MAKE) module BUILD=$(DEBUG_BUILD) KDIR=$(DEBUG_TREE)

initramfs-debug: userspace module-debug
	@$(PYTHON) qemu/mkinitramfs.py --kver $$(cat $(DEBUG_TREE)/include/config/kernel.release) \
		--build $(DEBUG_BUILD) --kernel-tree $(DEBUG_TREE) --mpagectl $(TOPBUILD)/mpagectl \
		--out $(DEBUG_BUILD)/initramfs.cpio.gz

# The gcda of every VM run land in build/coverage/runs; the report comes for free.
# Each boot of the debug kernel costs 1-2 minutes under TCG (KASAN, lockdep,
# a kmemleak scan at the end), so CI runs one block size of each marked test
# and leaves out what check-long covers; DEBUG_SELECT= runs them all.
DEBUG_SELECT ?= not 2048 and not 4096 and not (4k and not test_scenario) and not stress and not bad_superblocks

check-debug: initramfs-debug
	@rm -rf $(COVERAGE)/runs
	@$(DEBUG_ENV) $(PYTEST) -ra -m debug_kernel $(if $(DEBUG_SELECT),-k "$(DEBUG_SELECT)") tests/vm $(PYTEST_ARGS)
	@$(MAKE) coverage-report

coverage: initramfs-debug
	@if [ -z "$(COVERAGE_KEEP)" ]; then rm -rf $(COVERAGE)/runs; fi
	@st=0; $(DEBUG_ENV) $(PYTEST) -ra -m "$(COVERAGE_MARK)" tests/vm $(PYTEST_ARGS) || st=$$?; \
	 if [ $$st = 5 ]; then echo "coverage: no test matches '$(COVERAGE_MARK)'"; st=0; fi; \
	 $(MAKE) coverage-report && exit $$st

coverage-report:
	@$(PYTHON) qemu/mpage_coverage.py --tree $(DEBUG_TREE) --runs $(COVERAGE)/runs --out $(COVERAGE)

# --- install -----------------------------------------------------------------
# mkfs(8) and fsck(8) look for mkfs.TYPE / fsck.TYPE in /sbin, /sbin/fs.d,
# /sbin/fs, /etc/fs, /etc and then $$PATH: the links go to /sbin, which
# also works where /sbin is not on PATH.
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
FSSBINDIR ?= /sbin
MODDIR    ?= /lib/modules/$(KVER)/extra

install: userspace
	install -D -m 0755 $(BUILD)/mpagectl $(DESTDIR)$(SBINDIR)/mpagectl
	install -d $(DESTDIR)$(FSSBINDIR)
	ln -sf $(SBINDIR)/mpagectl $(DESTDIR)$(FSSBINDIR)/mkfs.mpagefs
	ln -sf $(SBINDIR)/mpagectl $(DESTDIR)$(FSSBINDIR)/fsck.mpagefs

# Only for a machine running $(KVER); never load it on a build host
# running another kernel.
install-module: module
	install -D -m 0644 $(BUILD)/mpagefs.ko $(DESTDIR)$(MODDIR)/mpagefs.ko
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

# --- tests -------------------------------------------------------------------
# style rebuilds the module under sparse, so the initramfs is made after it.
# clang-tidy (userspace only, several minutes of CPU) runs beside the VM suite,
# whose TCG guests leave CPU idle while they wait on their disks; its output is
# printed after the suite.  Prints each step's time, the slowest VM tests
# (pytest --durations) and the total against its budget
# (Documentation/running.rst, "Time budgets").
CHECK_BUDGET_MIN := 15
check:
	@start=$$(date +%s); \
	 step() { s=$$(date +%s); "$$@" || return 1; \
		echo "make check: $$* took $$(( $$(date +%s) - s )) s"; }; \
	 step $(MAKE) unit-test && step $(MAKE) bench-unit && step $(MAKE) cli-test && step $(MAKE) docs-check && \
	 step $(MAKE) kmod-style && \
	 { (s=$$(date +%s); sh tests/tidy.sh >$(TOPBUILD)/tidy.log 2>&1; r=$$?; \
		echo "tidy.sh took $$(( $$(date +%s) - s )) s" >>$(TOPBUILD)/tidy.log; exit $$r) & \
	   tidy=$$!; step $(MAKE) vm-test; vm=$$?; wait $$tidy; tidy_rc=$$?; \
	   cat $(TOPBUILD)/tidy.log; [ $$vm -eq 0 ] && [ $$tidy_rc -eq 0 ]; } && \
	 t=$$(( $$(date +%s) - start )) && \
	 echo "make check (KERNEL=$(KERNEL)): $$((t / 60)) min $$((t % 60)) s; budget $(CHECK_BUDGET_MIN) min" && \
	 if [ $$t -gt $$(( $(CHECK_BUDGET_MIN) * 60 )) ]; then \
		echo "make check: over its budget of $(CHECK_BUDGET_MIN) min (not a failure: the machine may be loaded)"; fi

unit-test: userspace
	@cd $(TOPBUILD)/userspace && ctest --output-on-failure -j $(JOBS)

# The benchmark's pure computations (shape metrics, ratios, guest script):
# host only, under a second.
bench-unit: deps
	@$(PYTEST) -q -p no:cacheprovider tests/bench

# mpagectl's command line as a user meets it: exit codes, usage errors (no VM).
cli-test: userspace
	@$(PYTEST) -q -p no:cacheprovider tests/cli

style: kmod-style docs-check
	@sh tests/tidy.sh

# Every Documentation/*.rst parses without a docutils warning (no Sphinx).
docs-check: deps
	@$(PYTHON) tests/docs_check.py

# checkpatch, kernel-doc and sparse over kmod/ against the selected kernel.
kmod-style: module userspace
	@BUILD=$(BUILD) KERNEL=$(KERNEL) sh tests/style.sh

# What depends on the kernel, for a second series after a full make check
# (.ci/run: make check, then make check-kernel KERNEL=6.12).
check-kernel:
	@start=$$(date +%s); \
	 $(MAKE) kmod-style vm-test && \
	 t=$$(( $$(date +%s) - start )) && \
	 echo "make check-kernel (KERNEL=$(KERNEL)): $$((t / 60)) min $$((t % 60)) s"

vm-test: initramfs
	@$(PYTEST) -ra --durations=15 tests/vm -m "not long" $(PYTEST_ARGS)

# The tests marked @pytest.mark.long (power cuts, stress): minutes each; and the
# hostile-image suite at 250 seeds per block size (make check runs 50).
check-long: initramfs
	@MPAGEFS_HOSTILE_SEEDS=250 $(PYTEST) -ra --durations=15 tests/vm -m "long or hostile" $(PYTEST_ARGS)

# The seed example on every series of DEMO_KERNELS (default: both), one boot
# each, printed side by side; DEMO_KERNELS=6.1 for one.
DEMO_KERNELS ?= $(KERNELS)
demo: all
	@for k in $(filter-out $(KERNEL),$(DEMO_KERNELS)); do $(MAKE) all KERNEL=$$k || exit 1; done
	@$(PYTHON) tests/demo.py --build $(TOPBUILD) \
		$(foreach k,$(DEMO_KERNELS),--kernel $(k)=$(TOPBUILD)$(if $(filter-out 6.1,$(k)),/k$(k)))

# BENCH_ARGS: e.g. --quick (a 2-minute smoke run), --repeats 5, --skip-vm
# (re-analyse the last VM run), see tests/bench/bench.py --help.
bench: all module-nolab
	@$(PYTHON) tests/bench/bench.py --build $(BUILD) $(BENCH_ARGS)

# The host decode part of make bench on its own (tests/bench/tools.py):
# mpagectl decode/explain and blkparse on synthetic captures of 1M and 10M
# events, 3 rounds (BENCH_DECODE_ARGS, e.g. --events 1000000 --repeats 1).
bench-decode: userspace
	@$(PYTHON) tests/bench/tools.py --build $(BUILD) $(BENCH_DECODE_ARGS)

shell: all
	@$(PYTHON) qemu/shell.py --build $(BUILD)

clean:
	rm -rf $(BUILD)

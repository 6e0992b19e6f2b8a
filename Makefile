# mpagefs - a Linux filesystem lab for fs/mpage.c.
#
#   make          build the module (against Debian's 6.1 headers), the
#                 reference ext2 module, mpagectl and the VM's initramfs
#   make check    every test: unit tests, kernel style, VM tests
#   make demo     the seed example, measured in a VM, both orders side by side
#   make shell    a VM with the module loaded and a formatted disk mounted
#   make deps     install the Debian packages the project needs (as root)
#   make install  mpagectl to /usr/local/sbin, mkfs.mpagefs and fsck.mpagefs
#                 links to /sbin (DESTDIR= for staging); make install-module
#                 puts build/mpagefs.ko under /lib/modules/$(KVER)/extra

TOP      := $(abspath .)
BUILD    := $(TOP)/build
KVER     ?= $(shell $(TOP)/qemu/kver.sh)
KDIR     ?= /lib/modules/$(KVER)/build
JOBS     ?= $(shell nproc)
# Debian's python3 (with python3-pytest from install-deps.sh), not whatever
# python3 comes first on PATH.
PYTHON   ?= /usr/bin/python3
PYTEST   ?= $(PYTHON) -m pytest
PYTEST_ARGS ?=

export KVER
# ccache (if installed) hashes paths relative to the checkout's parent, so a
# second checkout of the same sources compiles from the cache.
export CCACHE_BASEDIR := $(abspath $(TOP)/..)
export CCACHE_NOHASHDIR := 1
MAKEFLAGS += --no-print-directory

.PHONY: all deps userspace module ext2 initramfs check unit-test style vm-test demo shell clean \
	install install-module

all: deps userspace module ext2 initramfs

deps:
	@sh $(TOP)/qemu/install-deps.sh

# --- userspace (C++20, CMake) ------------------------------------------------
userspace: deps
	@cmake -S userspace -B $(BUILD)/userspace -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD)/userspace -j $(JOBS) -- --no-print-directory
	@cmp -s $(BUILD)/userspace/mpagectl $(BUILD)/mpagectl || cp $(BUILD)/userspace/mpagectl $(BUILD)/mpagectl

# --- kernel module -----------------------------------------------------------
# Kbuild of 6.1 writes objects next to the sources, so the module is built in
# a copy under build/ and the source tree stays clean.
module: deps
	@mkdir -p $(BUILD)/kmod
	@rsync -a --delete --exclude '*.o' --exclude '*.ko' --exclude '.*.cmd' \
		--exclude '*.mod*' --exclude 'modules.order' --exclude 'Module.symvers' \
		--filter='P *.o' --filter='P *.ko' --filter='P .*.cmd' --filter='P *.mod*' \
		--filter='P modules.order' --filter='P Module.symvers' \
		kmod/ $(BUILD)/kmod/
	@$(MAKE) -C $(KDIR) M=$(BUILD)/kmod $(KMOD_FLAGS) modules
	@cmp -s $(BUILD)/kmod/mpagefs.ko $(BUILD)/mpagefs.ko || cp $(BUILD)/kmod/mpagefs.ko $(BUILD)/mpagefs.ko

# The reference peer: fs/ext2 from Debian's linux-source-6.1, as a module.
ext2: deps
	@$(MAKE) -C qemu/ext2 BUILD=$(BUILD) KDIR=$(KDIR)

initramfs: userspace module ext2
	@$(PYTHON) qemu/mkinitramfs.py --kver $(KVER) --build $(BUILD) --out $(BUILD)/initramfs.cpio.gz

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
check: unit-test style vm-test

unit-test: userspace
	@cd $(BUILD)/userspace && ctest --output-on-failure -j $(JOBS)

style: module userspace
	@sh tests/style.sh
	@sh tests/tidy.sh

vm-test: initramfs
	@$(PYTEST) -ra tests/vm $(PYTEST_ARGS)

demo: all
	@$(PYTHON) tests/demo.py --build $(BUILD)

shell: all
	@$(PYTHON) qemu/shell.py --build $(BUILD)

clean:
	rm -rf $(BUILD)

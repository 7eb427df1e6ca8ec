# guard-hooks: build, install and package hook-runner.
#
#   make                      release build, Swift runtime linked statically (needs only libc, libsqlite3)
#   make install              PREFIX=/usr/local, DESTDIR= for staging
#   make deb                  dist/guard-hooks_$(VERSION)_$(ARCH).deb (VERSION= to override), stripped;
#                             its debug symbols beside it in dist/guard-hooks_$(VERSION)_$(ARCH).debug
#   make install-files        what `install` copies, without building (`deb` stages with it)
#   make install-core         the binary, the hooks and the vzdump wrapper (scripts/install)
#   make check-unit           systemd-analyze verify of the seal unit
#
# The build uses its own scratch path (.build-static), so it never invalidates the
# debug build of `swift build` / scripts/test.

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
# systemd reads units from /usr/local/lib/systemd/system and /usr/lib/systemd/system alike.
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
LIBEXECDIR ?= $(PREFIX)/lib/guard-hooks
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Where Debian's shells look (checked with `zsh -f -c 'print -l $$fpath'` and fish's
# $$fish_complete_path): zsh reads /usr/share/zsh/vendor-completions and
# /usr/local/share/zsh/site-functions; fish reads /usr/share/fish/vendor_completions.d and
# /etc/fish/completions, and /usr/local/share/fish/vendor_completions.d only when
# XDG_DATA_DIRS names /usr/local/share (a desktop session, rarely a server's root shell).
ifeq ($(PREFIX),/usr)
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
else
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(SYSCONFDIR)/fish/completions
endif

SWIFT      ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
SCRATCH    ?= .build-static
VERSION    ?= $(shell sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/hook-runner/Version.swift)
ARCH       ?= $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DIST       ?= dist

BIN        := $(SCRATCH)/release/hook-runner
GEN        := $(SCRATCH)/generated

.PHONY: all build man completions install install-core install-files uninstall deb check-unit clean
all: build man completions

# Always runs swift build: it decides itself what is out of date (and is quick then).
# No $$ORIGIN RUNPATH: nothing is loaded from beside the binary (lintian: custom-library-search-path).
build:
	$(SWIFT) build -c release --static-swift-stdlib --disable-local-rpath --scratch-path $(SCRATCH) --product hook-runner

$(BIN): build

man: $(BIN)
	@mkdir -p $(GEN)
	packaging/make-man $(BIN) $(VERSION) > $(GEN)/hook-runner.8

completions: $(BIN)
	@mkdir -p $(GEN)
	$(BIN) --generate-completion-script bash | sed '1{/^#!/d}' > $(GEN)/hook-runner.bash  # sourced, not run
	$(BIN) --generate-completion-script zsh > $(GEN)/_hook-runner
	$(BIN) --generate-completion-script fish > $(GEN)/hook-runner.fish

# Hooks go to /etc/guard-hooks/hooks.d (root-owned 0755: hook-runner refuses hooks in a
# group- or world-writable directory), like conffiles: a hook the operator changed is kept
# and ours goes beside it as NAME.dist (packaging/install-hooks). The example config is
# installed only where none exists: an operator's config is never overwritten. The units
# are installed, not enabled. The recipe wrappers (recipes/vzdump-hook, guarded-backup.sh, ...)
# go to $(LIBEXECDIR) with this install's hook-runner path written into them.
install: all
	$(MAKE) --no-print-directory install-files

# The recipes' executable wrappers, installed into $(LIBEXECDIR) with this install's
# hook-runner path written in (cron's and vzdump's PATH may not find it).
WRAPPERS = vzdump-hook guarded-backup.sh rsync-wrapper.sh restic-wrapper.sh rsnapshot-preexec rsnapshot-postexec

# The binary, the hooks and the recipe wrappers: what scripts/install installs (after `build`).
install-core:
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/hook-runner
	packaging/install-hooks hooks.d $(DESTDIR)$(SYSCONFDIR)/guard-hooks/hooks.d
	for w in $(WRAPPERS); do \
	    sed 's|@HOOK_RUNNER@|$(BINDIR)/hook-runner|' recipes/$$w > $(DESTDIR)$(LIBEXECDIR)/$$w && \
	    chmod 0755 $(DESTDIR)$(LIBEXECDIR)/$$w || exit 1; \
	done

install-files: install-core
	install -d -m 0755 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/guard-hooks \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	[ -e $(DESTDIR)$(SYSCONFDIR)/guard-hooks/config.toml ] || \
	    install -m 0644 packaging/config.toml $(DESTDIR)$(SYSCONFDIR)/guard-hooks/config.toml
	sed 's|^ExecStart=/usr/bin/hook-runner|ExecStart=$(BINDIR)/hook-runner|' packaging/guard-hooks-seal.service \
	    > $(DESTDIR)$(UNITDIR)/guard-hooks-seal.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/guard-hooks-seal.service
	install -m 0644 packaging/guard-hooks-seal.path $(DESTDIR)$(UNITDIR)/guard-hooks-seal.path
	install -m 0644 $(GEN)/hook-runner.8 $(DESTDIR)$(MANDIR)/man8/hook-runner.8
	gzip -9nf $(DESTDIR)$(MANDIR)/man8/hook-runner.8
	install -m 0644 $(GEN)/hook-runner.bash $(DESTDIR)$(BASHCOMPDIR)/hook-runner
	install -m 0644 $(GEN)/_hook-runner $(DESTDIR)$(ZSHCOMPDIR)/_hook-runner
	install -m 0644 $(GEN)/hook-runner.fish $(DESTDIR)$(FISHCOMPDIR)/hook-runner.fish

# Leaves /etc/guard-hooks (config, hooks) and /var/lib/guard-hooks (the store) alone.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hook-runner $(addprefix $(DESTDIR)$(LIBEXECDIR)/,$(WRAPPERS)) $(DESTDIR)$(UNITDIR)/guard-hooks-seal.service $(DESTDIR)$(UNITDIR)/guard-hooks-seal.path \
	    $(DESTDIR)$(MANDIR)/man8/hook-runner.8.gz $(DESTDIR)$(BASHCOMPDIR)/hook-runner \
	    $(DESTDIR)$(ZSHCOMPDIR)/_hook-runner $(DESTDIR)$(FISHCOMPDIR)/hook-runner.fish

# build-deb stages with install-files: everything is built once, here.
deb: all
	packaging/build-deb $(VERSION) $(ARCH) $(DIST)

check-unit: build
	packaging/check-unit $(BIN)

clean:
	rm -rf $(SCRATCH) $(DIST)

# make install [PREFIX=/usr/local] [DESTDIR=...]: the toolstack and the
# daemons (PREFIX/sbin), the hotplug scripts (PREFIX/lib/pvio/scripts),
# systemd units (PREFIX/lib/systemd/system: pvio.target starts pvio-hv,
# pvio-store, pvio-blkback, pvio-netback as xencommons does), man pages
# and bash completion. `pvio up`/`down` work as well without systemd.
PREFIX ?= /usr/local
SBINDIR = $(PREFIX)/sbin
INSTALL_SBIN := pvio pvio-hv pvio-store pvio-blkback pvio-netback \
	pvio-netfront-tap
INSTALL_SCRIPTS := scripts/vif-bridge
SYSTEMD_UNITS := pvio-hv.service pvio-store.service pvio-blkback.service \
	pvio-netback.service

.PHONY: install uninstall
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PREFIX)/lib/pvio/scripts \
		$(DESTDIR)$(PREFIX)/lib/systemd/system \
		$(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(addprefix $(BINDIR)/,$(INSTALL_SBIN)) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(INSTALL_SCRIPTS) $(DESTDIR)$(PREFIX)/lib/pvio/scripts/
	for u in $(SYSTEMD_UNITS); do \
		sed 's|@SBINDIR@|$(SBINDIR)|g' scripts/systemd/$$u.in \
			>$(DESTDIR)$(PREFIX)/lib/systemd/system/$$u && \
		chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$u || exit 1; \
	done
	install -m 0644 scripts/systemd/pvio.target \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/
	install -m 0644 docs/man/pvio.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 docs/man/pvio.cfg.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 scripts/pvio.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/pvio

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(INSTALL_SBIN)) \
		$(DESTDIR)$(PREFIX)/lib/pvio/scripts/vif-bridge \
		$(addprefix $(DESTDIR)$(PREFIX)/lib/systemd/system/,$(SYSTEMD_UNITS) pvio.target) \
		$(DESTDIR)$(PREFIX)/share/man/man1/pvio.1 \
		$(DESTDIR)$(PREFIX)/share/man/man5/pvio.cfg.5 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/pvio
	-rmdir $(DESTDIR)$(PREFIX)/lib/pvio/scripts $(DESTDIR)$(PREFIX)/lib/pvio

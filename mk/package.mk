# Packaging: the double-clickable app for Linux and Windows (issue 5), made by
# the fyne tool that go.mod pins (`go tool fyne`). scripts/package.sh says how.
#
#   make package         dist/SecureChat.tar.xz and dist/SecureChat.exe
#   make install-user    install the Linux package into ~/.local, no root
#   make uninstall-user  remove it again (the profile stays)
#   make package-smoke   package, then smoke-test both packages (part of `make test`)


DIST ?= dist
PACKAGE_ENV = VERSION='$(VERSION)' DIST='$(DIST)' GO='$(GO)'

.PHONY: package package-linux package-windows install-user uninstall-user package-smoke

## package: release builds of SecureChat for Linux (dist/SecureChat.tar.xz) and Windows (dist/SecureChat.exe)
package: deps
	$(PACKAGE_ENV) ./scripts/package.sh all

## package-linux: dist/SecureChat.tar.xz only
package-linux: deps
	$(PACKAGE_ENV) ./scripts/package.sh linux

## package-windows: dist/SecureChat.exe only, cross-built with mingw-w64
package-windows: deps
	$(PACKAGE_ENV) ./scripts/package.sh windows

## install-user: build the Linux package and install it for you alone, into ~/.local
install-user: package-linux
	DIST='$(DIST)' ./scripts/package-user-install.sh install

## uninstall-user: remove what install-user installed; the profile and history stay
uninstall-user:
	./scripts/package-user-install.sh uninstall

# Builds both packages, installs the Linux one into a temporary home and
# starts it under Xvfb, and inspects the Windows one.
package-smoke: package
	EXPECT_VERSION='$(VERSION)' DIST='$(DIST)' ./scripts/smoke-package.sh all

TEST_EXTRA += package-smoke

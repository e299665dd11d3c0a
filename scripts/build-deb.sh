#!/usr/bin/env bash
# Builds dist/hearingai_<version>_<arch>.deb from the files git knows (a clean checkout's
# content), with debhelper, then checks it with lintian. Installs its own build tools.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
export PATH="$PATH:/opt/swift/usr/bin"

deps=(debhelper dpkg-dev lintian pkg-config libsndfile1-dev libsoxr-dev libsqlite3-dev libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us flite1-dev)
dpkg -s "${deps[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${deps[@]}"
}

version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
arch=$(dpkg --print-architecture)
work=$ROOT/dist/build/hearingai-$version
rm -rf "$ROOT/dist/build"
mkdir -p "$work"
# The tracked files, as a fresh clone would have them, plus the packaging as debian/.
git ls-files -z | xargs -0 cp --parents -t "$work"
cp -r packaging/debian "$work/debian"

# `make deb` (HEARINGAI_PREBUILT=1) packages the binary `make build` made and the tests ran
# against, from .build; otherwise the package builds it from the copy, in .build-deb, with the
# same flags (packaging/swift-build.mk).
if [[ ${HEARINGAI_PREBUILT:-0} == 1 ]]; then
    [[ -x $ROOT/.build/release/hearingai ]] || { echo "no release build: run make release" >&2; exit 1; }
    scratch=$ROOT/.build
else
    scratch=$ROOT/.build-deb
fi
(cd "$work" && SWIFT_SCRATCH="$scratch" HEARINGAI_PREBUILT="${HEARINGAI_PREBUILT:-0}" dpkg-buildpackage -b -us -uc)
mv "$ROOT"/dist/build/hearingai_"$version"_"$arch".deb "$ROOT/dist/"
mv "$ROOT"/dist/build/hearingai-dbgsym_"$version"_"$arch".*deb "$ROOT/dist/" 2>/dev/null || true
rm -rf "$ROOT/dist/build"

deb="$ROOT/dist/hearingai_${version}_${arch}.deb"
echo "Built $deb"
# Errors and warnings fail the build; overrides shipped in the package are explained in
# packaging/README.md.
lintian --fail-on error,warning "$deb"

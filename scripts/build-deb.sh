#!/usr/bin/env bash
# Builds vigil_<version>_<arch>.deb from a release binary and the generated manual pages:
#   scripts/build-deb.sh BINARY MANDIR OUTDIR
# BINARY: the release build (static Swift runtime); MANDIR: the pages `swift package generate-manual`
# wrote. Standard Debian tooling only: dpkg-shlibdeps computes Depends, dpkg-deb builds.
set -euo pipefail
binary=$1 mandir=$2 outdir=$3
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(tr -d ' \n' < "$top/VERSION")
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
doc=$root/usr/share/doc/vigil

install -D -m 0755 "$binary" "$root/usr/bin/vigil"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/vigil"
sed -e 's|/usr/local/bin/vigil|/usr/bin/vigil|' \
    -e 's|^Documentation=.*|Documentation=man:vigil(1) man:vigil.yaml(5) file:///usr/share/doc/vigil/docs/operating.md.gz|' \
    -e 's|Installed by `make install`|Installed by the vigil package|' \
    "$top/systemd/vigil.service" > "$work/vigil.service"
install -D -m 0644 "$work/vigil.service" "$root/lib/systemd/system/vigil.service"
install -D -m 0644 "$top/systemd/vigil.sysusers" "$root/usr/lib/sysusers.d/vigil.conf"
install -D -m 0644 "$top/packaging/deb/tmpfiles.conf" "$root/usr/lib/tmpfiles.d/vigil.conf"
install -D -m 0644 "$top/systemd/vigil.example.yaml" "$root/etc/vigil/vigil.yaml"

# Manual pages (gzip -9n: reproducible), shell completions from the command definitions.
install -d "$root/usr/share/man/man1" "$root/usr/share/man/man5"
# The generated NAME line ("vigil alerts tail") becomes the page's name (vigil.alerts.tail) so that
# whatis/apropos index it; the synopsis keeps the command as typed.
for page in "$mandir"/*.1; do
    awk 'name == "" && /^\.Nm "/ { name = $0; sub(/^\.Nm "/, "", name); sub(/"$/, "", name)
                                   n = name; gsub(/ /, ".", n); print ".Nm " n; next }
         /^\.Nm$/ && name != "" { print ".Nm \"" name "\""; next }
         { print }' "$page" | gzip -9n > "$root/usr/share/man/man1/$(basename "$page").gz"
done
gzip -9n < "$top/docs/man/vigil.yaml.5" > "$root/usr/share/man/man5/vigil.yaml.5.gz"
install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d"
"$binary" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/vigil"
"$binary" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_vigil"
"$binary" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/vigil.fish"

install -d "$doc/docs"
gzip -9n < "$top/README.md" > "$doc/README.md.gz"
# The reference (operating guide, configuration, alerts, CLI, ...), beside the README as in the source tree.
for page in "$top"/docs/*.md; do gzip -9n < "$page" > "$doc/docs/$(basename "$page").gz"; done
install -m 0644 "$top/packaging/deb/copyright" "$doc/copyright"
install -D -m 0644 "$top/packaging/deb/lintian-overrides" "$root/usr/share/lintian/overrides/vigil"
commit=$("$binary" --version | sed -n 's/.*commit \([^)]*\)).*/\1/p')
printf 'vigil (%s) unstable; urgency=medium\n\n  * Release %s, built from commit %s.\n\n -- Vigil developers <vigil@example.org>  %s\n' \
    "$version" "$version" "$commit" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}")" \
    | gzip -9n > "$doc/changelog.gz"

# Depends: the shared libraries the binary really links, as Debian computes them.
mkdir -p "$work/debian"
printf 'Source: vigil\n\nPackage: vigil\nArchitecture: any\n' > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O -e"$root/usr/bin/vigil" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
depends="$depends, systemd (>= 252)"

install -d -m 0755 "$root/DEBIAN"
for script in postinst prerm postrm; do install -m 0755 "$top/packaging/deb/$script" "$root/DEBIAN/$script"; done
echo /etc/vigil/vigil.yaml > "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: vigil
Version: $version
Architecture: $arch
Maintainer: Vigil developers <vigil@example.org>
Installed-Size: $size
Depends: $depends
Section: video
Priority: optional
Description: motion-alert daemon for city cameras
 Vigil pulls the RTSP feeds of a municipality's cameras through FFmpeg,
 runs SIMD frame-difference motion detection on each, and raises alerts
 into a durable queue delivered to an alert log, a webhook or a command.
 It also keeps the camera registry and exports the public camera register.
 .
 The service is installed but neither enabled nor started.
CONTROL
mkdir -p "$outdir"
deb="$outdir/vigil_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"

#!/bin/sh
# Writes BuildInfo.swift into $2: the version from $1/VERSION and the git commit of $1 (or "unknown"
# outside a git checkout; "-dirty" when tracked files differ from it). Called by the BuildInfo plugin.
set -eu
package=$1
out=$2
version=$(tr -d ' \n' < "$package/VERSION")
commit=$(git -C "$package" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git -C "$package" diff --quiet HEAD -- 2>/dev/null; then
    commit="$commit-dirty"
fi
mkdir -p "$out"
new=$(printf '/// Generated at build time by scripts/build-info.sh: do not edit.\nenum BuildInfo {\n    static let version = "%s"\n    static let commit = "%s"\n}\n' "$version" "$commit")
if [ ! -f "$out/BuildInfo.swift" ] || [ "$(cat "$out/BuildInfo.swift")" != "$new" ]; then
    printf '%s\n' "$new" > "$out/BuildInfo.swift"
fi

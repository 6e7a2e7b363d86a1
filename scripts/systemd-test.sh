#!/usr/bin/env bash
# `make systemd-test`: the built package under a real systemd as PID 1.
#   scripts/systemd-test.sh DEB
# A debootstrapped Debian 12 root (cached in $VIGIL_TEST_ROOT_CACHE, default /var/cache/vigil-test)
# gets the package installed with dpkg, a file camera, and is booted with systemd-nspawn (private
# network: nothing leaves the machine). Each check prints "ok - ..." or "not ok - ..."; the script
# exits non-zero if any failed. Needs root, debootstrap and systemd-nspawn (make deps installs them).
set -uo pipefail
deb=$(realpath "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${VIGIL_TEST_ROOT_CACHE:-/var/cache/vigil-test}
soak=${VIGIL_TEST_WATCHDOG_SECONDS:-90}
passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# The libraries the package depends on, so the root can install it without a network.
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ *//; s/[ (|].*//' | grep -v '^$' | sort -u | tr '\n' ',')
include="systemd,systemd-sysv,dbus,procps,man-db,${depends%,}"
key=$(echo "$include" | md5sum | cut -c1-12)
base=$cache/bookworm-$key
if [ ! -f "$base/.complete" ]; then
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    mirror=${mirror:-http://deb.debian.org/debian}
    echo "# debootstrap of a Debian 12 root into $base (about a minute, cached for later runs)"
    rm -rf "$base" && mkdir -p "$base"
    debootstrap --variant=minbase --include="$include" bookworm "$base" "$mirror" \
        > "$cache/debootstrap.log" 2>&1 || { echo "not ok - debootstrap failed, see $cache/debootstrap.log"; exit 1; }
    touch "$base/.complete"
fi

work=$(mktemp -d /var/tmp/vigil-systemd-test.XXXXXX)
root=$work/root
nspawn=
cleanup() {
    if [ -n "$nspawn" ]; then kill -TERM "$nspawn" 2>/dev/null; wait "$nspawn" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
cp -a "$base" "$root"

# Boot the root with a real systemd as PID 1.
systemd-nspawn -D "$root" -M "vigiltest$$" --register=no --keep-unit --private-network -b --console=pipe \
    > "$work/console.log" 2>&1 &
nspawn=$!
pid1=
for _ in $(seq 100); do
    pid1=$(pgrep -P "$nspawn" -x systemd | head -1) && [ -n "$pid1" ] && break
    sleep 0.1
done
[ -n "$pid1" ] || { echo "not ok - the container did not boot"; cat "$work/console.log"; exit 1; }
inside() { nsenter -t "$pid1" -a "$@"; }
show() { inside systemctl show -p "$1" --value vigil.service; }
wait_for() { # seconds, command...: polls the command until it succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.5; done
}
wait_for 30 bash -c "nsenter -t $pid1 -a systemctl is-system-running 2>/dev/null | grep -Eq 'running|degraded'"

# Install the package into the root (as dpkg would on a server) and check what it put there.
install -D -m 0644 "$deb" "$root/srv/vigil-test/vigil.deb"
check "the package installs with dpkg" inside dpkg -i /srv/vigil-test/vigil.deb
check "vigil --version names the version and commit" \
    bash -c "nsenter -t $pid1 -a vigil --version | grep -Eq '^vigil [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]{7,}'"
check "systemd-analyze verify prints nothing for the installed unit" \
    bash -c "[ -z \"\$(nsenter -t $pid1 -a systemd-analyze verify /lib/systemd/system/vigil.service 2>&1)\" ]"
check "the config is readable by the vigil group only" \
    bash -c "[ \"\$(nsenter -t $pid1 -a stat -c '%a %U %G' /etc/vigil/vigil.yaml)\" = '640 root vigil' ]"
check "man finds vigil(1), vigil.run(1) and vigil.yaml(5)" inside man -w vigil vigil.run vigil.yaml
check "completions are installed" \
    test -f "$root/usr/share/man/man1/vigil.run.1.gz" -a -f "$root/usr/share/man/man5/vigil.yaml.5.gz" \
    -a -s "$root/usr/share/bash-completion/completions/vigil" -a -s "$root/usr/share/zsh/vendor-completions/_vigil" \
    -a -s "$root/usr/share/fish/vendor_completions.d/vigil.fish"

# A file camera playing a crossing in a loop, registered as the service user would.
install -D -m 0644 "$top/fixtures/one_crossing.mp4" "$root/srv/vigil-test/one_crossing.mp4"
check "a camera is registered as the vigil user" inside runuser -u vigil -- vigil camera add demo \
    --url /srv/vigil-test/one_crossing.mp4 --name Demo --lat 50.85 --lon 4.35 --municipality Demo \
    --operator Demo --purpose test --public --state-dir /var/lib/vigil
# A short watchdog, so that the soak below spans many watchdog periods.
mkdir -p "$root/etc/systemd/system/vigil.service.d"
printf '[Service]\nWatchdogSec=6s\n' > "$root/etc/systemd/system/vigil.service.d/test-watchdog.conf"
inside systemctl daemon-reload

check "the service is installed but not enabled or started" \
    bash -c "[ \"\$(nsenter -t $pid1 -a systemctl is-enabled vigil.service)\" = disabled ] && [ \"\$(nsenter -t $pid1 -a systemctl is-active vigil.service)\" = inactive ]"
check "systemctl start reaches running (READY=1)" inside systemctl start vigil.service
check "the STATUS line reaches systemctl" wait_for 20 bash -c "nsenter -t $pid1 -a systemctl show -p StatusText --value vigil.service | grep -q camera"
log=$root/var/log/vigil/alerts.jsonl
check "alerts appear in /var/log/vigil/alerts.jsonl" wait_for 30 grep -q '"motion_started"' "$log"
check "alerts appear in the journal" wait_for 10 bash -c "nsenter -t $pid1 -a journalctl -u vigil.service | grep -q 'motion started'"

echo "# watching the watchdog for $soak s"
sleep "$soak"
check "the watchdog did not fire in $soak s" \
    bash -c "[ \"\$(nsenter -t $pid1 -a systemctl show -p NRestarts --value vigil.service)\" = 0 ] && ! nsenter -t $pid1 -a journalctl -u vigil.service | grep -qi 'watchdog timeout'"

mv "$log" "$log.1"
check "systemctl reload reopens the alert log" bash -c \
    "nsenter -t $pid1 -a systemctl reload vigil.service && for i in \$(seq 60); do grep -q motion_started '$log' 2>/dev/null && exit 0; sleep 0.5; done; exit 1"

active=$(inside systemctl is-active vigil.service)
start=$SECONDS
inside systemctl stop vigil.service
check "systemctl stop ends within 5 s with success" \
    bash -c "[ '$active' = active ] && [ $((SECONDS - start)) -le 5 ] && [ \"\$(nsenter -t $pid1 -a systemctl show -p Result --value vigil.service)\" = success ]"

inside systemctl start vigil.service
before=$(show MainPID)
inside systemctl kill -s KILL vigil.service
check "SIGKILL leads to a restart" wait_for 20 bash -c \
    "[ \"\$(nsenter -t $pid1 -a systemctl show -p NRestarts --value vigil.service)\" = 1 ] && [ \"\$(nsenter -t $pid1 -a systemctl is-active vigil.service)\" = active ] && [ \"\$(nsenter -t $pid1 -a systemctl show -p MainPID --value vigil.service)\" != $before ]"

exposure=$(inside systemd-analyze security vigil.service 2>/dev/null | sed -n 's/.*Overall exposure level for vigil.service: \([0-9.]*\).*/\1/p')
check "systemd-analyze security inside: exposure ${exposure:-?} <= 1.5" \
    bash -c "[ -n '$exposure' ] && awk 'BEGIN { exit !($exposure <= 1.5) }'"

check "dpkg -r stops the service and keeps the state directory and the alert log" bash -c \
    "nsenter -t $pid1 -a dpkg -r vigil >/dev/null && [ \"\$(nsenter -t $pid1 -a systemctl is-active vigil.service)\" != active ] && [ -f '$root/var/lib/vigil/registry.sqlite' ] && [ -f '$log' ] && [ ! -e '$root/usr/bin/vigil' ]"
check "dpkg -P removes the config and still keeps the state directory" bash -c \
    "nsenter -t $pid1 -a dpkg -P vigil >/dev/null && [ ! -e '$root/etc/vigil/vigil.yaml' ] && [ -f '$root/var/lib/vigil/registry.sqlite' ]"

kill -TERM "$nspawn"; wait "$nspawn" 2>/dev/null; nspawn=
echo "systemd-test: $passed passed, $failed failed"
[ "$failed" = 0 ]

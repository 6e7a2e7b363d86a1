# Vigil: the two commands are `make run` (the demo) and `make test` (the whole suite).
SWIFT ?= swift
PYTHON ?= /usr/bin/python3

# Debian packages Vigil needs to build, run and test (FFmpeg, and GStreamer for the test RTSP server).
APT_PACKAGES = systemd libcurl4-openssl-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev pkg-config ffmpeg \
	python3 python3-numpy python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav

.PHONY: deps build release run test bench bench-queue soak leak-check install clean
PREFIX ?= /usr/local
DESTDIR ?=

## deps: install the Debian packages that are missing (apt-get; uses sudo when not root)
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing missing packages:" $$missing; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

# The release binary links the Swift runtime statically: a server needs only Debian's FFmpeg libraries.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib

## run: the demo: replay the bundled fixture clips and print their motion events
run: release
	@scripts/demo.sh .build/release/vigil

## test: the whole suite (unit, fixture replays, RTSP server on 127.0.0.1, the daemon as real processes).
## Serial: many tests wait on real processes and clocks, and on 2 cores Swift's cooperative pool has
## only two threads, so tests run in parallel would starve each other and measure each other's load.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

## leak-check: replay every fixture under AddressSanitizer + LeakSanitizer
leak-check: deps
	$(SWIFT) build --sanitize=address --scratch-path .build-asan --product vigil
	scripts/leak-check.sh

## bench: CPU per frame (decode only vs vigil) on 1080p15, then the daemon with 4, 8, 16 RTSP cameras
bench: release
	bench/run.sh .build/release/vigil

## soak: the daemon with 16 RTSP cameras under faults (kills, stalls, resets, a wrong password, SIGHUP each
## minute) for $(SOAK_MINUTES) minutes; prints RSS, fds, threads and alerts lost; fails on a loss or growth
SOAK_MINUTES ?= 30
soak: release
	$(PYTHON) bench/soak.py .build/release/vigil --minutes $(SOAK_MINUTES)

## install: the binary, the systemd unit and sysusers file, an example config (kept if present)
install: release
	install -D -m 0755 .build/release/vigil $(DESTDIR)$(PREFIX)/bin/vigil
	sed 's|/usr/local/bin/vigil|$(PREFIX)/bin/vigil|' systemd/vigil.service > vigil.service.tmp
	install -D -m 0644 vigil.service.tmp $(DESTDIR)/etc/systemd/system/vigil.service && rm -f vigil.service.tmp
	install -D -m 0644 systemd/vigil.sysusers $(DESTDIR)/usr/lib/sysusers.d/vigil.conf
	[ -f $(DESTDIR)/etc/vigil/vigil.yaml ] || install -D -m 0640 systemd/vigil.example.yaml $(DESTDIR)/etc/vigil/vigil.yaml
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/vigil/README.md

## bench-queue: alerts per second committed with synchronous=FULL and NORMAL, on the disk of ./var
bench-queue: release
	@mkdir -p var
	.build/release/vigil bench-queue --alerts 8000 --producers 1,8 --directory ./var

clean:
	rm -rf .build var

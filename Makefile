# Vigil: the two commands are `make run` (the demo) and `make test` (the whole suite).
SWIFT ?= swift
PYTHON ?= /usr/bin/python3

# Debian packages Vigil needs to build, run and test (FFmpeg, and GStreamer for the test RTSP server).
APT_PACKAGES = systemd libcurl4-openssl-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev pkg-config ffmpeg \
	python3 python3-numpy python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav \
	dpkg-dev lintian debootstrap systemd-container curl chromium postgresql wrk

.PHONY: deps build release run test doc-check bench bench-scale bench-http bench-queue soak leak-check install deb man systemd-test clean fuzz fuzz-build fuzz-check
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
	$(SWIFT) build -c release --static-swift-stdlib --product vigil

## run: the demo: the daemon on its embedded default (state in ./var) with two demo cameras; Ctrl-C stops it
run: release
	@scripts/demo.sh .build/release/vigil

## test: the whole suite (unit, fixture replays, RTSP server on 127.0.0.1, the daemon as real processes).
## Serial: many tests wait on real processes and clocks, and on 2 cores Swift's cooperative pool has
## only two threads, so tests run in parallel would starve each other and measure each other's load.
test: deps fuzz-check
	$(SWIFT) build --build-tests
	$(MAKE) doc-check
	$(MAKE) systemd-test
	$(SWIFT) test --skip-build --no-parallel

## doc-check: every command shown in README.md and docs/*.md runs (in a scratch directory) and succeeds
doc-check:
	$(PYTHON) scripts/check-doc-commands.py --vigil $$($(SWIFT) build --show-bin-path)/vigil

## man: manual pages for vigil and each subcommand, generated from the command definitions
man:
	$(SWIFT) package generate-manual --multi-page --configuration debug
	@echo "manual pages in $(MANDIR)"
MANDIR = .build/plugins/GenerateManual/outputs/vigil

## deb: vigil_<version>_<arch>.deb (release binary, unit, sysusers, example config, man pages, completions)
deb: release man
	scripts/build-deb.sh .build/release/vigil $(MANDIR) .build-deb
	lintian --fail-on error,warning .build-deb/vigil_$$(cat VERSION)_$$(dpkg --print-architecture).deb

## systemd-test: the package installed into a Debian 12 root booted with systemd-nspawn (real systemd as PID 1)
systemd-test: deb
	scripts/systemd-test.sh .build-deb/vigil_$$(cat VERSION)_$$(dpkg --print-architecture).deb

## fuzz: each libFuzzer harness for FUZZ_SECONDS (default 60) from its committed corpus in fuzz/corpus/<name>;
## new inputs go to .build-fuzz/corpus/<name>, crashes to .build-fuzz/artifacts (add them to fuzz/corpus once fixed)
FUZZ_SECONDS ?= 60
FUZZ_BUILD = .build-fuzz
FUZZ_SWIFT = config:FuzzConfig import:FuzzImport url:FuzzURL redactor:FuzzRedactor
FUZZ_FLAGS = -timeout=10 -rss_limit_mb=2048 -max_len=65536
# Swift's own crash handler would race AddressSanitizer's report.
export SWIFT_BACKTRACE = enable=no
# The toolchain's clang (libFuzzer ships with it), beside swift.
CLANG ?= $(dir $(realpath $(shell command -v $(SWIFT))))clang
AV_LIBS = libavformat libavcodec libswscale libavutil

fuzz: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@for pair in $(FUZZ_SWIFT) media:fuzz-media; do name=$${pair%%:*}; binary=$${pair#*:}; \
		mkdir -p $(FUZZ_BUILD)/corpus/$$name; echo "== fuzz $$name for $(FUZZ_SECONDS) s"; \
		$(FUZZ_BUILD)/debug/$$binary $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$name- $(FUZZ_BUILD)/corpus/$$name fuzz/corpus/$$name 2>&1 \
			| grep -E '^(stat::number_of_executed_units|Done|==[0-9]+==ERROR|SUMMARY|artifact_prefix|property violated)' \
			|| true; \
		test -z "$$(ls $(FUZZ_BUILD)/artifacts/$$name-* 2>/dev/null)" || { echo "fuzz $$name: crash saved in $(FUZZ_BUILD)/artifacts"; exit 1; }; \
	done

## fuzz-check: every harness over its committed corpus once (part of `make test`)
fuzz-check: fuzz-build
	@for pair in $(FUZZ_SWIFT) media:fuzz-media; do name=$${pair%%:*}; binary=$${pair#*:}; \
		$(FUZZ_BUILD)/debug/$$binary $(FUZZ_FLAGS) -runs=0 fuzz/corpus/$$name > $(FUZZ_BUILD)/check-$$name.log 2>&1 \
			&& echo "fuzz corpus $$name: $$(ls fuzz/corpus/$$name | wc -l) inputs, clean" \
			|| { tail -20 $(FUZZ_BUILD)/check-$$name.log; echo "fuzz corpus $$name: FAILED"; exit 1; }; \
	done

## fuzz-build: the harnesses with libFuzzer and AddressSanitizer, in .build-fuzz
fuzz-build: deps
	@for pair in $(FUZZ_SWIFT); do $(SWIFT) build --scratch-path $(FUZZ_BUILD) -Xswiftc -sanitize=fuzzer,address \
		-Xswiftc -DFUZZING -Xswiftc -use-ld=lld --product $${pair#*:} || exit 1; done
	$(CLANG) -g -O1 -fsanitize=fuzzer,address -fuse-ld=lld -ICFFmpeg/Shim/include $$(pkg-config --cflags $(AV_LIBS)) \
		CFFmpeg/Shim/vg_media.c fuzz/media/fuzz_media.c $$(pkg-config --libs $(AV_LIBS)) -o $(FUZZ_BUILD)/debug/fuzz-media

## leak-check: replay every fixture under AddressSanitizer + LeakSanitizer
leak-check: deps
	$(SWIFT) build --sanitize=address --scratch-path .build-asan --product vigil
	scripts/leak-check.sh

## bench: CPU per frame (decode only vs vigil) on 1080p15, then the daemon with 4, 8, 16 RTSP cameras, the
## per-stage account of one live camera against ffmpeg and the floor (with a 2 s quiet tail, and every frame
## decoded, for comparison), then bench-scale (about 30 minutes)
STAGE_SECONDS ?= 120
bench: release
	bench/run.sh .build/release/vigil
	bench/stages.sh .build/release/vigil --seconds $(STAGE_SECONDS) \
	    --variant 'adaptive_quiet_seconds: 2' --variant 'adaptive_decoding: false'
	$(MAKE) bench-scale

## bench-scale: per-camera CPU and RSS of 1, 4, 16, 32 live cameras of the 1080p stream and of its 360p sub-stream
SCALE_CAMERAS ?= 1,4,16,32
SCALE_SECONDS ?= 60
bench-scale: release
	bench/stages.sh .build/release/vigil --skip-stages --scale $(SCALE_CAMERAS) --scale-seconds $(SCALE_SECONDS)

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
	systemd-sysusers --root=$(or $(DESTDIR),/) $(DESTDIR)/usr/lib/sysusers.d/vigil.conf
	@# The unit runs as User=vigil: the config is readable by its group (0640 root:root would stop the service).
	[ -f $(DESTDIR)/etc/vigil/vigil.yaml ] || install -D -m 0640 systemd/vigil.example.yaml $(DESTDIR)/etc/vigil/vigil.yaml
	chgrp $$(awk -F: '$$1 == "vigil" { print $$3 }' $(DESTDIR)/etc/group) $(DESTDIR)/etc/vigil/vigil.yaml
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/vigil/README.md
	install -d $(DESTDIR)$(PREFIX)/share/doc/vigil/docs && install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/vigil/docs/

## bench-http: camera CPU and frame timing of 8 RTSP cameras without and with wrk at 200 requests/s on
## /metrics and 50 SSE clients (bench/http_load.sh, 30 s windows; needs wrk from APT_PACKAGES)
bench-http: release
	bench/http_load.sh .build/release/vigil 30

## bench-queue: alerts per second committed with synchronous=FULL and NORMAL, on the disk of ./var
bench-queue: release
	@mkdir -p var
	.build/release/vigil bench-queue --alerts 8000 --producers 1,8 --directory ./var

clean:
	rm -rf .build .build-fuzz var

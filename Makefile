# The front door. `make demo` and `make check` do all set-up on a fresh
# Debian 12 machine (as root): packages, build, sample media, models.
BUILD ?= build
JOBS := $(shell nproc)

.PHONY: all deps build demo check test bench bench-engine bench-program bench-latency probe-stop format clean install abi-update fuzz soak zoo

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCN_WERROR=ON
	cmake --build $(BUILD) -j$(JOBS)

# The main job on the built-in default (sample clip).
demo: build
	BUILD=$(BUILD) bash scripts/demo.sh

# Every test: -Werror build, ASan+UBSan, TSan on the threaded tests.
check: deps
	bash scripts/check.sh

# Just the tests of the normal build.
test: build
	cd $(BUILD) && ctest --output-on-failure -j2

# Benchmarks print medians and ratios against a reference measured in the
# same run; docs/benchmarks.md keeps the results.
bench: build
	bash scripts/bench-capture.sh

# Models, samples and the model zoo (models/zoo, scripts/make-zoo.py) with
# ONNX Runtime's reference outputs; quick when already there.
zoo:
	bash scripts/fetch-models.sh

bench-engine: build
	bash scripts/fetch-models.sh
	BUILD=$(BUILD) bash scripts/bench-engine.sh

bench-program: build
	bash scripts/fetch-models.sh
	bash scripts/make-sample.sh
	BUILD=$(BUILD) bash scripts/bench-program.sh

# Latency from outside: a paced RTSP server, camnet and the grabber-thread
# peers, each line stamped on arrival (docs/benchmarks.md, "Latency").
bench-latency: build
	bash scripts/fetch-models.sh
	BUILD=$(BUILD) bash scripts/bench-latency.sh

# How fast SIGTERM stops camnet while connecting, loading a model and
# running (docs/benchmarks.md, "Stopping").
probe-stop: build
	bash scripts/fetch-models.sh
	BUILD=$(BUILD) bash scripts/probe-stop.sh

# Installs into PREFIX (default /usr/local), under DESTDIR if set.
PREFIX ?= /usr/local
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# Accept an intended ABI change: new baselines in abi/ (see docs/api.md).
abi-update: build
	bash scripts/abi.sh update $(BUILD)

# The standing fuzz campaign: FUZZ_MINUTES (default 2) per target, under
# ASan+UBSan; crashes become corpus entries (scripts/fuzz.sh).
fuzz: deps
	bash scripts/fuzz.sh

# camnet for SOAK_MINUTES (default 10) with RSS, fds and threads sampled;
# fails on growth after warm-up (scripts/soak.sh).
soak: build
	bash scripts/fetch-models.sh
	bash scripts/soak.sh

format:
	find src tests tools examples include -name '*.[ch]' | xargs clang-format -i

clean:
	rm -rf build build-asan build-tsan build-fuzz

# Two commands on a fresh machine with only Python 3.11: `make demo` and `make test`.
# Set-up is idempotent: the venv is created once and re-installed only when pyproject.toml changes.
#   make TORCH=torch test        # e.g. a CUDA build of torch on a GPU machine
#   make PYTHON=python3.12 test  # another interpreter

PYTHON ?= $(shell command -v python3.11 || command -v python3)
TORCH ?= torch==2.13.0
# The last mediapipe wheel that ships BlazePose's .tflite models (the keypoint detector, installed without its deps).
MEDIAPIPE ?= mediapipe==0.10.14
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
# Debian packages: libusb (open3d import), vulkan + mesa (headless Open3D rendering), libGL (OpenCV).
APT_PACKAGES := libusb-1.0-0 libvulkan1 mesa-vulkan-drivers libgl1 libglib2.0-0
PYTEST_ARGS ?=

.PHONY: setup system-deps demo test test-slow test-all clean

setup: $(STAMP) system-deps

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[dev,detect]"
	$(PIP) install --quiet --no-deps $(MEDIAPIPE)
	touch $(STAMP)

# Installs the Debian libraries when run as root (CI, containers); otherwise says what to run.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ] || ! command -v dpkg >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ]; then \
	  echo "installing system libraries:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	    || { echo "apt-get install failed for:$$missing"; exit 1; }; \
	else \
	  echo "missing system libraries:$$missing"; \
	  echo "run: sudo apt-get install -y$$missing"; \
	fi

demo: setup
	$(VENV)/bin/capture demo --out out/demo

test: setup
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-slow: setup
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) out .pytest_cache

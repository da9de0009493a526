# regclean: `make demo` and `make test` work on a fresh Debian 12 machine.
# `make setup` is idempotent: it only installs what is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEBS   := docker-registry skopeo openssh-server postgresql redis-server
KUBECTL := .cache/kubectl/usr/bin/kubectl
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup debs venv compile check lint typecheck layers test demo bench clean image image-debs base-image test-image

setup: venv debs $(KUBECTL)

venv: $(STAMP)

# uv resolves and installs the dependencies in about a tenth of pip's time (11 s against 51 s on a
# fresh clone here); pip stays the fallback when uv cannot be had.
# Then every installed module is compiled once. uv leaves that to the first import, and where
# PYTHONDONTWRITEBYTECODE is set (these machines set it) no import ever writes it: every `regclean`
# command and every process of the demo would compile what it imports again (`regclean --help`:
# 2.0 s, 0.6 s compiled). The tests keep their own bytecode cache (tests/__init__.py).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	if $(BIN)/pip install --quiet --disable-pip-version-check uv && \
	   $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'; then :; \
	else \
	  $(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip && \
	  $(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'; \
	fi
	$(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null
	touch $@

# The project's own modules, compiled for the same reason before the demo starts its processes
# (a changed module is compiled again; an unchanged one is not).
compile: venv
	$(BIN)/python -m compileall -q -j 0 bot actions handlers sandbox

# Installs those of the Debian packages $(1) that are missing.
install_debs = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The sandbox's real programs (sandbox.md). Installed only when one is missing.
debs:
	@$(call install_debs,$(DEBS))
	@[ -d /run/sshd ] || $(SUDO) mkdir -p /run/sshd

# kubectl 1.20 from Debian for the conformance test. The machine's own kubectl is another
# vendor's wrapper and the package conflicts with it, so unpack it instead of installing it.
$(KUBECTL):
	mkdir -p .cache/debs
	cd .cache/debs && (apt-get download kubernetes-client >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update -qq && apt-get download kubernetes-client))
	dpkg-deb -x .cache/debs/kubernetes-client_*.deb .cache/kubectl
	$(KUBECTL) version --client --short 2>/dev/null || $(KUBECTL) version --client

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

layers: venv
	$(BIN)/lint-imports

check: lint typecheck layers

test: setup check
	$(BIN)/pytest

demo: setup compile
	$(BIN)/regclean demo $(if $(DEMO_LOGS),--logs $(DEMO_LOGS))

bench: setup
	$(BIN)/python bench/inventory.py
	$(BIN)/python bench/ack_latency.py
	$(BIN)/python bench/backup.py
	$(BIN)/python bench/purge_stream.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/export.py

# The container image (Containerfile; README "Deploy"), tagged with the commit it is built from
# (`python -m bot.version`, or COMMIT=…). An image of a clean commit that exists already is kept; a
# tree with changes is built again.
# podman runs with runc and without default ulimits (CONTAINERS_CONF): crun fails on this VM's
# hybrid cgroups and on RLIMIT_NOFILE.
IMAGE           ?= localhost/regclean
IMAGE_DEBS      := podman mmdebstrap runc
DEBIAN_SUITE    ?= $(shell . /etc/os-release 2>/dev/null && echo $$VERSION_CODENAME || echo bookworm)
BASE_IMAGE      ?= localhost/regclean-base:$(DEBIAN_SUITE)
CONTAINERS_CONF ?= $(CURDIR)/.cache/containers.conf
PODMAN          := CONTAINERS_CONF=$(CONTAINERS_CONF) podman

image-debs:
	@$(call install_debs,$(IMAGE_DEBS))

$(CURDIR)/.cache/containers.conf:
	mkdir -p $(@D)
	printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' > $@

# No public registry answers here, so the base is Debian's own Python, made with mmdebstrap (about
# a minute), once. Elsewhere `podman build` can use the Containerfile's default BASE.
base-image: image-debs $(CONTAINERS_CONF)
	@$(PODMAN) image exists $(BASE_IMAGE) || { \
	  echo "building $(BASE_IMAGE) with mmdebstrap"; \
	  mkdir -p .cache/image && \
	  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
	    $(DEBIAN_SUITE) .cache/image/rootfs.tar && \
	  $(PODMAN) import --quiet .cache/image/rootfs.tar $(BASE_IMAGE) >/dev/null && \
	  rm -f .cache/image/rootfs.tar; }

# The wheels come from the host at the versions the tests use (the venv's as constraints): pip in
# a build cannot verify the index's TLS, and the image needs no compiler.
image: venv base-image
	@commit=$(or $(COMMIT),$$($(BIN)/python -m bot.version)); \
	if [ "$${commit%-dirty}" = "$$commit" ] && [ "$$commit" != unknown ] && \
	   $(PODMAN) image exists $(IMAGE):$$commit; then \
	  echo "$(IMAGE):$$commit is built already"; exit 0; fi; \
	rm -rf .cache/image/wheels && mkdir -p .cache/image && \
	$(BIN)/pip freeze --exclude-editable > .cache/image/constraints.txt && \
	$(BIN)/pip wheel --quiet --wheel-dir .cache/image/wheels -c .cache/image/constraints.txt '.[postgres]' && \
	$(PODMAN) build --quiet --isolation chroot --build-arg BASE=$(BASE_IMAGE) --build-arg COMMIT=$$commit \
	  --tag $(IMAGE):$$commit --tag $(IMAGE):latest --file Containerfile . && \
	echo "built $(IMAGE):$$commit"

# The image test builds the image (`make image`) and runs it against the sandbox: minutes the first
# time, so `make test` leaves it out (tests/e2e/conftest.py) and CI runs it after.
test-image: setup image-debs $(CONTAINERS_CONF)
	$(BIN)/pytest -n 0 tests/e2e/test_image.py

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache

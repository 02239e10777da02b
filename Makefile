# Two commands for a newcomer: `make up` runs the stack, `make test` runs the suite.
# Both install what they need first (Debian packages via apt-get, Python packages into .venv/).

VENV      := .venv
PYTHON    ?= python3
STAMP     := $(VENV)/.installed
DEB_PKGS  := tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-osd
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: up test install system-deps bench clean

up: install
	$(VENV)/bin/invoicer up

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

install: system-deps $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

bench: install
	$(VENV)/bin/python bench/upload.py

clean:
	rm -rf $(VENV) .pytest_cache

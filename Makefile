# Two commands for a newcomer: `make up` runs the stack, `make test` runs the suite.
# Both install what they need first (Debian packages via apt-get, Python packages into .venv/).

VENV      := .venv
PYTHON    ?= python3
STAMP     := $(VENV)/.installed
DEB_PKGS  := tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-osd
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=
# The web app (clients/): npm ci when the lock changes, a build when a source changes; Debian's chromium for
# the browser tests (Playwright never downloads a browser).
NPM_STAMP    := clients/node_modules/.installed
WEB_STAMP    := clients/web/dist/.built
WEB_SOURCES  := $(shell find clients/sdk/src clients/web/src -type f 2>/dev/null) clients/web/index.html clients/web/vite.config.ts clients/web/tsconfig.json clients/sdk/tsconfig.json
BROWSER_PKGS := chromium
# The mobile app's web export (Expo, offline: no Expo account or servers), stamped like the web build.
MOBILE_STAMP   := clients/mobile/dist/.built
MOBILE_SOURCES := $(shell find clients/sdk/src clients/mobile/app clients/mobile/src clients/mobile/components -type f 2>/dev/null) clients/mobile/app.json clients/mobile/babel.config.js clients/mobile/tsconfig.json
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: up test install system-deps browser-deps web web-test mobile bench clean

up: install web
	$(VENV)/bin/invoicer up

test: install web mobile browser-deps web-test
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

web: $(WEB_STAMP)

$(NPM_STAMP): clients/package-lock.json clients/package.json clients/sdk/package.json clients/web/package.json clients/mobile/package.json
	cd clients && npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

$(WEB_STAMP): $(NPM_STAMP) $(WEB_SOURCES)
	cd clients && npm run build
	touch $(WEB_STAMP)

mobile: $(MOBILE_STAMP)

$(MOBILE_STAMP): $(NPM_STAMP) $(MOBILE_SOURCES)
	cd clients/mobile && EXPO_OFFLINE=1 CI=1 npx expo export --platform web --output-dir dist
	touch $(MOBILE_STAMP)

web-test: $(NPM_STAMP)
	cd clients && npm test

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(BROWSER_PKGS); }

bench: install
	$(VENV)/bin/python bench/upload.py

clean:
	rm -rf $(VENV) .pytest_cache clients/node_modules clients/web/dist clients/mobile/dist

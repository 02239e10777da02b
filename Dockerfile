# One image for the API, the realtime server, the watcher and the migrate job (the command picks the part).
# Production only: no embedded database (MONGODB_URI points at a MongoDB replica set).

# --- the web app: built once, served by the API at / -----------------------------------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /clients
# The manifests first, so the dependency layer survives code changes. Every workspace's package.json is
# needed for `npm ci` to match the lock file; only the web app and the SDK it uses are installed.
COPY clients/package.json clients/package-lock.json ./
COPY clients/sdk/package.json sdk/
COPY clients/web/package.json web/
COPY clients/mobile/package.json mobile/
RUN npm ci --no-audit --no-fund --workspace sdk --workspace web --include-workspace-root
COPY clients/sdk sdk
COPY clients/web web
RUN npm run build --workspace web

# --- the Python service ----------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_THREAD_LIMIT=1

# Tesseract with the languages the tests and the default settings use; libglib for OpenCV.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-osd libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies from the lock file (exact versions and hashes, without the embedded database): a layer that
# only changes when the lock does. Regenerate it with the command at the top of deploy/requirements.lock.
COPY deploy/requirements.lock ./deploy/requirements.lock
RUN pip install --require-hashes --no-deps -r deploy/requirements.lock

COPY pyproject.toml README.md ./
COPY core ./core
COPY api ./api
COPY watcher ./watcher
COPY extraction ./extraction
COPY realtime ./realtime
COPY cli ./cli
# Editable, without dependencies: the code runs from /app, where the API finds clients/web/dist.
RUN pip install --no-deps -e .
COPY --from=web /clients/web/dist ./clients/web/dist

RUN useradd --create-home --uid 10001 invoicer
USER invoicer
ENV DATA_DIR=/home/invoicer/data API_HOST=0.0.0.0 API_PORT=8000 MIGRATE_ON_START=false
EXPOSE 8000
CMD ["invoicer", "api"]

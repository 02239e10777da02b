# One image for the API and the watcher (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_THREAD_LIMIT=1

# Tesseract with the languages the tests and the default settings use; libglib for OpenCV.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-osd libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY api ./api
COPY watcher ./watcher
COPY extraction ./extraction
COPY realtime ./realtime
COPY cli ./cli
RUN pip install .

RUN useradd --create-home --uid 10001 invoicer
USER invoicer
ENV DATA_DIR=/home/invoicer/data API_HOST=0.0.0.0 API_PORT=8000
EXPOSE 8000
CMD ["invoicer", "api"]

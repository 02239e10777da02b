"""A stand-in for an OpenAI-compatible LLM server, run by the tests as a real process.

It speaks `POST /v1/chat/completions`; the requested model name picks the behaviour, so one process
serves every test:
  ok             a valid answer (the test invoice's fields)
  disagrees      a valid answer with another invoice number
  no-schema      rejects response_format json_schema with 400, answers json_object requests
  invalid-json   200 with content that is not JSON
  wrong-schema   200 with JSON that does not follow the schema
  slow           answers after 3 s (longer than the tests' timeout)
  rate-limit     429 with Retry-After: 0
  error          500
`GET /requests` returns the requests received so far (model and response_format type), for assertions.
Usage: python llm_server.py  -> prints "PORT <n>" once listening on 127.0.0.1.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = {
    "invoice_number": "INV-1001",
    "invoice_date": "2024-03-15",
    "due_date": None,
    "vendor_name": "ACME Office Supplies Ltd",
    "vendor_address": "12 Market Street, Bristol BS1 4DJ",
    "vendor_tax_id": None,
    "customer_name": None,
    "currency": "GBP",
    "subtotal": "100.00",
    "tax": "20.00",
    "total": "120.00",
    "line_items": [{"description": "Printer paper A4", "quantity": "1", "unit_price": "100.00", "amount": "100.00"}],
}

requests_seen: list[dict[str, object]] = []
lock = threading.Lock()


def completion(content: str) -> dict[str, object]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet: the test output stays readable
        return

    def _send(self, status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/requests":
            with lock:
                self._send(200, {"requests": list(requests_seen)})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        model = request.get("model")
        response_format = (request.get("response_format") or {}).get("type")
        with lock:
            requests_seen.append({"model": model, "response_format": response_format})
        if model == "ok":
            self._send(200, completion(json.dumps(ANSWER)))
        elif model == "disagrees":
            self._send(200, completion(json.dumps(ANSWER | {"invoice_number": "INV-9999"})))
        elif model == "no-schema":
            if response_format == "json_schema":
                error = {"message": "response_format json_schema is not supported by this server", "type": "invalid_request_error"}
                self._send(400, {"error": error})
            else:
                self._send(200, completion(json.dumps(ANSWER)))
        elif model == "invalid-json":
            self._send(200, completion("Sure! The total is 120.00 and the vendor is ACME."))
        elif model == "wrong-schema":
            self._send(200, completion(json.dumps({"total": "a lot", "vendor": "ACME"})))
        elif model == "slow":
            time.sleep(3)
            self._send(200, completion(json.dumps(ANSWER)))
        elif model == "rate-limit":
            self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}}, {"Retry-After": "0"})
        else:
            self._send(500, {"error": {"message": "internal error", "type": "server_error"}})


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

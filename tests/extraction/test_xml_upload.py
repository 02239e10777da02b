"""XML e-invoices through the real API and a real watcher: accepted by both upload routes (JSON base64 and
multipart, as application/xml, text/xml or sniffed), read exactly, downloaded unchanged; hostile XML is
refused at upload with a message."""

from __future__ import annotations

import base64

import pytest

from tests.extraction.test_einvoice import CII, UBL
from tests.factories import register_org
from tests.watcher.support import FAST_WATCHER, wait_final


@pytest.mark.slow
async def test_xml_invoices_uploaded_both_ways_are_read_exactly(db, start_api, start_process) -> None:  # type: ignore[no-untyped-def]
    url = start_api()
    env = {name: value for name, value in FAST_WATCHER.items() if name not in ("WATCHER_TEST_EXTRACTOR", "PYTHONPATH")}
    watcher = start_process("watcher", "--concurrency", "1", **env)
    client = register_org(url).client

    sent_json = client.post("/invoices", json={"filename": "peppol.xml", "content_base64": base64.b64encode(UBL).decode()})
    assert sent_json.status_code == 202, sent_json.text
    sent_form = client.post("/invoices/upload", files={"file": ("xrechnung-cii.xml", CII, "text/xml")})
    assert sent_form.status_code == 202, sent_form.text

    for response, number, total in ((sent_json, "UBL-42", "121.00"), (sent_form, "GS-2024-7", "-11.90")):
        invoice = wait_final(client, response.json()["id"], 60)
        assert invoice["status"] == "processed", (invoice, watcher.log()[-4000:])
        fields = invoice["extraction"]["fields"]
        assert fields["invoice_number"]["value"] == number
        assert (fields["total"]["value"], fields["total"]["confidence"], fields["total"]["source"]) == (total, 1.0, "xml")
        assert fields["line_items"], fields
        download = client.get(f"/invoices/{response.json()['id']}/file")
        assert download.status_code == 200 and download.content == (UBL if number == "UBL-42" else CII)


async def test_hostile_or_foreign_xml_is_refused_at_upload(db, start_api) -> None:  # type: ignore[no-untyped-def]
    client = register_org(start_api()).client
    bomb = b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaa'>]><Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'>&a;</Invoice>"
    order = b"<?xml version='1.0'?><order xmlns='urn:example:order'><ID>1</ID></order>"
    for data, words in ((bomb, "document type declaration"), (order, "not an e-invoice")):
        response = client.post("/invoices/upload", files={"file": ("x.xml", data, "application/xml")})
        assert 400 <= response.status_code < 500, response.text
        assert words in response.text

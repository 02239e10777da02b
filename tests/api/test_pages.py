"""Page images: PNG or WebP of one page at a chosen width, upright, with the box space in headers; 404 rules."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw

from tests.factories import add_employee
from tests.api.test_review_support import scripted_jpeg


def upload(account, data: bytes, name: str) -> dict:  # noqa: ANN001
    response = account.client.post("/invoices", json={"filename": name, "content_base64": base64.b64encode(data).decode()})
    assert response.status_code == 202, response.text
    return response.json()


def two_page_pdf() -> bytes:
    """An A4 PDF (595x842 points at 72 dpi) of two pages."""
    pages = []
    for n in (1, 2):
        page = Image.new("RGB", (595, 842), "white")
        ImageDraw.Draw(page).text((50, 50), f"PAGE {n}", fill="black")
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=72, save_all=True, append_images=pages[1:])
    return out.getvalue()


def opened(response) -> Image.Image:  # noqa: ANN001
    return Image.open(io.BytesIO(response.content))


def test_pdf_pages_render_at_the_asked_width_with_the_page_size_in_points(api_url, new_org):
    admin = new_org()
    invoice = upload(admin, two_page_pdf(), "two.pdf")
    response = admin.client.get(f"/invoices/{invoice['id']}/pages/2", params={"width": 500})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = opened(response)
    assert image.format == "PNG" and image.width == 500 and abs(image.height - round(842 * 500 / 595)) <= 1
    assert (float(response.headers["x-page-width"]), float(response.headers["x-page-height"])) == (595, 842)


def test_webp_by_accept_header_or_format_parameter(api_url, new_org):
    admin = new_org()
    invoice = upload(admin, two_page_pdf(), "two.pdf")
    by_accept = admin.client.get(f"/invoices/{invoice['id']}/pages/1", params={"width": 300},
                                 headers={"Accept": "image/webp,image/*"})
    assert by_accept.headers["content-type"] == "image/webp" and opened(by_accept).format == "WEBP"
    by_param = admin.client.get(f"/invoices/{invoice['id']}/pages/1", params={"width": 300, "format": "webp"})
    assert opened(by_param).format == "WEBP" and opened(by_param).width == 300
    assert admin.client.get(f"/invoices/{invoice['id']}/pages/1", params={"format": "gif"}).status_code == 422


def test_photos_come_upright_as_their_exif_orientation_says(api_url, new_org):
    admin = new_org()
    # Stored landscape 400x300 with orientation 6 ("turn 90° clockwise to view"): upright it is 300x400.
    invoice = upload(admin, scripted_jpeg(size=(400, 300), exif_orientation=6), "sideways.jpg")
    response = admin.client.get(f"/invoices/{invoice['id']}/pages/1", params={"width": 150})
    image = opened(response)
    assert image.size == (150, 200)
    assert (response.headers["x-page-width"], response.headers["x-page-height"]) == ("300", "400")


def test_multi_page_tiff_pages(api_url, new_org):
    admin = new_org()
    frames = [Image.new("RGB", (200, 100), colour) for colour in ("white", "black")]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    invoice = upload(admin, out.getvalue(), "two.tiff")
    second = opened(admin.client.get(f"/invoices/{invoice['id']}/pages/2", params={"width": 100})).convert("L")
    assert second.size == (100, 50) and second.getpixel((50, 25)) < 20  # the black page


def test_out_of_range_and_bad_parameters(api_url, new_org):
    admin = new_org()
    invoice = upload(admin, two_page_pdf(), "two.pdf")
    past = admin.client.get(f"/invoices/{invoice['id']}/pages/3")
    assert past.status_code == 404 and past.json()["detail"] == "The invoice has 2 pages; there is no page 3"
    assert admin.client.get(f"/invoices/{invoice['id']}/pages/0").status_code == 422
    for width in (99, 2001):
        response = admin.client.get(f"/invoices/{invoice['id']}/pages/1", params={"width": width})
        assert response.status_code == 422 and "width" in response.json()["detail"]


def test_someone_elses_invoice_is_404_like_the_file_route(api_url, new_org):
    admin = new_org()
    employee = add_employee(admin, api_url)
    invoice = upload(admin, two_page_pdf(), "two.pdf")
    stranger = new_org()
    for account in (employee, stranger):
        response = account.client.get(f"/invoices/{invoice['id']}/pages/1")
        assert response.status_code == 404 and response.json()["detail"] == "No such invoice"
        assert account.client.get(f"/invoices/{invoice['id']}/file").status_code == 404
    assert admin.client.get("/invoices/0123456789abcdef01234567/pages/1").status_code == 404


def test_the_etag_answers_304_and_a_new_file_changes_it(api_url, new_org):
    admin = new_org()
    invoice = upload(admin, two_page_pdf(), "two.pdf")
    path = f"/invoices/{invoice['id']}/pages/1"
    first = admin.client.get(path, params={"width": 200})
    again = admin.client.get(path, params={"width": 200}, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    replaced = admin.client.put(f"/invoices/{invoice['id']}/file",
                                files={"file": ("p.jpg", scripted_jpeg(size=(300, 300)), "image/jpeg")})
    assert replaced.status_code == 202, replaced.text
    after = admin.client.get(path, params={"width": 200}, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and opened(after).size == (200, 200)

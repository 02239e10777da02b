"""Line items a bookkeeper can use: description, quantity, unit price and amount per row; summary rows
are not items; a description wrapped over two lines is one item; a quantity is never a price."""

from __future__ import annotations

from decimal import Decimal

from extraction.evaluation import description_match, match_line_items
from extraction.parsing import parse_fields
from tests.extraction.ocr_lines import document


def _rows(fields) -> list[tuple[str | None, Decimal | None, Decimal | None, Decimal | None]]:  # type: ignore[no-untyped-def]
    return [(i.description, i.quantity, i.unit_price, i.amount) for i in fields.line_items]


def test_a_receipt_without_a_table_header() -> None:
    fields = parse_fields(document(
        (50, 50, "CORNER BAKERY"),
        (50, 80, "14/02/2019 10:31"),
        (50, 120, "2 x CROISSANT"), (600, 120, "5.00"),
        (50, 150, "FLAT WHITE"), (600, 150, "3.20"),
        (50, 180, "SOURDOUGH LOAF"), (600, 180, "6.80"),
        (50, 210, "SLICED"),
        (50, 260, "SUBTOTAL"), (600, 260, "15.00"),
        (50, 290, "TAX"), (600, 290, "1.20"),
        (50, 320, "TOTAL"), (600, 320, "16.20"),
        (50, 350, "CASH"), (600, 350, "20.00"),
    ))
    assert _rows(fields) == [
        ("CROISSANT", Decimal(2), None, Decimal("5.00")),
        ("FLAT WHITE", None, None, Decimal("3.20")),
        ("SOURDOUGH LOAF SLICED", None, None, Decimal("6.80")),  # wrapped over two lines: one item
    ]
    assert fields.total is not None and fields.total.value == Decimal("16.20")


def test_summary_rows_inside_the_item_block_are_not_items() -> None:
    fields = parse_fields(document(
        (50, 120, "PASTA"), (600, 120, "9.90"),
        (50, 150, "Food Total"), (600, 150, "9.90"),
        (50, 200, "TOTAL"), (600, 200, "9.90"),
    ))
    assert _rows(fields) == [("PASTA", None, None, Decimal("9.90"))]


def test_a_quantity_column_before_the_description() -> None:
    fields = parse_fields(document(
        (50, 100, "QTY DESCRIPTION"), (500, 100, "PRICE"), (650, 100, "AMOUNT"),
        (50, 130, "3 BACON"), (500, 130, "0.70"), (650, 130, "2.10"),
        (50, 200, "TOTAL"), (650, 200, "2.10"),
    ))
    assert _rows(fields) == [("BACON", Decimal(3), Decimal("0.70"), Decimal("2.10"))]


def test_line_item_matching_for_the_eval() -> None:
    assert description_match("ORANGE JUICE", "ORANGEJUICE")  # WildReceipt writes no spaces
    assert description_match("Office chair, black", "Office Chair")
    assert not description_match("Delivery", "Office Chair")
    fields = parse_fields(document((50, 120, "PASTA"), (600, 120, "9.90"), (50, 200, "TOTAL"), (600, 200, "9.90")))
    assert match_line_items(fields.line_items, [("Pasta", "9.90"), ("Wine", "5.00")]) == 1


def test_a_wrapped_description_stops_at_a_summary_row() -> None:
    # A hardware shop's receipt: each item's code and figures on one row, its name wrapped under them;
    # the "Total Qty" row after the last name carries no money figure and is no part of that name.
    fields = parse_fields(document(
        (50, 50, "PEKAN TOOLS TRADING"),
        (50, 100, "Item"), (300, 100, "Qty"), (420, 100, "U/Price"), (650, 100, "Amount"),
        (50, 130, "4410"), (300, 130, "1"), (420, 130, "12.50"), (650, 130, "12.50"),
        (50, 160, "HOSE CLIP 20MM"),
        (50, 190, "5120"), (300, 190, "3"), (420, 190, "4.00"), (650, 190, "12.00"),
        (50, 220, "WIRE BRUSH SET"),
        (90, 250, "Total Qty"), (300, 250, "4"), (650, 250, "24 50"),
        (420, 290, "Total Sales:"), (650, 290, "24.50"),
        (420, 320, "Cash:"), (650, 320, "30.00"),
        (420, 350, "Change:"), (650, 350, "5.50"),
    ))
    assert [item.description for item in fields.line_items] == ["4410 HOSE CLIP 20MM", "5120 WIRE BRUSH SET"]
    assert [item.amount for item in fields.line_items] == [Decimal("12.50"), Decimal("12.00")]


def test_count_and_tip_rows_are_not_items() -> None:
    fields = parse_fields(document(
        (50, 120, "BURGER"), (600, 120, "11.00"),
        (50, 150, "ICED TEA"), (600, 150, "3.00"),
        (50, 180, "Total Items: 2"),
        (50, 230, "Subtotal"), (600, 230, "14.00"),
        (50, 260, "Tip"), (600, 260, "2.00"),
        (50, 290, "Total"), (600, 290, "16.00"),
    ))
    assert _rows(fields) == [("BURGER", None, None, Decimal("11.00")), ("ICED TEA", None, None, Decimal("3.00"))]


def test_a_label_and_its_figure_inside_a_table_are_no_item() -> None:
    fields = parse_fields(document(
        (50, 100, "Description"), (650, 100, "Amount"),
        (50, 130, "Lamb curry"), (650, 130, "14.00"),
        (50, 160, "Food Total"), (650, 160, "14.00"),
        (50, 190, "Mango lassi"), (650, 190, "4.00"),
        (50, 240, "Total"), (650, 240, "18.00"),
    ))
    assert _rows(fields) == [("Lamb curry", None, None, Decimal("14.00")), ("Mango lassi", None, None, Decimal("4.00"))]


def test_a_grouped_invoice_goes_on_after_a_section_subtotal() -> None:
    fields = parse_fields(document(
        (50, 100, "Description"), (400, 100, "Quantity"), (650, 100, "Amount"),
        (50, 130, "--- Garden ---"),
        (50, 160, "Rake"), (400, 160, "1.00"), (650, 160, "$ 18.00"),
        (550, 190, "Subtotal $ 18.00"),
        (50, 220, "--- Kitchen ---"),
        (50, 250, "Kettle"), (400, 250, "1.00"), (650, 250, "$ 35.00"),
        (550, 280, "Subtotal $ 35.00"),
        (450, 320, "Tax 10% on $ 53.00"), (650, 320, "$ 5.30"),
        (450, 350, "Total"), (650, 350, "$ 58.30"),
        (50, 400, "Please pay within 30 days"),
    ))
    assert [(item.description, item.amount) for item in fields.line_items] == [
        ("Rake", Decimal("18.00")), ("Kettle", Decimal("35.00")),
    ]


def test_a_tax_breakdown_under_the_items_is_no_item() -> None:
    fields = parse_fields(document(
        (50, 100, "Artikel"), (400, 100, "Menge"), (650, 100, "Betrag"),
        (50, 130, "Kaffeebohnen 1 kg"), (400, 130, "1"), (650, 130, "18,90"),
        (50, 170, "19%"), (300, 170, "15,88"), (450, 170, "3,02"), (650, 170, "18,90"),
    ))
    assert [(item.description, item.amount) for item in fields.line_items] == [("Kaffeebohnen 1 kg", Decimal("18.90"))]


def test_discount_and_tax_columns_are_neither_quantity_nor_price() -> None:
    # Figures under a discount or tax column, and a rate like "21 %", are read as none of an item's numbers,
    # whichever of the quantity, price or amount columns is printed nearest to them.
    fields = parse_fields(document(
        (50, 100, "Description"), (330, 100, "Qty"), (430, 100, "Unit Price"), (560, 100, "Disc.%"),
        (650, 100, "VAT"), (760, 100, "Amount"),
        (50, 130, "Garden hose 25 m"), (330, 130, "2.00"), (430, 130, "15.00"), (560, 130, "10.00"),
        (650, 130, "21%"), (760, 130, "27.00"),
        (50, 160, "Hose reel"), (330, 160, "1.00"), (430, 160, "40.00"), (560, 160, "0.00"),
        (650, 160, "21%"), (760, 160, "40.00"),
        (50, 200, "Total"), (760, 200, "67.00"),
    ))
    assert _rows(fields) == [
        ("Garden hose 25 m", Decimal("2.00"), Decimal("15.00"), Decimal("27.00")),
        ("Hose reel", Decimal("1.00"), Decimal("40.00"), Decimal("40.00")),
    ]
    rate_beside_quantity = parse_fields(document(
        (50, 100, "Omschrijving"), (330, 100, "Prijs"), (430, 100, "BTW"), (520, 100, "Aantal"), (760, 100, "Bedrag"),
        (50, 130, "Koffiebonen 1 kg"), (330, 130, "12,50"), (430, 130, "9%"), (520, 130, "2 st"), (760, 130, "25,00"),
        (50, 170, "Totaal"), (760, 170, "25,00"),
    ))
    assert _rows(rate_beside_quantity) == [("Koffiebonen 1 kg", Decimal(2), Decimal("12.50"), Decimal("25.00"))]

"""Stock CSV loading: valid files, unit conversion, every error class with its exact line."""

import pytest

from dompromise.config import PROBLEMS_MAX, ConfigError, load_stock_csv, parse_stock_csv
from dompromise.limits import QUANTITY_MAX
from dompromise.model.network import BaseUnit, Network, Node, NodeType, Sku, StockRow

NETWORK = Network(
    nodes=(
        Node("DC-NAT", NodeType.DISTRIBUTION_CENTER),
        Node("ST-LYON", NodeType.STORE),
    ),
    skus=(
        Sku("BRK-PAD-1", "Front brake pad set", BaseUnit.EACH, {"carton": 12, "pallet": 480}),
        Sku("OIL-MOT-1", "Engine oil 5W-30", BaseUnit.MILLILITRE, {"litre": 1000, "can_5l": 5000}),
        Sku("ELC-CBL-1", "Cable 1.5mm2", BaseUnit.MILLIMETRE, {"metre": 1000, "reel_50m": 50_000}),
        Sku("BIG-1", "Pack near the limit", BaseUnit.GRAM, {"tonne_lot": QUANTITY_MAX // 2}),
    ),
)


def problems_of(text):
    """(line, field) of every problem parse_stock_csv reports for `text`."""
    with pytest.raises(ConfigError) as caught:
        parse_stock_csv(text, NETWORK, "stock.csv")
    return [(problem.line, problem.field) for problem in caught.value.problems]


def single_problem(text):
    with pytest.raises(ConfigError) as caught:
        parse_stock_csv(text, NETWORK, "stock.csv")
    assert len(caught.value.problems) == 1, str(caught.value)
    return caught.value.problems[0]


# --------------------------------------------------------------------------
# Valid files


def test_valid_file_loads(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text(
        "sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT,120\nBRK-PAD-1,ST-LYON,0\nOIL-MOT-1,DC-NAT,250000\n",
        encoding="utf-8",
    )

    rows = load_stock_csv(path, NETWORK)

    assert rows == [
        StockRow("BRK-PAD-1", "DC-NAT", 120),
        StockRow("BRK-PAD-1", "ST-LYON", 0),
        StockRow("OIL-MOT-1", "DC-NAT", 250_000),
    ]


def test_columns_may_come_in_any_order():
    rows = parse_stock_csv("on_hand_quantity,node_id,sku_id\n7,ST-LYON,BRK-PAD-1\n", NETWORK)

    assert rows == [StockRow("BRK-PAD-1", "ST-LYON", 7)]


def test_header_only_gives_no_rows():
    assert parse_stock_csv("sku_id,node_id,on_hand_quantity\n", NETWORK) == []


def test_unit_column_converts_packs_to_base_units():
    text = (
        "sku_id,node_id,on_hand_quantity,unit\n"
        "BRK-PAD-1,DC-NAT,3,carton\n"  # 3 x 12
        "BRK-PAD-1,ST-LYON,5,each\n"  # the base unit spelling: factor 1
        "OIL-MOT-1,DC-NAT,4,can_5l\n"  # 4 x 5000 ml
        "OIL-MOT-1,ST-LYON,250,\n"  # empty unit: base units
        "ELC-CBL-1,DC-NAT,4,reel_50m\n"  # 4 x 50 m in mm
        "ELC-CBL-1,ST-LYON,200000,mm\n"  # a 200 m reel in mm
    )

    rows = parse_stock_csv(text, NETWORK)

    assert [row.on_hand_quantity for row in rows] == [36, 5, 20_000, 250, 200_000, 200_000]


def test_blank_lines_bom_and_crlf_are_accepted_and_lines_still_count(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_bytes(
        b"\xef\xbb\xbf\r\nsku_id,node_id,on_hand_quantity\r\n\r\nBRK-PAD-1,DC-NAT,1\r\n  \r\nBRK-PAD-1,NOPE,1\r\n"
    )

    with pytest.raises(ConfigError) as caught:
        load_stock_csv(path, NETWORK)

    problem = caught.value.problems[0]
    assert (problem.path, problem.line, problem.field) == (str(path), 6, "node_id")


def test_explicit_plus_sign_and_leading_zeros_are_integers():
    text = "sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT,+007\nBRK-PAD-1,ST-LYON,-0\n"

    rows = parse_stock_csv(text, NETWORK)

    assert [row.on_hand_quantity for row in rows] == [7, 0]


def test_quoted_field_spanning_lines_keeps_later_line_numbers_right():
    text = (
        "sku_id,node_id,on_hand_quantity\n"  # 1
        '"BRK-PAD-1\n'  # 2: a record over two lines
        '",DC-NAT,1\n'  # 3
        "BRK-PAD-1,DC-NAT,x\n"  # 4
    )

    assert problems_of(text) == [(2, "sku_id"), (4, "on_hand_quantity")]


# --------------------------------------------------------------------------
# Header errors


def test_missing_header_columns():
    with pytest.raises(ConfigError) as caught:
        parse_stock_csv("sku_id,quantity\nBRK-PAD-1,1\n", NETWORK, "stock.csv")

    assert str(caught.value).splitlines() == [
        "stock.csv:1: header: unknown column 'quantity' (expected: sku_id, node_id, on_hand_quantity, unit)",
        "stock.csv:1: header: missing column 'node_id'",
        "stock.csv:1: header: missing column 'on_hand_quantity'",
    ]


def test_header_names_are_exact():
    problems = problems_of("SKU_ID,node_id,on_hand_quantity\n")

    assert problems == [(1, "header"), (1, "header")]


def test_duplicate_header_column():
    problem = single_problem("sku_id,node_id,on_hand_quantity,node_id\n")

    assert (problem.line, problem.field, problem.message) == (1, "header", "column 'node_id' appears twice")


def test_empty_file_has_no_header():
    problem = single_problem("\n\n")

    assert (problem.line, problem.field) == (1, "header")
    assert problem.message.startswith("missing header row")


def test_header_after_blank_lines_reports_its_own_line():
    assert problems_of("\n\nsku_id,node_id\n") == [(3, "header")]


# --------------------------------------------------------------------------
# Row errors


def test_unknown_sku_and_node():
    text = "sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT,1\nBRK-PAD-9,DC-NOPE,1\n"

    with pytest.raises(ConfigError) as caught:
        parse_stock_csv(text, NETWORK, "stock.csv")

    assert str(caught.value).splitlines() == [
        "stock.csv:3: sku_id: unknown sku 'BRK-PAD-9'",
        "stock.csv:3: node_id: unknown node 'DC-NOPE'",
    ]


def test_ids_are_not_trimmed():
    assert problems_of("sku_id,node_id,on_hand_quantity\nBRK-PAD-1 ,DC-NAT,1\n") == [(2, "sku_id")]


@pytest.mark.parametrize("quantity", ["", "1.5", "1e3", " 3", "3 ", "1_000", "abc", "١٢", "0x10", "--1"])
def test_non_integer_quantity(quantity):
    problem = single_problem(f"sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT,{quantity}\n")

    assert (problem.line, problem.field) == (2, "on_hand_quantity")
    assert problem.message == f"{quantity!r} is not an integer"


def test_negative_quantity():
    problem = single_problem("sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT,-3\n")

    assert (problem.line, problem.field, problem.message) == (2, "on_hand_quantity", "-3 is negative")


def test_quantity_limit_before_conversion():
    text = (
        "sku_id,node_id,on_hand_quantity\n"
        f"BRK-PAD-1,DC-NAT,{QUANTITY_MAX}\n"
        f"BRK-PAD-1,ST-LYON,{QUANTITY_MAX + 1}\n"
        "OIL-MOT-1,DC-NAT," + "9" * 5000 + "\n"
    )

    assert problems_of(text) == [(3, "on_hand_quantity"), (4, "on_hand_quantity")]


def test_quantity_limit_after_conversion():
    text = (
        "sku_id,node_id,on_hand_quantity,unit\n"
        "BIG-1,DC-NAT,2,tonne_lot\n"  # exactly 2 x (QUANTITY_MAX // 2)
        "BIG-1,ST-LYON,3,tonne_lot\n"  # over
    )

    problem = single_problem(text)

    assert (problem.line, problem.field) == (3, "on_hand_quantity")
    assert f"3 tonne_lot is {3 * (QUANTITY_MAX // 2)} g, more than QUANTITY_MAX" in problem.message


def test_unknown_unit_names_the_choices():
    text = "sku_id,node_id,on_hand_quantity,unit\nOIL-MOT-1,DC-NAT,3,gallon\n"

    problem = single_problem(text)

    assert (problem.line, problem.field) == (2, "unit")
    assert problem.message == "unknown unit 'gallon' for sku 'OIL-MOT-1' (expected one of: ml, litre, can_5l)"


def test_another_skus_base_unit_is_not_a_unit_for_this_one():
    text = "sku_id,node_id,on_hand_quantity,unit\nBRK-PAD-1,DC-NAT,3,ml\n"

    assert problems_of(text) == [(2, "unit")]


def test_unit_of_an_unknown_sku_is_not_also_reported():
    text = "sku_id,node_id,on_hand_quantity,unit\nNOPE,DC-NAT,3,gallon\n"

    assert problems_of(text) == [(2, "sku_id")]


def test_wrong_column_count():
    text = "sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT\nBRK-PAD-1,DC-NAT,1,carton\n"

    with pytest.raises(ConfigError) as caught:
        parse_stock_csv(text, NETWORK, "stock.csv")

    assert str(caught.value).splitlines() == [
        "stock.csv:2: row: expected 3 columns, got 2",
        "stock.csv:3: row: expected 3 columns, got 4",
    ]


def test_same_sku_and_node_twice_names_both_lines():
    text = "sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT,1\nBRK-PAD-1,ST-LYON,1\nBRK-PAD-1,DC-NAT,2\n"

    problem = single_problem(text)

    assert (problem.line, problem.field) == (4, "row")
    assert problem.message == "duplicate row for sku 'BRK-PAD-1' at node 'DC-NAT' (first on line 2)"


def test_malformed_quoting_reports_the_record_line():
    text = 'sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT,1\n"BRK-PAD-1"x,DC-NAT,1\n'

    problem = single_problem(text)

    assert (problem.line, problem.field) == (3, "row")
    assert problem.message.startswith("malformed CSV")


def test_unterminated_quote_reports_where_it_opened():
    text = 'sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT,1\nBRK-PAD-1,"DC-NAT,1\nmore\n'

    assert problems_of(text) == [(3, "row")]


def test_non_utf8_byte_reports_its_line(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_bytes(b"sku_id,node_id,on_hand_quantity\nBRK-PAD-1,DC-NAT,1\nBRK-PAD-\xff,DC-NAT,1\n")

    with pytest.raises(ConfigError) as caught:
        load_stock_csv(path, NETWORK)

    assert caught.value.problems[0].line == 3


# --------------------------------------------------------------------------
# Collecting problems


def test_all_row_problems_are_reported_together_and_nothing_is_returned():
    text = (
        "sku_id,node_id,on_hand_quantity,unit\n"  # 1
        "BRK-PAD-1,DC-NAT,10,carton\n"  # 2: fine
        "NOPE,DC-NAT,1,\n"  # 3
        "BRK-PAD-1,NOPE,1,\n"  # 4
        "BRK-PAD-1,ST-LYON,-1,\n"  # 5
        "OIL-MOT-1,DC-NAT,1,pint\n"  # 6
        "OIL-MOT-1,DC-NAT\n"  # 7
        "BRK-PAD-1,DC-NAT,3,\n"  # 8: duplicate of 2
    )

    assert problems_of(text) == [
        (3, "sku_id"),
        (4, "node_id"),
        (5, "on_hand_quantity"),
        (6, "unit"),
        (7, "row"),
        (8, "row"),
    ]


def test_problems_stop_at_the_maximum_with_a_note():
    rows = "".join(f"NOPE-{index},DC-NAT,1\n" for index in range(PROBLEMS_MAX * 3))

    with pytest.raises(ConfigError) as caught:
        parse_stock_csv("sku_id,node_id,on_hand_quantity\n" + rows, NETWORK, "stock.csv")

    assert len(caught.value.problems) == PROBLEMS_MAX
    assert caught.value.truncated
    assert caught.value.problems[-1].line == PROBLEMS_MAX + 1
    assert str(caught.value).endswith("\n... and more")

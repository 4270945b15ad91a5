"""Network config loading: valid files, every error class with its exact line, round trips."""

import json
import pickle
import re
import textwrap
from pathlib import Path

import pytest

from dompromise.config import (
    PROBLEMS_MAX,
    ConfigError,
    ConfigProblem,
    dump_network,
    load_network,
    parse_network,
    parse_stock_csv,
)
from dompromise.limits import (
    ID_LENGTH_MAX,
    NODES_MAX,
    PACK_SIZES_PER_SKU_MAX,
    QUANTITY_MAX,
    TAGS_PER_NODE_MAX,
)
from dompromise.model.network import (
    BaseUnit,
    Location,
    Network,
    Node,
    NodeStatus,
    NodeType,
    Sku,
)

# Line numbers in the tests below count from the first line of each text.
VALID_YAML = textwrap.dedent("""\
    version: 1
    nodes:
      - id: DC-NAT
        type: dc
        status: enabled
        name: National DC
        timezone: Europe/Paris
        location: {latitude: 48.85, longitude: 2.35, postal_code: "75001", country: FR}
        tags: [national, trunk]
      - id: ST-LYON
        type: store
        status: drain
    skus:
      - id: BRK-PAD-0001
        description: Front brake pad set
        unit: each
        packs: {carton: 12, pallet: 480}
      - id: OIL-MOT-0001
        unit: ml
        packs: {litre: 1000, can_5l: 5000}
    """)

# A minimal valid tail to append after a `nodes:` section under test.
SKUS_TAIL = "skus:\n  - id: S1\n"
# A minimal valid head to put before a `skus:` section under test.
NODES_HEAD = "version: 1\nnodes:\n  - id: N1\n    type: dc\n"


def problems_of(text, path="net.yaml"):
    """(line, field) of every problem parse_network reports for `text`."""
    with pytest.raises(ConfigError) as caught:
        parse_network(text, path)
    return [(problem.line, problem.field) for problem in caught.value.problems]


def single_problem(text, path="net.yaml"):
    with pytest.raises(ConfigError) as caught:
        parse_network(text, path)
    assert len(caught.value.problems) == 1, str(caught.value)
    return caught.value.problems[0]


def nodes_text(*node_lines):
    """A config with the given lines as the body of `nodes:` (from line 3)."""
    return "version: 1\nnodes:\n" + "".join(line + "\n" for line in node_lines) + SKUS_TAIL


# --------------------------------------------------------------------------
# Valid files


def test_valid_yaml_file_loads(tmp_path):
    path = tmp_path / "network.yaml"
    path.write_text(VALID_YAML, encoding="utf-8")

    network = load_network(path)

    assert network.nodes == (
        Node(
            node_id="DC-NAT",
            node_type=NodeType.DISTRIBUTION_CENTER,
            status=NodeStatus.ENABLED,
            name="National DC",
            timezone="Europe/Paris",
            location=Location(48.85, 2.35, "75001", "FR"),
            tags=("national", "trunk"),
        ),
        Node(node_id="ST-LYON", node_type=NodeType.STORE, status=NodeStatus.DRAIN),
    )
    assert network.skus == (
        Sku("BRK-PAD-0001", "Front brake pad set", BaseUnit.EACH, {"carton": 12, "pallet": 480}),
        Sku("OIL-MOT-0001", "", BaseUnit.MILLILITRE, {"litre": 1000, "can_5l": 5000}),
    )


def test_defaults_fill_optional_fields():
    network = parse_network("version: 1\nnodes:\n  - {id: N1, type: 3pl}\nskus:\n  - {id: S1}\n")

    assert network.nodes[0] == Node("N1", NodeType.THIRD_PARTY_LOGISTICS, NodeStatus.ENABLED, "", "UTC", None, ())
    assert network.skus[0] == Sku("S1", "", BaseUnit.EACH, {})


def test_yml_suffix_loads(tmp_path):
    path = tmp_path / "network.yml"
    path.write_text(VALID_YAML, encoding="utf-8")

    assert len(load_network(path).nodes) == 2


def test_every_node_type_and_status_spelling_loads():
    text = nodes_text(
        "  - {id: A, type: dc, status: enabled}",
        "  - {id: B, type: warehouse, status: drain}",
        "  - {id: C, type: store, status: disabled}",
        "  - {id: D, type: supplier_drop_ship}",
        "  - {id: E, type: 3pl}",
    )

    network = parse_network(text)

    assert [node.node_type for node in network.nodes] == list(NodeType)
    assert [node.status for node in network.nodes[:3]] == list(NodeStatus)


def test_integer_coordinates_and_ids_with_allowed_punctuation_load():
    text = nodes_text(
        "  - id: 'a.b_c:d/e-9'",
        "    type: dc",
        "    location: {latitude: -90, longitude: 180}",
    )

    node = parse_network(text).nodes[0]

    assert node.node_id == "a.b_c:d/e-9"
    assert node.location == Location(-90.0, 180.0, "", "")


def test_yaml_anchors_and_merge_keys_work():
    text = textwrap.dedent("""\
        version: 1
        nodes:
          - &store {id: ST-1, type: store, timezone: Europe/Paris}
          - {<<: *store, id: ST-2}
        skus:
          - id: S1
        """)

    network = parse_network(text)

    assert [node.node_id for node in network.nodes] == ["ST-1", "ST-2"]
    assert network.nodes[1].timezone == "Europe/Paris"


def test_merge_key_does_not_hide_a_real_duplicate():
    text = textwrap.dedent("""\
        version: 1
        nodes:
          - &store {id: ST-1, type: store}
          - <<: *store
            id: ST-2
            id: ST-3
        skus:
          - id: S1
        """)

    problem = single_problem(text)

    assert (problem.line, problem.field) == (6, "nodes[1].id")
    assert problem.message == "duplicate key (first on line 5)"


# --------------------------------------------------------------------------
# JSON


def test_json_file_loads(tmp_path):
    document = {
        "version": 1,
        "nodes": [{"id": "DC-NAT", "type": "dc", "location": {"latitude": 45.5, "longitude": 0.00001}}],
        "skus": [{"id": "BRK-PAD-0001", "packs": {"carton": 12}}],
    }
    path = tmp_path / "network.json"
    # json.dumps writes 0.00001 as 1e-05, which YAML 1.1 alone reads as a string.
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    network = load_network(path)

    assert network.nodes[0].location == Location(45.5, 0.00001)
    assert network.skus[0].pack_sizes == {"carton": 12}


def test_json_errors_carry_line_numbers(tmp_path):
    text = textwrap.dedent("""\
        {
          "version": 1,
          "nodes": [
            {
              "id": "DC-NAT",
              "type": "dc",
              "timezone": "Mars/Olympus"
            }
          ],
          "skus": [
            {"id": "S1", "packs": {"carton": "12"}}
          ]
        }
        """)
    path = tmp_path / "network.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_network(path)

    assert [(p.line, p.field) for p in caught.value.problems] == [
        (7, "nodes[0].timezone"),
        (11, "skus[0].packs.carton"),
    ]
    assert str(caught.value).splitlines()[0].startswith(f"{path}:7: nodes[0].timezone: ")


def test_json_indented_with_tabs_loads():
    text = '{\n\t"version": 1,\n\t"nodes": [{"id": "N1", "type": "dc"}],\n\t"skus": [\n\t\t{"id": "S1"}\n\t]\n}\n'

    network = parse_network(text, "network.json")

    assert network.skus[0].sku_id == "S1"


def test_json_syntax_error_reports_its_line():
    text = '{\n  "version": 1,\n  "nodes": [\n    {"id": "N1" "type": "dc"}\n  ]\n}\n'

    problem = single_problem(text, "network.json")

    assert (problem.line, problem.field) == (4, "(syntax)")


# --------------------------------------------------------------------------
# Errors in the document as a whole


def test_yaml_syntax_error_reports_its_line():
    text = "version: 1\nnodes:\n  - id: N1\n    type: [dc\nskus: []\n"

    problem = single_problem(text)

    assert problem.field == "(syntax)"
    assert problem.line == 5


def test_empty_file_is_an_error():
    problem = single_problem("# nothing here\n")

    assert (problem.line, problem.field, problem.message) == (1, "(file)", "the file is empty")


def test_top_level_must_be_a_mapping():
    problem = single_problem("- id: N1\n")

    assert (problem.line, problem.field) == (1, "(file)")
    assert "expected a mapping, got a list" in problem.message


def test_unsupported_suffix_is_an_error(tmp_path):
    path = tmp_path / "network.txt"
    path.write_text(VALID_YAML, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_network(path)

    assert "unsupported file type '.txt'" in caught.value.problems[0].message


def test_non_utf8_byte_reports_its_line(tmp_path):
    path = tmp_path / "network.yaml"
    path.write_bytes(b"version: 1\nnodes:\n  - id: N1\n    name: Caf\xe9\n")

    with pytest.raises(ConfigError) as caught:
        load_network(path)

    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (4, "(file)")
    assert "not UTF-8" in problem.message


def test_version_missing_wrong_and_mistyped():
    assert problems_of("nodes:\n  - {id: N1, type: dc}\n" + SKUS_TAIL) == [(1, "version")]
    assert single_problem("version: 2\n" + NODES_HEAD[len("version: 1\n") :] + SKUS_TAIL).message == (
        "unsupported version 2 (expected 1)"
    )
    problem = single_problem("version: '1'\nnodes:\n  - {id: N1, type: dc}\n" + SKUS_TAIL)
    assert (problem.line, problem.field, problem.message) == (1, "version", "expected an integer, got a string")


def test_unknown_top_level_key_suggests_the_close_one():
    problem = single_problem(NODES_HEAD + SKUS_TAIL + "skuss: []\n")

    assert (problem.line, problem.field) == (7, "skuss")
    assert problem.message == "unknown key 'skuss' (did you mean 'skus'?)"


def test_missing_and_empty_lists_are_errors():
    assert problems_of(NODES_HEAD) == [(1, "skus")]
    assert problems_of("version: 1\nnodes: []\n" + SKUS_TAIL) == [(2, "nodes")]
    assert problems_of(NODES_HEAD + "skus: []\n") == [(5, "skus")]
    problem = single_problem("version: 1\nnodes: {id: N1}\n" + SKUS_TAIL)
    assert (problem.line, problem.field, problem.message) == (2, "nodes", "expected a list, got a mapping")


def test_duplicate_yaml_key_is_an_error():
    text = nodes_text("  - id: N1", "    type: dc", "    type: store")

    problem = single_problem(text)

    assert (problem.line, problem.field) == (5, "nodes[0].type")
    assert problem.message == "duplicate key (first on line 4)"


# --------------------------------------------------------------------------
# Node errors


def test_node_unknown_key_reports_key_line_and_suggestion():
    text = nodes_text("  - id: N1", "    type: dc", "    timezon: Europe/Paris")

    problem = single_problem(text)

    assert (problem.line, problem.field) == (5, "nodes[0].timezon")
    assert "did you mean 'timezone'" in problem.message


def test_node_missing_required_keys_report_the_entry_line():
    text = nodes_text("  - id: N1", "    type: dc", "  - name: No id nor type")

    assert problems_of(text) == [(5, "nodes[1].id"), (5, "nodes[1].type")]


def test_node_entry_must_be_a_mapping():
    problem = single_problem(nodes_text("  - {id: N1, type: dc}", "  - N2"))

    assert (problem.line, problem.field) == (4, "nodes[1]")


@pytest.mark.parametrize(
    "node_id, message_part",
    [
        ("'-leading-dash'", "is not a valid id"),
        ("'has space'", "is not a valid id"),
        ("'é-accent'", "is not a valid id"),
        ("''", "is not a valid id"),
        ("'" + "x" * (ID_LENGTH_MAX + 1) + "'", f"longer than {ID_LENGTH_MAX} characters"),
    ],
)
def test_invalid_node_ids(node_id, message_part):
    problem = single_problem(nodes_text("  - type: dc", f"    id: {node_id}"))

    assert (problem.line, problem.field) == (4, "nodes[0].id")
    assert message_part in problem.message


def test_id_at_the_length_limit_loads():
    network = parse_network(nodes_text("  - type: dc", "    id: " + "x" * ID_LENGTH_MAX))

    assert len(network.nodes[0].node_id) == ID_LENGTH_MAX


def test_number_where_a_string_is_required_suggests_quoting():
    problem = single_problem(nodes_text("  - type: dc", "    id: 01234"))

    assert (problem.line, problem.field) == (4, "nodes[0].id")
    # YAML 1.1 reads 01234 as octal 668; the hint shows what was written.
    assert problem.message == 'expected a string, got an integer; write it in quotes: "01234"'


def test_unknown_type_and_status_name_the_choices():
    text = nodes_text("  - id: N1", "    type: depot", "    status: on_hold")

    with pytest.raises(ConfigError) as caught:
        parse_network(text, "net.yaml")

    first, second = caught.value.problems
    assert (first.line, first.field) == (4, "nodes[0].type")
    assert "expected one of: dc, warehouse, store, supplier_drop_ship, 3pl" in first.message
    assert (second.line, second.field) == (5, "nodes[0].status")
    assert "expected one of: enabled, drain, disabled" in second.message


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/paris", "", "../etc/passwd", "/etc/localtime"])
def test_invalid_timezone(zone):
    problem = single_problem(nodes_text("  - id: N1", "    type: dc", f"    timezone: '{zone}'"))

    assert (problem.line, problem.field) == (5, "nodes[0].timezone")
    assert "is not a known IANA time zone" in problem.message


def test_null_is_not_a_value():
    problem = single_problem(nodes_text("  - id: N1", "    type: dc", "    name:"))

    assert (problem.line, problem.field, problem.message) == (5, "nodes[0].name", "expected a string, got null")


def test_boolean_where_a_string_is_required():
    # YAML 1.1 reads NO (Norway) as false.
    problem = single_problem(
        nodes_text("  - id: N1", "    type: dc", "    location: {latitude: 59.9, longitude: 10.7, country: NO}")
    )

    assert (problem.line, problem.field) == (5, "nodes[0].location.country")
    assert problem.message.startswith("expected a string, got a boolean")


def test_location_errors_each_report_their_own_line():
    text = nodes_text(
        "  - id: N1",  # 3
        "    type: dc",  # 4
        "    location:",  # 5
        "      latitude: 90.5",  # 6
        "      longitude: '2.3'",  # 7
        "      country: France",  # 8
        "      altitude: 35",  # 9
        "  - id: N2",  # 10
        "    type: dc",  # 11
        "    location:",  # 12
        "      latitude: 10",  # 13
        "  - id: N3",  # 14
        "    type: dc",  # 15
        "    location: {latitude: .nan, longitude: -180.01}",  # 16
    )

    assert problems_of(text) == [
        (6, "nodes[0].location.latitude"),
        (7, "nodes[0].location.longitude"),
        (8, "nodes[0].location.country"),
        (9, "nodes[0].location.altitude"),
        (13, "nodes[1].location.longitude"),
        (16, "nodes[2].location.latitude"),
        (16, "nodes[2].location.longitude"),
    ]


def test_tag_errors():
    too_many = ", ".join(f"t{index}" for index in range(TAGS_PER_NODE_MAX + 1))
    text = nodes_text(
        "  - id: N1",  # 3
        "    type: dc",  # 4
        "    tags:",  # 5
        "      - north",  # 6
        "      - 'bad tag'",  # 7
        "      - north",  # 8
        "      - 7",  # 9
        "  - id: N2",  # 10
        "    type: dc",  # 11
        f"    tags: [{too_many}]",  # 12
        "  - id: N3",  # 13
        "    type: dc",  # 14
        "    tags: north",  # 15
    )

    with pytest.raises(ConfigError) as caught:
        parse_network(text, "net.yaml")

    problems = caught.value.problems
    assert [(p.line, p.field) for p in problems] == [
        (7, "nodes[0].tags[1]"),
        (8, "nodes[0].tags[2]"),
        (9, "nodes[0].tags[3]"),
        (12, "nodes[1].tags"),
        (15, "nodes[2].tags"),
    ]
    assert problems[1].message == "duplicate tag 'north' (first on line 6)"
    assert problems[3].message == f"{TAGS_PER_NODE_MAX + 1} tags, more than the limit of {TAGS_PER_NODE_MAX}"


def test_tags_at_the_limit_load():
    tags = ", ".join(f"t{index}" for index in range(TAGS_PER_NODE_MAX))

    network = parse_network(nodes_text("  - id: N1", "    type: dc", f"    tags: [{tags}]"))

    assert len(network.nodes[0].tags) == TAGS_PER_NODE_MAX


def test_duplicate_node_id_names_both_lines():
    text = nodes_text(
        "  - id: DC-NAT",  # 3
        "    type: dc",  # 4
        "  - id: WH-1",  # 5
        "    type: warehouse",  # 6
        "  - type: store",  # 7
        "    id: DC-NAT",  # 8
    )

    problem = single_problem(text)

    assert (problem.line, problem.field) == (8, "nodes[2].id")
    assert problem.message == "duplicate node id 'DC-NAT' (first defined on line 3)"


def test_more_nodes_than_the_limit_is_an_error():
    lines = [f"  - {{id: N{index}, type: store}}" for index in range(NODES_MAX + 1)]

    problem = single_problem(nodes_text(*lines))

    assert (problem.line, problem.field) == (3, "nodes")
    assert problem.message == f"{NODES_MAX + 1} entries, more than the limit of {NODES_MAX}"


# --------------------------------------------------------------------------
# SKU errors


def test_sku_errors_each_report_their_own_line():
    text = NODES_HEAD + textwrap.dedent("""\
        skus:
          - id: S1
            unit: litre
          - id: S2
            packs: {carton: '12', pallet: true, box: 0, each: 6}
          - id: S3
            packs:
              crate: 2
              crate: 1.5
          - id: S1
            descripton: typo
          - description: no id
          - id: S4
            packs: [carton, 12]
        """)

    with pytest.raises(ConfigError) as caught:
        parse_network(text, "net.yaml")

    problems = caught.value.problems
    assert [(p.line, p.field) for p in problems] == [
        (7, "skus[0].unit"),
        (9, "skus[1].packs.carton"),
        (9, "skus[1].packs.pallet"),
        (9, "skus[1].packs.box"),
        (9, "skus[1].packs.each"),
        (13, "skus[2].packs.crate"),
        (13, "skus[2].packs.crate"),
        (15, "skus[3].descripton"),
        (16, "skus[4].id"),
        (18, "skus[5].packs"),
    ]
    messages = [p.message for p in problems]
    assert "expected one of: each, mm, g, ml" in messages[0]
    assert messages[1] == "expected an integer, got a string"
    assert messages[2] == "expected an integer, got a boolean"
    assert messages[3] == f"0 is outside [1, {QUANTITY_MAX}]"
    assert "is a unit spelling" in messages[4]
    assert messages[5] == "duplicate key (first on line 12)"
    assert messages[6] == "expected an integer, got a number"
    assert messages[7] == "unknown key 'descripton' (did you mean 'description'?)"
    assert messages[8] == "missing required key"
    assert messages[9] == "expected a mapping, got a list"


def test_duplicate_sku_id_names_both_lines():
    text = NODES_HEAD + "skus:\n  - id: S1\n  - id: S2\n  - id: S1\n"

    problem = single_problem(text)

    assert (problem.line, problem.field) == (8, "skus[2].id")
    assert problem.message == "duplicate SKU id 'S1' (first defined on line 6)"


def test_pack_size_limits():
    packs = ", ".join(f"p{index}: 1" for index in range(PACK_SIZES_PER_SKU_MAX + 1))
    text = (
        NODES_HEAD + f"skus:\n  - id: S1\n    packs: {{{packs}}}\n  - id: S2\n    packs: {{big: {QUANTITY_MAX + 1}}}\n"
    )

    assert problems_of(text) == [(7, "skus[0].packs"), (9, "skus[1].packs.big")]


def test_pack_size_at_the_limit_loads():
    text = NODES_HEAD + f"skus:\n  - id: S1\n    packs: {{big: {QUANTITY_MAX}}}\n"

    assert parse_network(text).skus[0].pack_sizes == {"big": QUANTITY_MAX}


# --------------------------------------------------------------------------
# Reporting


def test_multiple_problems_are_reported_together_in_line_order():
    text = textwrap.dedent("""\
        version: 1
        nodes:
          - id: N1
            type: hub
          - id: N1
            type: dc
            timezone: Nowhere/Land
        skus:
          - id: S1
            unit: litre
        """)

    with pytest.raises(ConfigError) as caught:
        parse_network(text, "net.yaml")

    assert str(caught.value).splitlines() == [
        "net.yaml:4: nodes[0].type: unknown value 'hub' "
        "(expected one of: dc, warehouse, store, supplier_drop_ship, 3pl)",
        "net.yaml:7: nodes[1].timezone: 'Nowhere/Land' is not a known IANA time zone",
        "net.yaml:10: skus[0].unit: unknown value 'litre' (expected one of: each, mm, g, ml)",
    ]
    assert not caught.value.truncated


def test_problems_stop_at_the_maximum_with_a_note():
    lines = [f"  - {{id: N{index}, type: bad}}" for index in range(PROBLEMS_MAX + 50)]

    with pytest.raises(ConfigError) as caught:
        parse_network(nodes_text(*lines), "net.yaml")

    assert len(caught.value.problems) == PROBLEMS_MAX
    assert caught.value.truncated
    assert str(caught.value).splitlines()[-1] == "... and more"
    assert str(caught.value).count("\n") == PROBLEMS_MAX


def test_config_error_formats_and_pickles():
    error = ConfigError([ConfigProblem("a.yaml", 3, "nodes[0].id", "bad")], truncated=True)

    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == "a.yaml:3: nodes[0].id: bad\n... and more"
    assert copy.problems == error.problems


# --------------------------------------------------------------------------
# Dump and parse back


def test_dump_then_parse_gives_an_equal_network():
    network = Network(
        nodes=(
            Node(
                "DC-NAT",
                NodeType.DISTRIBUTION_CENTER,
                NodeStatus.ENABLED,
                "Centre national, Saint-Étienne",
                "Europe/Paris",
                Location(45.4397, 4.3872, "42000", "FR"),
                ("national", "trunk"),
            ),
            Node("01234", NodeType.STORE, NodeStatus.DRAIN, "yes", "UTC", Location(-33.0, 0.00001), ()),
            Node("1E10", NodeType.SUPPLIER_DROP_SHIP, NodeStatus.DISABLED),
            Node("true", NodeType.THIRD_PARTY_LOGISTICS, tags=("null", "on", "0x1F")),
            Node("WH-1", NodeType.WAREHOUSE, name="Line one: colon # hash 'quote' \"double\""),
        ),
        skus=(
            Sku("BRK-PAD-0001", "Front brake pad set, ceramic, 17in", BaseUnit.EACH, {"carton": 12, "pallet": 480}),
            Sku("ELC-CBL-0001", "", BaseUnit.MILLIMETRE, {"metre": 1000, "reel_50m": 50_000}),
            Sku("GRS-0001", "- looks: like yaml", BaseUnit.GRAM, {"kg": 1000}),
            Sku("OIL-0001", "1.5", BaseUnit.MILLILITRE, {}),
        ),
    )

    text = dump_network(network)

    assert parse_network(text) == network
    assert parse_network(dump_network(parse_network(text))) == network


def test_dump_of_a_loaded_file_round_trips(tmp_path):
    network = parse_network(VALID_YAML)
    path = tmp_path / "dumped.yaml"
    path.write_text(dump_network(network), encoding="utf-8")

    assert load_network(path) == network


def test_examples_in_the_config_docs_load():
    docs = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"```(yaml|json|csv)\n(.*?)```", docs, re.DOTALL))

    network = parse_network(blocks["yaml"], "config.md.yaml")
    json_network = parse_network(blocks["json"], "config.md.json")
    rows = parse_stock_csv(blocks["csv"], network, "config.md.csv")

    assert len(network.nodes) == 5 and len(network.skus) == 4
    assert json_network.nodes[0] == network.nodes[0]
    assert rows[1].on_hand_quantity == 4 * 12  # "4,carton", as the docs say


def test_attribute_keys_load_and_bad_ones_report_their_line():
    text = NODES_HEAD + textwrap.dedent("""\
        skus:
          - id: S1
            tracked_attributes: [lot, Lot, lot]
          - id: S2
        attributes: [lot, date_code]
        """)
    assert problems_of(text) == [(7, "skus[0].tracked_attributes[1]"), (7, "skus[0].tracked_attributes[2]")]
    good = parse_network(text.replace("Lot, lot", "date_code"))
    assert good.attributes == ("lot", "date_code")
    assert good.skus[0].tracked_attributes == ("lot", "date_code") and good.skus[1].tracked_attributes == ()
    assert parse_network(dump_network(good)) == good
    assert problems_of(NODES_HEAD + "skus:\n  - id: S1\nattributes: lot\n") == [(7, "attributes")]


@pytest.mark.parametrize("collector_on", [True, False])
def test_parsing_leaves_the_garbage_collector_as_it_was(collector_on):
    import gc

    was = gc.isenabled()
    (gc.enable if collector_on else gc.disable)()
    try:
        parse_network(VALID_YAML, "net.yaml")
        with pytest.raises(ConfigError):
            parse_network("version: 1\nnodes: []\n", "bad.yaml")
        assert gc.isenabled() == collector_on
    finally:
        (gc.enable if was else gc.disable)()


def test_a_problem_deep_in_a_big_file_names_its_line():
    # Plain strings take the parser's fast path; typed scalars (yes, 12, ~, 1e-05) do not.
    lines = ["version: 1", "nodes:", "- id: DC", "  type: dc", "skus:"]
    for i in range(3_000):
        lines += [f"- id: S{i:05d}", f"  description: plain text {i}"]
    lines[5 + 2 * 1234 + 1] = "  description: yes"
    lines[5 + 2 * 2345 + 1] = "  description: 1e-05"
    lines[5 + 2 * 2999] = "- id: ~"
    with pytest.raises(ConfigError) as error:
        parse_network("\n".join(lines) + "\n", "big.yaml")
    found = [(p.line, p.field) for p in error.value.problems]
    assert found == [
        (5 + 2 * 1234 + 2, "skus[1234].description"),
        (5 + 2 * 2345 + 2, "skus[2345].description"),
        (5 + 2 * 2999 + 1, "skus[2999].id"),
    ]


@pytest.mark.parametrize(
    ("line_text", "value"),
    [
        ("valid_from: 2026-13-01", "2026-13-01"),
        ("holidays: [2026-12-25, 2026-02-30]", "2026-02-30"),
        ("at: 2026-12-24 25:00:00", "2026-12-24 25:00:00"),
    ],
)
def test_an_impossible_unquoted_date_is_a_problem_at_its_line(tmp_path, line_text, value):
    """PyYAML reads an unquoted date itself, and datetime refuses a 13th month or a 30 February with a bare
    ValueError: the loader turns it into a ConfigError at the file and line of the value."""
    text = f"version: 1\nnodes:\n  - id: N1\n    type: dc\n    {line_text}\n" + SKUS_TAIL
    problem = single_problem(text)
    assert (problem.line, problem.field) == (5, "(syntax)")
    assert value in problem.message
    path = tmp_path / "network.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_network(path)
    assert f"{path}:5:" in str(caught.value)

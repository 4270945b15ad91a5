"""YAML that remembers where each thing was written.

Operators fix a config file by its line numbers, so every mapping and list
read here knows its own line and where each key, value and item is
(`MarkedMapping`, `MarkedList`). Keys written twice in one mapping are kept
aside (YAML keeps the last one silently) for the reader to report.
`problems.py` reads these into typed values with `file:line` problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

import yaml
from yaml.resolver import BaseResolver

_STR_TAG = "tag:yaml.org,2002:str"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# YAML 1.1 reads "1e-05" (how json.dumps writes small floats) as a string;
# YAML 1.2 and JSON read it as a float.
_EXPONENT_FLOAT_PATTERN = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
_EXPONENT_FLOAT_FIRST = list("-+0123456789")


class MarkedMapping(dict[object, object]):
    """A YAML mapping that remembers where it, its keys and its values are."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[object, int] = {}
        self.value_nodes: dict[object, yaml.Node] = {}
        # (key, line, first_line) for each key written twice; YAML keeps the last.
        self.duplicate_keys: list[tuple[object, int, int]] = []


class MarkedList(list[object]):
    """A YAML sequence that remembers where it and each item are."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_nodes: list[yaml.Node] = []


def node_line(node: yaml.Node) -> int:
    """The 1-based line a YAML node starts on."""
    return node.start_mark.line + 1


def resolve_exponent_floats(resolver: type[BaseResolver]) -> None:
    """Read (a loader) or quote (a dumper) exponent-only floats like "1e-05" as YAML 1.2 and JSON do.

    The loader and the dumper must agree, or a dumped id like "1E10" would
    read back as a number.
    """
    resolver.add_implicit_resolver(_FLOAT_TAG, _EXPONENT_FLOAT_PATTERN, _EXPONENT_FLOAT_FIRST)


def load_marked(text: str) -> object:
    """One YAML document, its mappings and lists marked; yaml.YAMLError when it is not YAML."""
    return yaml.load(text, Loader=_MarkedLoader)


def yaml_error_place(error: yaml.YAMLError) -> tuple[int, str]:
    """The 1-based line a YAML error points at (1 when it points nowhere) and its message."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        return line, " ".join(part for part in (error.context, error.problem) if part)
    return 1, str(error)


# --------------------------------------------------------------------------
# The loader


def _construct(loader: _MarkedLoader, node: yaml.Node) -> object:
    """loader.construct_object(node, deep=True); a string scalar (most of a big
    file) directly: what construct_yaml_str returns for it, without the walk."""
    if node.tag == _STR_TAG and type(node) is yaml.ScalarNode:
        value: str = node.value
        return value
    constructed: object = loader.construct_object(node, deep=True)
    return constructed


def _construct_marked_mapping(loader: _MarkedLoader, node: yaml.MappingNode) -> Iterator[MarkedMapping]:
    mapping = MarkedMapping(node_line(node))
    # Yield first, fill later: the same two-step dance as SafeConstructor,
    # so anchors and aliases to this mapping resolve.
    yield mapping
    # flatten_mapping expands "<<" merge keys: it puts the merged pairs first
    # and this mapping's own pairs after them, which override them.
    pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
    own_pair_count = sum(1 for key_node, _ in pairs if key_node.tag != _MERGE_TAG)
    loader.flatten_mapping(node)
    pairs = node.value
    merged_pair_count = len(pairs) - own_pair_count
    own_keys = set()
    for index, (key_node, value_node) in enumerate(pairs):
        key = _construct(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found an unhashable key",
                key_node.start_mark,
            ) from None
        key_line = node_line(key_node)
        if key in own_keys:
            # Written twice in this very mapping: YAML keeps the last, silently.
            mapping.duplicate_keys.append((key, key_line, mapping.key_lines[key]))
        else:
            mapping.key_lines[key] = key_line
        if index >= merged_pair_count:
            own_keys.add(key)
        mapping[key] = _construct(loader, value_node)
        mapping.value_nodes[key] = value_node


def _construct_timestamp(loader: _MarkedLoader, node: yaml.ScalarNode) -> object:
    """A date or datetime as SafeLoader reads it; an impossible one (2026-13-01, 2026-02-30) is a
    ConstructorError at the scalar's mark (so a `file:line` problem), not the ValueError datetime raises."""
    try:
        value: object = loader.construct_yaml_timestamp(node)
    except ValueError as error:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a valid date or time ({error})", node.start_mark
        ) from None
    return value


def _construct_marked_list(loader: _MarkedLoader, node: yaml.SequenceNode) -> Iterator[MarkedList]:
    items = MarkedList(node_line(node))
    yield items
    item_nodes: list[yaml.Node] = node.value
    for item_node in item_nodes:
        items.append(_construct(loader, item_node))
        items.item_nodes.append(item_node)


# The C parser is several times faster on big SKU lists and gives the same
# marks. Type checkers see the Python one: the constructor and resolver
# methods used here are the same on both.
if TYPE_CHECKING:
    _SafeLoaderBase = yaml.SafeLoader
else:
    _SafeLoaderBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _MarkedLoader(_SafeLoaderBase):
    """SafeLoader whose mappings and lists know their source lines."""

    # First characters with implicit resolvers (set below, once they are all added).
    _implicit_first: ClassVar[frozenset[str | None]] = frozenset()

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        # The parser asks this for every node. A plain scalar whose first
        # character starts no implicit type (ids, names: most of a big file)
        # is a string: the answer Resolver.resolve gives after trying none.
        if (
            kind is yaml.ScalarNode
            and implicit[0]
            and value
            and value[0] not in self._implicit_first
            and not self.yaml_path_resolvers
        ):
            return self.DEFAULT_SCALAR_TAG
        # types-PyYAML leaves BaseResolver.resolve unannotated; it returns the tag.
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return tag


_MarkedLoader.add_constructor("tag:yaml.org,2002:map", _construct_marked_mapping)
_MarkedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_marked_list)
_MarkedLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
resolve_exponent_floats(_MarkedLoader)
# None would be a resolver for any first character.
_MarkedLoader._implicit_first = frozenset(_MarkedLoader.yaml_implicit_resolvers)
assert None not in _MarkedLoader._implicit_first, "a resolver for any first character: no fast path"

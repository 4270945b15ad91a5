"""The SKU document codec's direct paths (sku_document, sku_from_document) say exactly what the
generic dataclass codec says: same text byte for byte, same SKU, same refusals."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dompromise.model import document
from dompromise.model.network import BaseUnit, Sku

texts = st.text(max_size=8)
skus = st.builds(
    Sku,
    sku_id=st.text(min_size=1, max_size=8),
    description=texts,
    base_unit=st.sampled_from(list(BaseUnit)),
    pack_sizes=st.dictionaries(texts, st.integers(-(2**40), 2**40), max_size=3),
    tracked_attributes=st.lists(texts, max_size=3).map(tuple),
    brand=texts,
    category=texts,
    tags=st.lists(texts, max_size=3).map(tuple),
)


def test_the_direct_paths_know_every_field_of_sku():
    assert {f.name for f in dataclasses.fields(Sku)} == set(json.loads(document.sku_document(Sku("A"))))


@settings(max_examples=200, deadline=None)
@given(skus)
def test_direct_and_generic_codecs_agree(sku):
    text = document.sku_document(sku)
    assert text == document._dumps(sku)
    assert document.sku_from_document(text) == sku == document._loads(Sku, text)


@pytest.mark.parametrize(
    "text",
    [
        '{"sku_id": "A", "tags": "ab"}',  # a string where a list belongs: the generic codec decides
        '{"sku_id": "A", "pack_sizes": {"box": true}}',
        '{"sku_id": "A", "description": null}',
        '{"sku_id": "A", "unknown": 1}',
    ],
)
def test_unusual_documents_are_decided_by_the_generic_codec(text):
    assert document.sku_from_document(text) == document._loads(Sku, text)


@pytest.mark.parametrize(
    "text",
    ["null", "[]", '{"description": "no id"}', '{"sku_id": ""}', '{"sku_id": 5}', '{"sku_id": "A", "base_unit": 9}'],
)
def test_malformed_documents_are_refused(text):
    with pytest.raises(ValueError):
        document.sku_from_document(text)

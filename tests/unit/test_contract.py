"""The contract is the one definition of tables, columns and enumerations: every reader agrees."""

from __future__ import annotations

import json
from importlib import resources

import pyarrow as pa
import pytest

from synthgen import contract
from synthgen.engine import skeleton
from synthgen.schema import TABLES
from synthgen.spec import load_spec


def test_tables_are_the_skeleton_and_message_tables() -> None:
    assert set(contract.TABLES) == set(contract.ALL_TABLES) == set(TABLES)
    assert len(contract.ALL_TABLES) == 7


def test_keys_and_enumerated_columns_name_real_columns() -> None:
    for table in contract.TABLES.values():
        names = {c.name for c in table.columns}
        assert set(table.primary_key) <= names, table.name
        for column, ref_table, ref_column in table.foreign_keys:
            assert column in names
            assert ref_column in {c.name for c in contract.TABLES[ref_table].columns}
    for (table, column), allowed in contract.ENUM_COLUMNS.items():
        (col,) = [c for c in contract.TABLES[table].columns if c.name == column]
        assert col.type == contract.TEXT and not col.free_text and allowed
    assert contract.free_text_columns() == [
        ("users", "email"),
        ("users", "displayName"),
        ("conversations", "title"),
        ("messages", "content"),
        ("attachments", "storageKey"),
    ]


def test_arrow_types_come_from_the_contract() -> None:
    messages = TABLES["messages"]
    assert messages.arrow_schema.field("createdAt").type == pa.timestamp("us", tz="UTC")
    assert messages.arrow_schema.field("content").nullable
    assert messages.encoded("delta") == ["id", "createdAt"]
    assert messages.encoded("dictionary") == ["conversationId", "senderId", "type"]
    assert [c.name for c in messages.columns if not c.statistics] == ["content"]


def test_engine_codes_index_the_contract_enumerations() -> None:
    assert contract.SIZE_CLASSES[skeleton.DIRECT] == "direct"
    assert contract.SIZE_CLASSES[skeleton.LARGE] == "large"
    assert contract.MEMBER_ROLES[skeleton.ROLE_OWNER] == "OWNER"
    assert contract.MEMBER_ROLES[skeleton.ROLE_MEMBER] == "MEMBER"
    assert contract.MESSAGE_TYPES[contract.TEXT_TYPE] == "TEXT"


def test_the_spec_schema_names_the_contract_kinds() -> None:
    schema = json.loads(resources.files("synthgen").joinpath("spec_schema.json").read_text())
    conversations = schema["properties"]["conversations"]["properties"]
    assert tuple(conversations["mix"]["required"]) == contract.CONVERSATION_KINDS
    media = schema["properties"]["media"]["properties"]
    assert tuple(media["mix"]["required"]) == contract.MEDIA_KINDS
    assert load_spec().media.kinds == contract.MEDIA_KINDS


def test_default_spec_mime_types_keep_their_usual_extensions() -> None:
    spec = load_spec()
    found = {
        m: contract.file_extension(m)
        for kind in spec.media.kinds
        for m in spec.media.attachments[kind].mime_types
    }
    assert found == {
        "image/jpeg": "jpg",
        "image/png": "png",
        "image/webp": "webp",
        "video/mp4": "mp4",
        "video/quicktime": "mov",
        "application/pdf": "pdf",
        "text/plain": "txt",
        "audio/ogg": "ogg",
        "audio/mpeg": "mp3",
        # a vendor-tree subtype: .bin, as before the rule existed (the golden pins hold it)
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "bin",
    }


@pytest.mark.parametrize(
    ("mime", "extension"),
    [
        ("image/gif", "gif"),
        ("IMAGE/HEIC", "heic"),
        ("image/svg+xml", "svg"),
        ("application/ld+json", "ld"),
        ("audio/x-wav", "wav"),
        ("text/csv; charset=utf-8", "csv"),
        ("application/vnd.ms-excel", "bin"),
        ("application/msword", "doc"),
        ("application/x-7z-compressed", "7zcompre"),
        ("video/3gpp", "3gpp"),
        ("application/", "bin"),
        ("nonsense", "bin"),
        ("image/../../etc", "etc"),
    ],
)
def test_any_mime_type_gets_a_safe_extension(mime: str, extension: str) -> None:
    assert contract.file_extension(mime) == extension

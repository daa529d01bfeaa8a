"""Graph export: openCypher text that parses and escapes every string safely, and a lossless JSON round trip."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.graph.export import cypher_name, cypher_string, cypher_value, from_json, to_cypher, to_json
from signal_factory.graph.memory import MemoryGraphStore
from signal_factory.graph.model import Edge, Node
from signal_factory.graph.writer import GraphWriter
from tests.conftest import EXAMPLE

TRICKY = ['plain', 'say "hi"', "it's", "back\\slash", "trailing\\", "line\nbreak\r\n", "tab\there", "\b\f\x00\x1f\x7f",
          "unicode é ✓ 𝄞", "\u2028sep", "}) DETACH DELETE n //", "`tick`", "", "\\u0041 literal", "\ud800 lone"]


def _unescape(literal: str) -> str:
    """Read a double-quoted Cypher string literal back, by the openCypher escape rules."""
    assert literal[0] == literal[-1] == '"'
    body, out, i = literal[1:-1], [], 0
    simple = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
    while i < len(body):
        ch = body[i]
        assert ch not in '"\n\r', f"unescaped {ch!r} in {literal!r}"
        if ch != "\\":
            out.append(ch)
            i += 1
        elif body[i + 1] == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        else:
            out.append(simple[body[i + 1]])
            i += 2
    return "".join(out)


@pytest.mark.parametrize("text", TRICKY)
def test_string_literals_read_back_exactly(text: str) -> None:
    """Quotes, backslashes, newlines, control characters and lone surrogates are escaped; the text reads back."""
    literal = cypher_string(text)
    assert "\n" not in literal
    assert "\r" not in literal
    assert _unescape(literal) == text


def test_random_strings_read_back_exactly() -> None:
    """2,000 random strings over quotes, backslashes, controls and non-ASCII survive the round trip."""
    rng = random.Random(7)
    alphabet = ['"', "\\", "'", "\n", "\r", "\t", "\x00", "\x1b", "a", "u", "0", "é", "𝄞", "`", "{", "}", ";"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        assert _unescape(cypher_string(text)) == text


@pytest.mark.parametrize(("value", "literal"), [
    (None, None), (True, "true"), (False, "false"), (42, "42"), (-7, "-7"), (2**70, '"1180591620717411303424"'),
    (1.5, "1.5"), (1e16, "1e16"), (2.5e-07, "2.5e-7"), (float("nan"), '"nan"'), (float("inf"), '"inf"'),
    ({"b": 1, "a": [1, None]}, '"{\\"a\\":[1,null],\\"b\\":1}"'), (["x", 2], '"[\\"x\\",2]"'), ("s", '"s"'),
])
def test_values_become_neptune_safe_literals(value: Any, literal: str | None) -> None:
    """Scalars stay typed; maps and lists become JSON strings; null is left out; out-of-range numbers are strings."""
    assert cypher_value(value) == literal


def test_names_are_backquoted_when_not_plain() -> None:
    """Labels and keys that are not plain identifiers are back-quoted, with back-quotes doubled."""
    assert cypher_name("FailureSignature") == "FailureSignature"
    assert cypher_name("weird key") == "`weird key`"
    assert cypher_name("a`b") == "`a``b`"


def _graph() -> MemoryGraphStore:
    g = MemoryGraphStore()
    GraphWriter(g, load_control_plane(EXAMPLE)).write_control_plane()
    g.merge_nodes([Node("Service", "orders-svc", {"note": TRICKY[-2], "id": "must not win"}),
                   Node("JobRun", "spark-1", {"engine": "spark", "nested": {"k": TRICKY}}, 1705284005000),
                   Node("Deployment", "orders-svc:v3.17", {"description": "fix \"totals\"\nand more"}, 1)])
    g.merge_edges([Edge("Deployment:orders-svc:v3.17", "INTRODUCED", "FailureSignature:X@urn:dp:a:b",
                        {"first_evidence": "evd-1", "weird key": "`"}),
                   Edge("JobRun:spark-1", "WROTE_TO", "Dataset:urn:dp:orders:silver")])
    return g


def test_cypher_export_shape() -> None:
    """Nodes MERGE by kind and id, extra labels SET (Service: Producer, Spark JobRun: SparkRun); endpoints never
    written as nodes get a placeholder, edges MATCH both ends by label and id; one statement per line."""
    lines = list(to_cypher(_graph()))
    assert all(line.endswith(";") and "\n" not in line for line in lines)
    assert any(line.startswith('MERGE (n:Service {id: "Service:orders-svc"}) SET n:Producer, n += {')
               for line in lines)
    assert any(line.startswith('MERGE (n:JobRun {id: "JobRun:spark-1"}) SET n:SparkRun, n += {') for line in lines)
    service = next(line for line in lines if "Service:orders-svc" in line and line.startswith("MERGE"))
    assert "must not win" not in service  # id, kind, key and ts_ms are the graph's own
    placeholder = 'MERGE (n:FailureSignature {id: "FailureSignature:X@urn:dp:a:b"})'
    edge = ('MATCH (a:Deployment {id: "Deployment:orders-svc:v3.17"}), (b:FailureSignature {id: '
            '"FailureSignature:X@urn:dp:a:b"}) MERGE (a)-[r:INTRODUCED]->(b) SET r += {first_evidence: "evd-1", '
            '`weird key`: "`"};')
    assert edge in lines
    assert next(i for i, line in enumerate(lines) if line.startswith(placeholder)) < lines.index(edge)
    assert ('MATCH (a:JobRun {id: "JobRun:spark-1"}), (b:Dataset {id: "Dataset:urn:dp:orders:silver"}) '
            "MERGE (a)-[r:WROTE_TO]->(b);") in lines


def test_cypher_export_parses_as_opencypher() -> None:
    """Every exported statement parses with the openCypher grammar (ANTLR grammars-v4), escapes included."""
    antlr4 = pytest.importorskip("antlr4")
    grammar = pytest.importorskip("antlr4_cypher")
    from antlr4.error.ErrorListener import ErrorListener

    class Collect(ErrorListener):
        def __init__(self) -> None:
            self.errors: list[str] = []

        def syntaxError(self, _r: Any, _s: Any, line: int, column: int, msg: str, _e: Any) -> None:  # noqa: N802
            self.errors.append(f"{line}:{column} {msg}")

    def errors(statement: str) -> list[str]:
        listener = Collect()
        lexer = grammar.CypherLexer(antlr4.InputStream(statement))
        parser = grammar.CypherParser(antlr4.CommonTokenStream(lexer))
        for part in (lexer, parser):
            part.removeErrorListeners()
            part.addErrorListener(listener)
        parser.script()
        return listener.errors

    assert errors('MERGE (n {id: "unterminated}) SET n += {};')  # the parser does reject bad text
    assert errors('MERGE (n {id: "bad \\q escape"});')
    for line in to_cypher(_graph()):
        assert errors(line) == [], line


def test_json_export_round_trips() -> None:
    """to_json -> JSON text -> from_json into an empty store -> to_json gives the same document."""
    doc = to_json(_graph())
    assert {"id", "kind", "key", "props"} <= set(doc["nodes"][0])
    again = MemoryGraphStore()
    nodes, edges = from_json(json.loads(json.dumps(doc)))
    again.merge_nodes(nodes)
    again.merge_edges(edges)
    assert to_json(again) == doc

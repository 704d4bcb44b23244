"""Diagrams without BPMN DI get a generated layout for the viewer and the editor; the semantics stay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from crm.workflow.layout import BPMNDI
from crm.workflow.layout import with_layout
from crm.workflow.validation import BPMN_NS

DATA = Path(__file__).resolve().parent / "data"
FILES = sorted(DATA.glob("*/*.bpmn"))


def _semantics(xml: str) -> bytes:
    tree = etree.fromstring(xml.encode())
    for diagram in tree.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        tree.remove(diagram)
    return etree.tostring(tree, method="c14n")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_flow_node_and_flow_is_drawn_and_nothing_else_changes(path: Path) -> None:
    xml = path.read_text()
    out = with_layout(xml)
    assert _semantics(out) == _semantics(xml)
    tree = etree.fromstring(out.encode())
    drawn = {el.get("bpmnElement") for el in tree.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")}
    for process in tree.iter(f"{{{BPMN_NS}}}process"):
        for el in process:
            if not isinstance(el.tag, str):
                continue  # comments
            name = etree.QName(el.tag).localname
            if name.endswith(("Task", "Event", "Gateway", "Flow")) or name in ("subProcess", "callActivity"):
                assert el.get("id") in drawn, (path.name, el.get("id"))


def test_a_diagram_with_a_layout_is_left_alone() -> None:
    xml = (Path(__file__).resolve().parents[1] / "processes" / "data" / "wf_browser.bpmn").read_text()
    assert with_layout(xml) == xml
    assert with_layout("not xml") == "not xml"


def test_the_viewer_gets_the_layout_the_download_the_original(client: Any, login_as: Any, owner: Any,
                                                               deploy_chain: Any) -> None:
    deploy_chain("wf_lay", "A", "B")
    login_as(owner)
    shown = client.get("/processes/definitions/wf_lay/1/xml").get_data(as_text=True)
    assert "BPMNDiagram" in shown and 'bpmnElement="A"' in shown
    assert "BPMNDiagram" not in client.get("/processes/definitions/wf_lay/1/download").get_data(as_text=True)

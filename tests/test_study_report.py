"""behavior.study.report: one self-contained HTML page."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from behavior.study.report import Figure, Section, figure_png, html_report


class PageParser(HTMLParser):
    """Collects what a test needs to check of a report page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("meta", "img", "br", "hr", "link", "input"):
            return
        self.stack.append(tag)
        if tag == "h2":
            self._heading = []

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()
        if tag == "h2" and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)


def parse_page(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def external_references(parser: PageParser) -> list[str]:
    """Every reference to something outside the page (scripts, style sheets, images, fonts)."""
    found = []
    for tag, attrs in parser.tags:
        if tag in ("script", "iframe", "object", "embed", "link"):
            found.append(f"<{tag}>")
        for name in ("src", "href", "data", "srcset", "xlink:href"):
            value = attrs.get(name)
            if value is None:
                continue
            if name == "href" and value.startswith("#"):
                continue  # in-page anchors
            if value.startswith("data:"):
                continue
            found.append(f"{tag} {name}={value[:60]}")
    return found


def check_self_contained(page: str) -> PageParser:
    """Assert a page parses, is balanced, references nothing outside itself; return its parse."""
    parser = parse_page(page)
    assert parser.errors == []
    assert parser.stack == []
    assert external_references(parser) == []
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page)  # no remote fonts/images in CSS
    assert "@import" not in page
    return parser


def embedded_pngs(parser: PageParser) -> list[bytes]:
    pngs = []
    for tag, attrs in parser.tags:
        if tag == "img":
            src = attrs["src"] or ""
            assert src.startswith("data:image/png;base64,")
            pngs.append(base64.b64decode(src.split(",", 1)[1], validate=True))
    return pngs


@pytest.fixture(scope="module")
def png():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(2, 1.5))
    fig.add_subplot().plot([0, 1, 2], [1, 0, 1])
    return figure_png(fig)


def test_a_page_has_every_section_its_figures_and_no_external_resources(png):
    table = pd.DataFrame({"individual": ["m1", "m2"], "seconds": [1.5, float("nan")], "n": [3, 4]})
    svg = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'
    page = html_report(
        "session A",
        [
            Section(
                "Kinematics", ["speeds"], [("per individual", table)], [Figure("speed", png=png)]
            ),
            Section("Behavior", figures=[Figure("raster", svg=svg)]),
        ],
        log=[{"operation": "clean", "timestamp": "2026-01-01", "window": "0.2 s"}],
        warnings=["no calibration"],
        meta={"frames": 100},
    )
    parser = check_self_contained(page)
    assert parser.headings == ["Warnings", "Kinematics", "Behavior", "Processing log"]
    assert embedded_pngs(parser) == [png]
    assert any(tag == "svg" for tag, _ in parser.tags)
    text = " ".join(parser.text)
    for expected in ("no calibration", "clean", "0.2 s", "m1", "1.5", "speeds", "session A"):
        assert expected in text
    anchors = {attrs.get("href") for tag, attrs in parser.tags if tag == "a"}
    ids = {attrs.get("id") for _, attrs in parser.tags if attrs.get("id")}
    assert anchors <= {f"#{i}" for i in ids}


def test_no_warnings_says_none_and_empty_log_says_so():
    parser = check_self_contained(html_report("empty", []))
    assert parser.headings == ["Warnings", "Processing log"]
    text = " ".join(parser.text)
    assert "None." in text and "No processing steps recorded." in text


def test_long_tables_are_cut_with_a_note():
    table = pd.DataFrame({"a": range(30)})
    parser = check_self_contained(
        html_report("t", [Section("T", tables=[("", table)])], max_rows=10)
    )
    rows = [tag for tag, _ in parser.tags if tag == "tr"]
    assert len(rows) == 1 + 10
    assert "20 more rows" in " ".join(parser.text)


def test_the_checker_catches_external_resources():
    page = html_report("t", [Section("T", ["x"])])
    bad = page.replace("</head>", '<script src="https://cdn.example/x.js"></script></head>')
    with pytest.raises(AssertionError):
        check_self_contained(bad)
    bad = page.replace("</body>", '<img src="http://example.org/a.png"></body>')
    with pytest.raises(AssertionError):
        check_self_contained(bad)


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(max_size=30),
    names=st.lists(st.text(max_size=20), min_size=1, max_size=4),
    warnings=st.lists(st.text(max_size=30), max_size=3),
)
def test_user_text_cannot_inject_markup(title, names, warnings):
    table = pd.DataFrame({"name": names, "value": range(len(names))})
    page = html_report(
        title,
        [Section(n or "s", [n], [(n, table)]) for n in names],
        warnings=warnings,
        log=[{"operation": n, "note": n} for n in names],
        meta={n: n for n in names},
    )
    parser = check_self_contained(page)
    tags = {tag for tag, _ in parser.tags}
    assert tags <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "nav", "ul", "li", "a",
        "p", "table", "caption", "thead", "tbody", "tr", "th", "td", "code",
    }  # fmt: skip
    assert len(parser.headings) == len(names) + 2

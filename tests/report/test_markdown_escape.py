"""Markdown escaping: user text shows as exactly that text and never opens raw HTML."""

import re

import pytest

from cnnlab.document.markdown import escape

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</b>", "<!-- x -->", "<?php ?>",
           "<https://example.com>", "a<b", "x <", "&lt;script>", "<<svg/onload=alert(1)>"]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_less_than_sign_can_open_a_tag(text):
    out = escape(text)
    assert not re.search(r"<([A-Za-z/!?]|$)", out), out
    assert "&lt;" in out or "&amp;lt;" in out


@pytest.mark.parametrize("text,expected", [("p < 0.05", "p < 0.05"), ("1 <= 2", "1 <= 2"), ("a <- b", "a <- b"),
                                           ("<3 seeds", "<3 seeds")])
def test_a_less_than_sign_that_opens_nothing_reads_as_written(text, expected):
    assert escape(text) == expected


def test_an_entity_is_shown_as_typed_not_decoded():
    assert escape("&lt;b&gt; &amp;") == "&amp;lt;b&amp;gt; &amp;amp;"

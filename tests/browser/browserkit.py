"""Helpers for the browser tests: where Chromium is, and accessibility checks run inside the page."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Debian's Chromium by default; CI on Ubuntu 24.04 points this at the runner's Google Chrome instead,
# since Ubuntu's apt package is only a stub that installs the snap
CHROMIUM = os.environ.get("DOCKET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
MISSING_CHROMIUM = (
    f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), "
    "or set DOCKET_CHROMIUM to a Chromium or Chrome binary"
)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"


@dataclass(frozen=True)
class Stack:
    """Where the test stack listens."""

    web: str
    api: str
    redis_url: str


# Every visible text node's colour against the background behind it (alpha layers blended), by the
# WCAG 2 formula: 4.5:1 for normal text, 3:1 for large text (24px, or 18.66px bold).
CONTRAST_FAILURES = """
() => {
  const parse = (value) => {
    const m = value.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const blend = (top, bottom) => {
    const a = top.a + bottom.a * (1 - top.a);
    const mix = (t, b) => (t * top.a + b * bottom.a * (1 - top.a)) / a;
    return { r: mix(top.r, bottom.r), g: mix(top.g, bottom.g), b: mix(top.b, bottom.b), a };
  };
  const background = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a === 1) break; }
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) bg = blend(layers[i], bg);
    return bg;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const failures = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode;
    const el = text.parentElement;
    if (!text.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest("[hidden], .visually-hidden, .skip-link, script, option")) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility === "hidden" || box.width === 0 || box.height === 0) continue;
    const bg = background(el);
    const fg = blend(parse(style.color), bg);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (parseInt(style.fontWeight, 10) >= 700 && size >= 18.66);
    const r = ratio(fg, bg);
    if (r < (large ? 3 : 4.5)) {
      const sample = text.textContent.trim().slice(0, 40);
      failures.push(`${el.tagName.toLowerCase()}.${el.className} "${sample}" ${r.toFixed(2)}:1`);
    }
  }
  return failures;
}
"""

STRUCTURE_PROBLEMS = """
() => {
  const problems = [];
  const controls = document.querySelectorAll("input:not([type=hidden]), select, textarea");
  for (const control of controls) {
    const named = (control.labels && control.labels.length) || control.getAttribute("aria-label")
      || control.getAttribute("aria-labelledby");
    if (!named) problems.push(`unlabelled ${control.tagName.toLowerCase()} ${control.name || control.id}`);
  }
  if (document.querySelectorAll("h1").length !== 1) problems.push("there must be exactly one h1");
  if (document.querySelectorAll("main").length !== 1) problems.push("there must be exactly one main");
  if (!document.querySelector("header") || !document.querySelector("nav")) problems.push("no header or nav");
  if (!document.documentElement.lang) problems.push("no lang on html");
  if (!document.title.trim()) problems.push("no title");
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`img without alt: ${img.src}`);
  }
  for (const link of document.querySelectorAll("a, button")) {
    const name = (link.textContent || "").trim() || link.getAttribute("aria-label");
    if (!name) problems.push(`a ${link.tagName.toLowerCase()} without a name`);
  }
  if (!document.querySelector("[aria-live]")) problems.push("no live region");
  return problems;
}
"""


def assert_accessible(page: Any) -> None:
    """The page's structure and contrast pass the checks above."""
    structure = page.evaluate(STRUCTURE_PROBLEMS)
    assert not structure, f"{page.url}: {structure}"
    contrast = page.evaluate(CONTRAST_FAILURES)
    assert not contrast, f"{page.url}: text below WCAG AA contrast: {contrast}"

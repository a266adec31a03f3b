"""Deterministic English-like text, so search has real words to stem, rank and highlight."""

from __future__ import annotations

import random

# Content words only: stop words would vanish from the tsvector and make empty searches.
VOCABULARY = """
account action address agreement amount analysis annual answer approval archive article audit
balance bank benefit board bonus branch budget building business buyer calendar campaign capital
carrier catalog certificate chapter charge chart claim client climate closing committee company
compliance contract control copy corporate cost council coverage credit customer damage data
deadline delivery department deposit design detail development device director discount dispute
document draft employee energy engine equipment estimate event evidence exchange expense export
facility factor federal finance forecast freight fund garden grant guarantee harbor health history
holiday hospital house income index industry insurance interest inventory invoice island journal
judge kitchen labor language lease ledger license limit loan logistics machine manager manual margin
market meeting member memo merger method metric minute mission model monitor mortgage network notice
office option order owner package partner patent payment payroll pension permit planning policy
portfolio premium price principal privacy process product profit program project property proposal
purchase quality quarter rate receipt record refund region register regulation rental report request
research reserve resource retail revenue review risk river route safety salary sample schedule
school science section security seller service settlement shipment signature software source
statement station storage strategy student subject summary supplier supply survey system target tax
team technology tenant term territory test timber title trade training transfer travel treasury
trust union update vehicle vendor venture warehouse warranty water weather window winter witness
worker
""".split()  # noqa: SIM905 (a paragraph reads better than 230 quoted words)


_WEIGHTS = [1.0 / (rank + 1) ** 0.7 for rank in range(len(VOCABULARY))]


def weighted_words(rng: random.Random, count: int) -> list[str]:
    """``count`` words drawn with a Zipf-like skew, as in real prose."""
    return rng.choices(VOCABULARY, weights=_WEIGHTS, k=count)


def text(rng: random.Random, size: int) -> str:
    """About ``size`` bytes of sentences."""
    words = weighted_words(rng, size // 7 + 16)
    out: list[str] = []
    length = 0
    for start in range(0, len(words), 12):
        sentence = " ".join(words[start : start + 12]).capitalize() + ". "
        out.append(sentence)
        length += len(sentence)
        if length >= size:
            break
    return "".join(out)[:size]


def two_word_queries(rng: random.Random, count: int) -> list[str]:
    """Search queries of two distinct vocabulary words."""
    return [" ".join(rng.sample(VOCABULARY, 2)) for _ in range(count)]

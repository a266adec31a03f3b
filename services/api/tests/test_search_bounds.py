"""Search over big workspaces, over real HTTP: relevance ranks a bounded set of each workspace's newest
matches, so a workspace with thousands of matches (a hostile account's, or a big team's) neither hides
another workspace's best match nor costs other users' searches; rare words, prefixes and phrases are
still found anywhere, and the date order stays exact across pages and workspaces."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from searchkit import add_ready, ids_of, search_page
from teamkit import Person, create_workspace, join, person

from docket_core.tables.documents import RANKED_MATCHES_PER_WORKSPACE, RECENT_DOCUMENTS_WALKED

BULK = RECENT_DOCUMENTS_WALKED + 500  # more than one walk of the newest documents
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.fixture
def mallory(api: httpx.Client) -> Person:
    return person(api, "mallory@example.com")


def test_a_big_shared_workspace_with_thousands_of_newer_matches_never_hides_your_best_match(
    api: httpx.Client, ada: Person, bob: Person, clean_db: str
) -> None:
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "viewer")
    add_ready(clean_db, ada, team, ["a pangolin walked by the quarry"] * BULK, NOW, dt.timedelta(minutes=1))
    (best,) = add_ready(
        clean_db, bob, bob.personal, ["pangolin pangolin pangolin: the pangolin census"],
        NOW - dt.timedelta(days=400), dt.timedelta(minutes=1),
    )  # fmt: skip
    page = search_page(api, bob, q="pangolin", limit=5)
    assert ids_of(page)[0] == best
    assert "<mark>pangolin</mark>" in page["items"][0]["snippet_html"]  # type: ignore[index]
    assert page["next_cursor"] is not None
    assert best not in ids_of(search_page(api, ada, q="pangolin", limit=50)), (
        "ada is no member of bob's workspace"
    )


def test_a_strangers_workspace_full_of_matches_changes_nothing_in_your_results(
    api: httpx.Client, bob: Person, mallory: Person, clean_db: str
) -> None:
    mine = add_ready(
        clean_db, bob, bob.personal, ["quarry notes on the pangolin", "pangolin pangolin survey"],
        NOW, dt.timedelta(hours=1),
    )  # fmt: skip
    before = search_page(api, bob, q="pangolin")
    add_ready(clean_db, mallory, mallory.personal, ["pangolin " * 50] * BULK, NOW, dt.timedelta(seconds=1))
    after = search_page(api, bob, q="pangolin")
    assert after == before
    assert sorted(ids_of(after)) == sorted(mine)
    assert ids_of(after)[0] == mine[1], "more occurrences rank first"


def test_relevance_in_a_big_workspace_ranks_its_newest_matches_and_pages_stop_at_the_bound(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    texts = ["the harbor contract was signed"] * BULK
    texts[RANKED_MATCHES_PER_WORKSPACE + 10] = "harbor contract: the harbor contract of the harbor"
    texts[5] = "harbor contract renewed for the harbor, and the harbor contract extended"
    ids = add_ready(clean_db, ada, ada.personal, texts, NOW, dt.timedelta(minutes=1))
    page = search_page(api, ada, q="harbor contract", limit=50)
    assert ids_of(page)[0] == ids[5], "the best of the newest matches comes first"
    assert ids[RANKED_MATCHES_PER_WORKSPACE + 10] not in ids_of(page)
    ranks = [hit["rank"] for hit in page["items"]]  # type: ignore[attr-defined]
    assert ranks == sorted(ranks, reverse=True)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, object] = {"q": "harbor contract", "limit": 50}
        if cursor:
            params["cursor"] = cursor
        page = search_page(api, ada, **params)
        seen += ids_of(page)
        cursor = page["next_cursor"]  # type: ignore[assignment]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == RANKED_MATCHES_PER_WORKSPACE
    assert set(seen) == set(ids[:RANKED_MATCHES_PER_WORKSPACE])


def test_rare_words_prefixes_and_phrases_are_found_in_the_oldest_document_of_a_big_workspace(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    texts = ["an ordinary update about the rolling budget"] * BULK
    texts[-1] = "the kubernetes rolling update of the narwhal cluster"
    ids = add_ready(clean_db, ada, ada.personal, texts, NOW, dt.timedelta(minutes=1))
    oldest = ids[-1]
    assert ids_of(search_page(api, ada, q="narwhal")) == [oldest]
    assert ids_of(search_page(api, ada, q="kube*")) == [oldest]
    assert ids_of(search_page(api, ada, q='"rolling update"')) == [oldest]
    assert ids_of(search_page(api, ada, q="narwhal", sort="date")) == [oldest]


def test_date_order_is_exact_across_pages_and_workspaces(
    api: httpx.Client, ada: Person, bob: Person, clean_db: str
) -> None:
    team = create_workspace(api, ada)
    join(api, ada, bob, team, "viewer")
    # interleaved in time: the team's at even minutes, bob's own at odd ones
    theirs = add_ready(clean_db, ada, team, ["okapi sighting"] * 40, NOW, dt.timedelta(minutes=2))
    odd = NOW - dt.timedelta(minutes=1)
    mine = add_ready(clean_db, bob, bob.personal, ["okapi report"] * 40, odd, dt.timedelta(minutes=2))
    expected = [doc for pair in zip(theirs, mine, strict=True) for doc in pair]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, object] = {"q": "okapi", "sort": "date", "limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = search_page(api, bob, **params)
        seen += ids_of(page)
        cursor = page["next_cursor"]  # type: ignore[assignment]
        if cursor is None:
            break
    assert seen == expected

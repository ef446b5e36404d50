"""Recommendations over small graphs: ranked by personalized PageRank, each explained."""

from __future__ import annotations

from idgraph.domain.recommend import (
    Contact,
    FeatureGraph,
    ModelNeighbourhood,
    PersonNetwork,
    Touch,
    lookalike_candidates,
    model_statistics,
    popular_models,
    recommend_models,
    referral_candidates,
    similar_customers,
)


def hood(**changes: object) -> ModelNeighbourhood:
    base = ModelNeighbourhood(
        one_id="me", touches=[Touch("Passat", "OWNER", True, "D1")], dealer="D1",
        contacts=[Contact("wife", "HOUSEHOLD")],
        contact_touches={"wife": [Touch("X3", "TEST_DRIVE", False, "D1")]},
        transitions={"Passat": {"Tiguan L": 30, "Magotan": 10}},
        popularity={"Passat": 500, "Lavida": 400, "Tiguan L": 200, "X3": 50, "Magotan": 80})
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def test_next_models_follow_owners_transitions_and_the_household() -> None:
    found = recommend_models(hood(), 3)
    assert [r.item for r in found][:3] == ["Tiguan L", "X3", "Magotan"]
    assert "30 of 40 owners of Passat moved on to Tiguan L" in found[0].explanation
    assert found[1].explanation == ("your household member wife; test-drove X3 at your dealer")
    assert all(r.score > 0 for r in found)
    assert "Passat" not in [r.item for r in recommend_models(hood(), 10)]  # owned now


def test_what_the_walk_cannot_reach_is_filled_by_popularity_and_said_so() -> None:
    found = recommend_models(hood(contacts=[], contact_touches={}, transitions={}), 3)
    assert [r.item for r in found] == ["Lavida", "Tiguan L", "Magotan"]
    assert all(r.score == 0 and "most owned" in r.explanation for r in found)
    assert popular_models(hood().popularity, ["Passat"], 2) == ["Lavida", "Tiguan L"]


def test_a_model_the_person_test_drove_counts_more_than_a_contacts_interest() -> None:
    found = recommend_models(hood(touches=[Touch("Passat", "OWNER", True, "D1"),
                                           Touch("Magotan", "TEST_DRIVE", False, "D2")]), 1)
    assert found[0].item == "Magotan"
    assert found[0].explanation.startswith("you test-drove Magotan at dealer D2")


def test_an_interest_older_than_the_latest_purchase_counts_less() -> None:
    year = 365 * 24 * 3600 * 1000
    fresh = hood(touches=[Touch("Passat", "OWNER", True, "D1", 10 * year),
                          Touch("Magotan", "TEST_DRIVE", False, "D1", 11 * year)])
    stale = hood(touches=[Touch("Passat", "OWNER", True, "D1", 10 * year),
                          Touch("Magotan", "TEST_DRIVE", False, "D1", 9 * year)])
    assert recommend_models(fresh, 1)[0].item == "Magotan"
    found = {r.item: r for r in recommend_models(stale, 3)}
    assert [r.item for r in recommend_models(stale, 1)] == ["Tiguan L"]
    assert found["Magotan"].explanation == ("you test-drove Magotan at your dealer before "
                                            "your last purchase")
    assert found["Magotan"].score < {r.item: r for r in recommend_models(fresh, 3)
                                     }["Magotan"].score
    # and what others interested in it chose is no lead once a purchase answered it
    also = {"co_interest": {"Magotan": {"GLC": 5}}, "interested": {"Magotan": 10}}
    fresh_glc = {r.item: r.score for r in recommend_models(hood(**{**vars(fresh), **also}), 5)}
    stale_glc = {r.item: r.score for r in recommend_models(hood(**{**vars(stale), **also}), 5)}
    assert fresh_glc.get("GLC", 0) > 0 and stale_glc.get("GLC", 0) == 0


def test_a_prospect_is_walked_to_what_people_with_the_same_interest_chose() -> None:
    prospect = hood(touches=[Touch("X3", "TEST_DRIVE", False, "D1")], contacts=[],
                    contact_touches={}, co_interest={"X3": {"5 Series": 6, "GLC": 2}},
                    interested={"X3": 10})
    found = recommend_models(prospect, 3)
    assert [r.item for r in found] == ["X3", "5 Series", "GLC"]
    assert found[1].explanation == ("you test-drove X3 at your dealer; 6 of 10 people "
                                    "interested in X3 also considered or bought 5 Series")
    assert found[1].path == ("person:me", "model:X3", "model:5 Series")
    # co-interest leads nowhere from a model the person only owns
    owner = hood(contacts=[], contact_touches={}, transitions={},
                 co_interest={"Passat": {"GLC": 9}}, interested={"Passat": 10})
    assert all(r.score == 0 for r in recommend_models(owner, 3))


def test_model_statistics_count_moves_owners_and_co_interest() -> None:
    people = [
        # owned Passat from 2015, then Tiguan L from 2021 (still), test-drove X3 first
        [("Tiguan L", "OWNER", 1_600_000_000_000, True), ("Passat", "OWNER", 1_420_000_000_000,
                                                          True),
         ("X3", "TEST_DRIVE", 1_300_000_000_000, False)],
        [("X3", "TEST_DRIVE", None, False), ("5 Series", "OWNER", None, True)],
        [("X3", "INTERESTED", None, True), ("5 Series", "TEST_DRIVE", None, False),
         ("GLC", "INTERESTED", None, True)],
    ]
    stats = model_statistics(iter(people))
    assert stats.transitions == {"Passat": {"Tiguan L": 1}}
    assert stats.popularity == {"Tiguan L": 1, "Passat": 1, "5 Series": 1}
    assert stats.interested == {"X3": 3, "5 Series": 1, "GLC": 1}
    # pairs seen once are dropped (MIN_CO_INTEREST = 2): only X3 -> 5 Series stays
    assert stats.co_interest["X3"] == {"5 Series": 2}
    assert stats.co_interest["GLC"] == {}


def test_referral_candidates_are_the_in_market_people_nearest_the_owner() -> None:
    network = PersonNetwork("owner", edges=[
        ("owner", "wife", "HOUSEHOLD"), ("owner", "friend", "REFERRED"),
        ("friend", "friends_son", "HOUSEHOLD"), ("owner", "neighbour", "REFERRED")],
        in_market={"wife": "test-drove X3", "friends_son": "a media lead for Lavida",
                   "neighbour": "test-drove Passat"})
    found = referral_candidates(network, 2)
    assert [r.item for r in found] == ["wife", "neighbour"]
    assert found[0].explanation == "your household member wife; test-drove X3"
    everyone = referral_candidates(network, 10)
    assert [r.item for r in everyone] == ["wife", "neighbour", "friends_son"]
    assert "friend" not in [r.item for r in everyone]  # not in the market
    assert everyone[2].explanation == ("friend, whom you referred; friends_son, household "
                                       "member of friend; a media lead for Lavida")


def test_similar_customers_share_what_the_seeds_share() -> None:
    graph = FeatureGraph(seeds=["a", "b"], features={
        "a": ["model:X3", "dealer:D1", "city:上海"], "b": ["model:X3", "dealer:D2", "city:上海"],
        "c": ["model:X3", "dealer:D1", "city:上海"], "d": ["model:Lavida", "city:上海"],
        "e": ["model:Lavida", "city:北京"]})
    found = similar_customers(graph, 3)
    assert [r.item for r in found][:2] == ["c", "d"]
    assert "X3 (model, like 2 of the 2 seeds)" in found[0].explanation
    assert "e" not in [r.item for r in found]  # shares nothing with the seeds


def test_lookalike_candidates_prefer_what_most_seeds_share() -> None:
    seeds = {"s1": ["model:X3", "dealer:D1"], "s2": ["model:X3", "dealer:D2"],
             "s3": ["model:Lavida", "dealer:D1"]}
    holders = {"model:X3": ["s1", "s2", "c", "d"],  # 2 seeds own an X3: 2 x 1.0
               "dealer:D1": ["s1", "s3", "d", "e"],  # 2 seeds at D1: 2 x 0.6
               "model:Lavida": ["s3", "f", "e"]}  # 1 seed: 1.0
    assert lookalike_candidates(seeds, holders, 10) == ["d", "e", "c", "f"]
    assert lookalike_candidates(seeds, holders, 2) == ["d", "e"]
    # ties go by OneID, and a feature no seed holds adds nothing
    assert lookalike_candidates({"s": ["model:A"]}, {"model:A": ["z", "y"], "model:B": ["x"]},
                                5) == ["y", "z", "x"]


def test_personalized_pagerank_matches_networkx() -> None:
    import random

    import networkx as nx
    import numpy as np

    from idgraph.domain.recommend import personalized_pagerank

    rng = random.Random(5)
    graph = nx.DiGraph()
    for _ in range(300):
        a, b = rng.randrange(60), rng.randrange(60)
        if a != b:
            graph.add_edge(a, b, weight=rng.random() + 0.05)
    graph.add_node(99)  # dangling, unreachable
    start = {0: 1.0, 7: 0.5}
    ours = personalized_pagerank(graph, start)
    # networkx's own definition: the stationary distribution of its Google matrix (the
    # matrix networkx.pagerank iterates; that function itself needs SciPy).
    matrix = nx.google_matrix(graph, alpha=0.85, personalization=start, weight="weight")
    theirs = np.full(len(graph), 1.0 / len(graph))
    for _ in range(500):
        theirs = theirs @ matrix
    assert max(abs(ours[n] - theirs[i]) for i, n in enumerate(graph)) < 1e-7
    assert abs(sum(ours.values()) - 1.0) < 1e-9

"""The sparse BM25 field gives rank-bm25's own scores, and rarity-weighted coverage."""

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from content.knowledge.bm25 import BM25Field, Rarity

DOCUMENTS = [
    (0, ["缴费", "基数", "上限"]),
    (0, ["缴费", "基数", "下限", "下限"]),
    (1, ["工伤", "认定", "申请", "期限"]),
    (2, []),
    (2, ["失业", "保险金", "领取", "期限", "期限", "期限"]),
]


@pytest.mark.parametrize(
    "question",
    [["缴费", "基数"], ["期限"], ["期限", "期限", "工伤"], ["没有", "这个词"], [], ["下限", "失业", "申请"]],
)
def test_document_scores_are_rank_bm25s(question):
    field = BM25Field(DOCUMENTS, owners=3, k1=1.2, b=0.5)
    reference = BM25Okapi([tokens or ["\u0000"] for _, tokens in DOCUMENTS], k1=1.2, b=0.5)
    known = [token for token in question if token in field.column]
    expected = reference.get_scores(known) if known else np.zeros(len(DOCUMENTS))
    assert np.allclose(field.document_scores(question), expected)


def test_an_owner_scores_as_its_best_document():
    field = BM25Field(DOCUMENTS, owners=3, k1=1.2, b=0.5)
    per_document = field.document_scores(["下限", "期限"])
    assert field.scores(["下限", "期限"]).tolist() == pytest.approx(
        [max(per_document[0], per_document[1]), per_document[2], max(per_document[3], per_document[4])]
    )
    assert per_document[1] > per_document[0] == 0  # only the second holds 下限


def test_one_document_per_owner_needs_no_grouping():
    field = BM25Field([(0, ["a", "b"]), (1, ["b", "c"]), (2, ["d"])], owners=3, k1=1.2, b=0.5)
    assert field.single
    assert field.scores(["c"])[0] == 0 < field.scores(["c"])[1]


def test_coverage_weighs_rare_words_and_synonyms():
    rarity = Rarity.of([{"社保", "基数"}, {"社保", "工伤"}, {"社保", "失业"}])
    assert rarity.unseen == max(rarity.idf.values())
    assert rarity.idf["基数"] > rarity.idf["社保"]
    # holding the rare word covers more than holding the common one
    assert rarity.coverage([("社保",), ("基数",)], {"基数"}) > rarity.coverage(
        [("社保",), ("基数",)], {"社保"}
    )
    # a synonym counts as the word; a number the document lacks is left out
    assert rarity.coverage([("缴费基数", "基数")], {"基数"}) == 1.0
    assert rarity.coverage([("基数",), ("5000",)], {"基数"}) == 1.0
    # a word no document holds weighs like the rarest
    assert rarity.coverage([("基数",), ("年会",)], {"基数"}) == pytest.approx(
        rarity.idf["基数"] / (rarity.idf["基数"] + rarity.unseen)
    )
    assert rarity.coverage([], {"基数"}) == 0.0

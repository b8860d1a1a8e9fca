"""The n-gram views and the tokenizer compute exactly what the shipped heads were trained on.

The heads' weights index scikit-learn's hashed feature space; the inference path recomputes it
without scikit-learn (model load time), so any drift would silently scramble the heads.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from models.sentiment import charngrams
from models.sentiment.encoders import SP_MODEL, tokenize
from models.sentiment.heads import LinearHead
from models.sentiment.text import normalize

TEXTS = [
    "@user J'ai payé mon abonnement et je reçois une AMENDE!!! 😡😡 http",
    "Bedankt   @user, de app werkt perfect!",
    "a",
    "",
    "   ",
    "Ünïcödé ß ǅ ﬁ İstanbul ΣΊΣΥΦΟΣ",
    "🇫🇷👨\u200d👩\u200d👧 emoji sequences 🙂🙂🙂",
    "tabs\tand\nnewlines\r\nhere",
    "x" * 3000,
    "<script>alert(1)</script> '; DROP TABLE mentions; --",
    "\u202eevil\u200b zero width",
    "Kkkkkkkkkkkkkkkkkkkk mano a vergonha alheia",
]
SKLEARN = {
    "char": HashingVectorizer(analyzer="char_wb", ngram_range=charngrams.CHAR_ORDERS,
                              n_features=charngrams.N_FEATURES, alternate_sign=False, norm=None,
                              lowercase=True),
    "piece": HashingVectorizer(analyzer=str.split, n_features=charngrams.N_FEATURES,
                               alternate_sign=False, norm=None),
}


def _sklearn_counts(texts: list[str], view: str) -> sparse.csr_matrix:
    if view == "piece":
        texts = [" ".join(charngrams.piece_tokens(ids)) for ids in tokenize(texts)]
    return SKLEARN[view].transform(texts).tocsr()


@pytest.mark.parametrize("view", charngrams.VIEWS)
def test_hashed_counts_equal_scikit_learn(view: str) -> None:
    texts = TEXTS + [normalize(t) for t in TEXTS]
    ours = charngrams.counts(texts, view).to_csr()
    theirs = _sklearn_counts(texts, view)
    theirs.sort_indices()
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)


def test_tfidf_and_linear_head_equal_the_scipy_computation() -> None:
    matrix = charngrams.counts(TEXTS, "char")
    idf = charngrams.fit_idf(matrix)
    reference = matrix.to_csr().astype(np.float64)
    reference.data = 1 + np.log(reference.data)
    reference = l2_normalize(reference @ sparse.diags(idf.astype(np.float64)))
    ours = charngrams.tfidf(matrix, idf)
    np.testing.assert_allclose(ours.to_csr().toarray(), reference.toarray(), atol=1e-6)

    rng = np.random.default_rng(0)
    head = LinearHead(rng.normal(size=(3, charngrams.N_FEATURES)).astype(np.float32),
                      rng.normal(size=3).astype(np.float32))
    expected = np.asarray(reference @ head.weight.T.astype(np.float64)) + head.bias
    np.testing.assert_allclose(charngrams.linear(ours, head), expected, atol=1e-4)


def test_lone_surrogates_are_hashed_not_crashed() -> None:
    matrix = charngrams.counts(["a\ud800b", "\udfff"], "char")
    assert len(matrix.indptr) == 3 and matrix.data.sum() > 0
    assert len(tokenize(["a\ud800b"])[0]) >= 3


def test_tokenize_is_sentencepiece_with_bos_eos_and_a_cap() -> None:
    import sentencepiece

    reference = sentencepiece.SentencePieceProcessor(model_file=str(SP_MODEL))
    for text in TEXTS[:8]:
        assert tokenize([text])[0] == reference.encode(text, add_bos=True, add_eos=True)
    long = tokenize(["word " * 1000])[0]
    assert len(long) == 128 and long[0] == reference.bos_id() and long[-1] == reference.eos_id()

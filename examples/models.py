"""Python side of examples/python_model.flow: a tiny word-rarity model, standard library only.

`fit` returns a `Vocabulary`, an object Flow knows only as `extern type Vocabulary`: it is
pickled by Python, stored as it is, and handed to `score` unopened.
"""

import collections
import math


class Vocabulary:
    """How often each word occurs in a corpus."""

    def __init__(self, counts, documents):
        self.counts = counts
        self.documents = documents

    def rarity(self, word):
        """The inverse document frequency of `word`, smoothed so unseen words are rarest."""
        seen = self.counts.get(word, 0)
        return math.log((1 + self.documents) / (1 + seen))


def words(text):
    return [w.strip(".,;:!?\"'()").lower() for w in text.split() if w.strip(".,;:!?\"'()")]


def fit(docs):
    """Counts, for every word, the documents it occurs in."""
    counts = collections.Counter()
    for doc in docs:
        counts.update(set(words(doc)))
    return Vocabulary(dict(counts), len(docs))


def score(vocabulary, docs):
    """Each document's mean word rarity under `vocabulary`, as `Score` records."""
    scores = []
    for doc in docs:
        ws = words(doc)
        rarity = sum(vocabulary.rarity(w) for w in ws) / len(ws) if ws else 0.0
        scores.append({"doc": doc, "rarity": round(rarity, 4), "words": len(ws)})
    return scores

import collections


def count(words):
    return collections.Counter(words)


def most(c):
    return c.most_common(1)[0][0]

import zlib

from civic_signal.classifiers.features import extras, feature_ids, words


def test_words_are_normalized():
    assert words("Potholes at 45 Dot Ave") == ["pothole", "at", "#", "dot", "ave"]
    w = words("see @someone and @BOS311 https://t.co/x")
    assert "user" in w and "bos" in w and "url" in w and "someone" not in w


def test_feature_ids_are_stable_and_include_bigrams_and_extras():
    a = feature_ids("pothole on Dot Ave", extras(["request"], ["REQPOTHL"], "es"))
    assert a == feature_ids("pothole on Dot Ave", extras(["request"], ["REQPOTHL"], "es"))
    assert len(a) == 4 + 4 + 1 + 3          # words, bigrams (first with the start), end bigram, extras
    assert zlib.crc32(b"pothole") & ((1 << 31) - 1) in a   # crc32, not the salted built-in hash
    assert feature_ids("") == []


def test_each_feature_counts_once_as_in_training():
    ids = feature_ids("the light on the corner of the park is out, the whole block is dark")
    assert len(ids) == len(set(ids))
    assert set(feature_ids("pothole pothole pothole")) == set(feature_ids("pothole pothole"))

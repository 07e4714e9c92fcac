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


def test_char_ngrams_are_stable_separate_from_word_ids_and_shared_by_misspellings():
    from civic_signal.classifiers.features import CHAR_BASE, char_ids, is_char_id
    a = char_ids("Streetlight burned out")
    assert a == char_ids("streetlight BURNED out")            # pure, lower-cased
    assert a and all(is_char_id(i) for i in a) and min(a) >= CHAR_BASE
    assert not any(is_char_id(i) for i in feature_ids("streetlight burned out"))
    assert char_ids("out at 45 Dot") == []                     # short words and digits give none
    # a misspelling shares most of its n-grams with the word; an unrelated word shares none
    good, typo, other = (set(char_ids(w)) for w in ("sidewalk", "sidwalk", "mattress"))
    assert len(good & typo) >= 4 and not good & other


def test_each_feature_counts_once_as_in_training():
    ids = feature_ids("the light on the corner of the park is out, the whole block is dark")
    assert len(ids) == len(set(ids))
    assert set(feature_ids("pothole pothole pothole")) == set(feature_ids("pothole pothole"))

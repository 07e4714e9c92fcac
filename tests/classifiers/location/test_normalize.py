from civic_signal.classifiers.location.normalize import display_street, street_key, tokens
from civic_signal.classifiers.location.projection import stateplane_ft_to_lonlat


def test_street_keys_agree_across_spellings():
    assert street_key("E. Fourth Street") == street_key("E 4th St") == "e 4th st"
    assert street_key("East Broadway") == "e broadway"
    assert street_key("South St") == "south st"          # a name, not a direction
    assert street_key("N Beacon St") == street_key("North Beacon Street")
    assert street_key("Mt Vernon St") == street_key("Mount Vernon Street")
    assert street_key("O'Connell Rd") == "oconnell rd"


def test_display_street():
    assert display_street("E", "FIRST", "ST", "") == "E First St"
    assert display_street("", "Dorchester", "AVE", "") == "Dorchester Ave"


def test_tokens_drop_apostrophes_and_dots():
    assert tokens("St. Botolph's St") == ["st", "botolphs", "st"]


def test_stateplane_inverse_lands_in_boston():
    lon, lat = stateplane_ft_to_lonlat(757409.12, 2924367.75)   # a Roslindale boundary vertex
    assert 42.25 < lat < 42.30 and -71.15 < lon < -71.10

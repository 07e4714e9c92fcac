from civic_signal.classifiers.language import detect


def test_english_spanish_and_others():
    assert detect("There is a huge pothole on Dot Ave") == "en"
    assert detect("Hay un bache enorme en la calle Centre, por favor arreglen") == "es"
    assert detect("Il y a un nid de poule dans la rue, c'est dangereux pour les vélos") == "fr"
    assert detect("路上有一个很大的坑") == "zh"
    assert detect("Blue Hill Ave") == "en"            # too short to tell: English
    assert detect("") == "en"


def test_declared_language_wins_unless_undetermined():
    assert detect("pothole on Dot Ave", "es") == "es"
    assert detect("Hay un bache en la calle de la esquina", "und") == "es"
    assert detect("pothole", "pt-BR") == "pt"

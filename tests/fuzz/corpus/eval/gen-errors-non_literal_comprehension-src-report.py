TAGS = ["Finance", "Daily"]

STAU_CONFIG = {
    "tags": [t.lower() for t in TAGS],
}

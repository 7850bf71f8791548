STAU_CONFIG = {
    "outputs": ["data/out/ok.csv", "../elsewhere.csv", "/tmp/report.csv", "data/../../x"],
}

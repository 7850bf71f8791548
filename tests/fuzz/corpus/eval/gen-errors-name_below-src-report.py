STAU_CONFIG = {
    "outputs": [OUTPUT],
}

OUTPUT = "data/out/report.csv"

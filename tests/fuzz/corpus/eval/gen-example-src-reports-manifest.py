"""Checksums of everything in data/out/, for whoever picks the files up.

Declares no main_func, so it runs as __main__."""
import hashlib
import json
import os

from shop.csvio import write_text

STAU_CONFIG = {
    "dependencies": [{"job": "reports.weekly", "max_lag": 1440}],
    "outputs": ["data/out/manifest.json"],
    "tags": ["reporting"],
}


def main(folder="data/out"):
    files = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name == "manifest.json" or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            files[name] = hashlib.sha256(f.read()).hexdigest()
    write_text(os.path.join(folder, "manifest.json"), json.dumps(files, indent=2) + "\n")
    print(f"{len(files)} files in the manifest")


if __name__ == "__main__":
    main()

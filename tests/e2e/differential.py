"""Differential test of stau's evaluator against Python itself.

Writes random job files whose STAU_CONFIG kwargs are random nestings of every
form a declaration may use (literals with odd escapes and prefixes, implicit
concatenation, names bound above, f-strings over them, + on strings, lists and
tuples, dict(...)), then compares what `stau list --json` read with what Python
gets by running the same module. Usage: differential.py STAU DIR SEED COUNT
"""
import json
import math
import random
import subprocess
import sys

STAU, DIR, SEED, COUNT = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(SEED)

ALPHABET = ["a", "Z", " ", "'", '"', "\\", "\n", "\t", "é", "€", "😀", "{", "}", "x", "0", "\x00"]


def rand_text(n):
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def str_literal(s):
    """A Python literal for s, in a random spelling."""
    kind = rng.randrange(4)
    if kind == 0:
        return repr(s)
    if kind == 1:  # double quotes, with escapes of our own choosing
        out = []
        for ch in s:
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch == "\n":
                out.append(rng.choice(["\\n", "\\x0a", "\\012", "\\u000a"]))
            elif ch == "\t":
                out.append(rng.choice(["\\t", "\\x09"]))
            elif ch == "\x00":
                out.append(rng.choice(["\\0", "\\x00"]))
            elif ord(ch) > 0xFFFF:
                out.append("\\U%08x" % ord(ch))
            elif ord(ch) > 127 and rng.random() < 0.5:
                out.append("\\u%04x" % ord(ch))
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    if kind == 2 and "\\" not in s and "'" not in s and "\n" not in s and "\x00" not in s:
        return rng.choice(["r", "R", "u"]) + "'" + s + "'"
    # implicit concatenation of two halves
    cut = rng.randrange(len(s) + 1)
    return "(" + repr(s[:cut]) + " " + repr(s[cut:]) + ")"


class Module:
    def __init__(self):
        self.constants = []  # (name, source)
        self.values = {}

    def name_for(self, source, value):
        name = "C%d" % len(self.constants)
        self.constants.append((name, source))
        self.values[name] = value
        return name


def rand_scalar(mod):
    k = rng.randrange(9)
    if k == 0:
        v = rng.randrange(-10**15, 10**15)
        spell = rng.choice([str(v), hex(v) if v >= 0 else str(v), oct(v) if v >= 0 else str(v),
                            f"{v:_}" if v >= 0 else str(v)])
        return spell, v
    if k == 1:
        v = rng.choice([0.5, 1e-7, 123.456, -2.25, 1e21, 3.0, 1.5e300, 0.1 + 0.2])
        return repr(v), v
    if k == 2:
        return rng.choice([("True", True), ("False", False), ("None", None)])
    if k == 3:
        s = rand_text(rng.randrange(0, 8))
        return str_literal(s), s
    if k == 4 and mod.values:  # a name bound above
        name = rng.choice(list(mod.values))
        return name, mod.values[name]
    if k == 5:  # an f-string over scalar names
        names = [n for n, v in mod.values.items() if v is None or isinstance(v, (str, int, float, bool))]
        if names:
            n1 = rng.choice(names)
            text = "".join(ch for ch in rand_text(3) if ch not in "{}\\'\"\n\x00")
            value = text + "{" + "}" + "-"
            src = "f'" + text + "{{}}-{" + n1 + "}'"
            return src, value + str(mod.values[n1])
    if k == 6:  # str + str
        a, b = rand_text(2), rand_text(3)
        return str_literal(a) + " + " + str_literal(b), a + b
    s = rand_text(rng.randrange(1, 5))
    return str_literal(s), s


def rand_value(mod, depth):
    if depth > 3 or rng.random() < 0.4:
        return rand_scalar(mod)
    k = rng.randrange(6)
    if k == 0:
        items = [rand_value(mod, depth + 1) for _ in range(rng.randrange(4))]
        return "[" + ", ".join(s for s, _ in items) + (", " if items and rng.random() < 0.3 else "") + "]", [v for _, v in items]
    if k == 1:
        items = [rand_value(mod, depth + 1) for _ in range(rng.randrange(1, 4))]
        return "(" + ", ".join(s for s, _ in items) + ",)", tuple(v for _, v in items)
    if k == 2:
        a = [rand_value(mod, depth + 1) for _ in range(2)]
        b = [rand_value(mod, depth + 1) for _ in range(2)]
        return ("[" + ", ".join(s for s, _ in a) + "] + [" + ", ".join(s for s, _ in b) + "]",
                [v for _, v in a] + [v for _, v in b])
    if k == 3:
        keys = ["k%d" % i for i in range(rng.randrange(4))]
        items = [(key, rand_value(mod, depth + 1)) for key in keys]
        return "dict(" + ", ".join(f"{key}={s}" for key, (s, _) in items) + ")", {key: v for key, (_, v) in items}
    if k == 4:
        keys = list(dict.fromkeys(rand_text(rng.randrange(1, 4)) for _ in range(rng.randrange(4))))
        items = [(key, rand_value(mod, depth + 1)) for key in keys]
        src = "{" + ", ".join(str_literal(key) + ": " + s for key, (s, _) in items) + "}"
        return src, {key: v for key, (_, v) in items}
    # bind it to a name and use the name
    src, value = rand_value(mod, depth + 1)
    return mod.name_for(src, value), value


def normalise(v):
    if isinstance(v, tuple):
        return [normalise(x) for x in v]
    if isinstance(v, list):
        return [normalise(x) for x in v]
    if isinstance(v, dict):
        return {k: normalise(x) for k, x in v.items()}
    return v


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and float(a) == float(b) and (isinstance(a, float) == isinstance(b, float))
    if type(a) != type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


import os

os.makedirs(DIR + "/src", exist_ok=True)
expected = {}
for i in range(COUNT):
    mod = Module()
    src, _ = rand_value(mod, 0)
    body = "\n".join(f"{n} = {s}" for n, s in mod.constants)
    text = "# -*- coding: utf-8 -*-\n" + body + "\nSTAU_CONFIG = {\"kwargs\": {\"v\": " + src + "}}\n"
    path = f"{DIR}/src/job{i}.py"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    namespace = {}
    exec(compile(text, path, "exec"), namespace)  # our own generated literals only
    expected[f"job{i}"] = normalise(namespace["STAU_CONFIG"]["kwargs"])

out = subprocess.run([STAU, "-C", DIR, "list", "--json"], capture_output=True, text=True)
if out.returncode != 0 or out.stderr:
    print("stau failed:", out.returncode, out.stderr[:2000])
    sys.exit(1)
got = {job["name"]: job["kwargs"] for job in json.loads(out.stdout)}
bad = 0
for name, want in expected.items():
    if name not in got or not same(got[name], want):
        bad += 1
        if bad <= 5:
            print(f"{name}: stau read {json.dumps(got.get(name))[:300]}\n   python has {json.dumps(want)[:300]}")
            print(open(f"{DIR}/src/{name}.py", encoding="utf-8").read()[:600])
print(f"{COUNT - bad} of {COUNT} declarations read as Python reads them")
sys.exit(1 if bad else 0)

"""Check stau's JSON output against README.md's "JSON output" section.

The README's tables are the one place the keys are written down: this reads them
(each "#### `NAME`" heading and the table under it is a shape; the table of types
names the enumerations) and checks a document against them:

    json_shapes.py README FILE SHAPE[|SHAPE...]    FILE holds one object of a shape
    json_shapes.py README FILE '[SHAPE|...]'       FILE holds an array of them
    json_shapes.py README FILE events              FILE holds serve's --json-log lines
    json_shapes.py README - enums ROOT             the enumerations are those of src/

An object must have exactly the keys of one of the shapes given (an `optional` key
may be missing), each of its type: a time is an ISO 8601 string with an offset
that datetime.fromisoformat reads, beside KEY_ms, the same instant in unix ms. The
file must be valid UTF-8. Prints each problem; exit status 1 when there is one.
With SEEN=path, the names of the shapes objects matched are appended to that file.
"""

import datetime
import json
import os
import re
import sys

problems = []


def problem(text):
    problems.append(text)


def read_section(readme):
    text = open(readme, encoding="utf-8").read()
    start = text.index("\n## JSON output\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def table_rows(lines, i):
    """The rows of the table starting at or after line i (cells, backquotes kept)."""
    while i < len(lines) and not lines[i].startswith("|"):
        if lines[i].startswith("#"):
            return [], i
        i += 1
    rows = []
    while i < len(lines) and lines[i].startswith("|"):
        cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
        rows.append(cells)
        i += 1
    return rows[2:], i  # past the header and the |---| line


def unquote(cell):
    return cell.strip().strip("`")


def parse(readme):
    lines = read_section(readme).split("\n")
    enums, shapes = {}, {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("| type | values |"):
            rows, i = table_rows(lines, i)
            for name, values in rows:
                enums[unquote(name)] = values
            continue
        if line.startswith("#### "):
            names = re.findall(r"`([^`]+)`", line)
            rows, i = table_rows(lines, i + 1)
            keys = {}
            for row in rows:
                key, type_ = unquote(row[0]), unquote(row[1])
                keys[key] = type_
            for name in names:
                shapes[name] = keys
            continue
        i += 1
    for name, values in enums.items():
        words = re.findall(r"`([^`]+)`", values)
        enums[name] = set(w for w in words if w not in enums)
        if "`status`" in values and name != "status":
            enums[name] |= set(re.findall(r"`([^`]+)`", enums_text(lines, "status")))
    return enums, shapes


def enums_text(lines, name):
    for line in lines:
        if line.startswith("| `%s` |" % name):
            return line.split("|")[2]
    return ""


def expand(shapes, name):
    """The keys of a shape: {key: (type, optional)}, `...other` rows included."""
    keys = {}
    for key, type_ in shapes[name].items():
        if key.startswith("..."):
            keys.update(expand(shapes, key[3:]))
            continue
        optional = type_.startswith("optional ")
        if optional:
            type_ = type_[len("optional "):]
        keys[key] = (type_, optional)
        base = type_.rstrip("?")
        if base == "time":
            keys[key + "_ms"] = ("int" + ("?" if type_.endswith("?") else ""), optional)
    return keys


class Checker:
    def __init__(self, enums, shapes):
        self.enums, self.shapes, self.seen = enums, shapes, []

    def check_type(self, value, type_, where):
        if type_.endswith("?"):
            if value is None:
                return True
            type_ = type_[:-1]
        if type_.startswith("[") and type_.endswith("]"):
            if not isinstance(value, list):
                return problem("%s: %r is no array" % (where, value))
            for n, item in enumerate(value):
                self.check_type(item, type_[1:-1], "%s[%d]" % (where, n))
            return True
        simple = {
            "string": lambda v: isinstance(v, str),
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "bool": lambda v: isinstance(v, bool),
            "object": lambda v: isinstance(v, dict),
            "time": lambda v: isinstance(v, str),
        }
        if type_ in simple:
            if not simple[type_](value):
                problem("%s: %r is no %s" % (where, value, type_))
            return True
        if type_ in self.enums:
            if value not in self.enums[type_]:
                problem("%s: %r is no %s (%s)" % (where, value, type_,
                                                  ", ".join(sorted(self.enums[type_]))))
            return True
        if type_ in self.shapes:
            return self.check_object(value, [type_], where)
        return problem("README: %s: unknown type %r" % (where, type_))

    def matching(self, value, names):
        """The shape among names whose keys value has (exactly), or None."""
        for name in names:
            keys = expand(self.shapes, name)
            required = {k for k, (t, optional) in keys.items() if not optional}
            if required <= set(value) <= set(keys):
                return name
        return None

    def check_object(self, value, names, where):
        if not isinstance(value, dict):
            return problem("%s: %r is no object" % (where, value))
        name = self.matching(value, names)
        if not name:
            keys = expand(self.shapes, names[0])
            return problem("%s: the keys are those of no %s: missing %s, not documented %s"
                           % (where, " or ".join(names),
                              sorted(k for k, (t, o) in keys.items() if not o and k not in value),
                              sorted(set(value) - set(keys))))
        self.seen.append(name)
        keys = expand(self.shapes, name)
        for key, (type_, optional) in keys.items():
            if key not in value:
                continue
            self.check_type(value[key], type_, "%s.%s" % (where, key))
            if type_.rstrip("?") == "time" and isinstance(value[key], str):
                self.check_time(value, key, where)
        return True

    def check_time(self, value, key, where):
        try:
            when = datetime.datetime.fromisoformat(value[key])
        except ValueError:
            return problem("%s.%s: %r is no ISO 8601 time" % (where, key, value[key]))
        if when.tzinfo is None:
            return problem("%s.%s: %r has no offset" % (where, key, value[key]))
        ms = value.get(key + "_ms")
        if not isinstance(ms, int) or int(when.timestamp()) != ms // 1000:
            problem("%s.%s: %r is not %s_ms (%r)" % (where, key, value[key], key, ms))


def check_enums(enums, root):
    """The enumerations the README lists are the names src/ writes."""
    def names(path, table):
        text = open(os.path.join(root, "src", path), encoding="utf-8").read()
        body = text[text.index(table):]
        body = body[:body.index("};")]
        return set(re.findall(r'= "([^"]+)"', body))
    want = {
        "status": names("store.c", "status_names[RUN_STATUS_COUNT]"),
        "reason-name": names("stale.c", "static const char *const names[]"),
    }
    for name, got in want.items():
        if enums.get(name) != got:
            problem("README's %s is %s; src/ has %s" % (name, sorted(enums.get(name, ())), sorted(got)))


def main():
    readme, path, spec = sys.argv[1], sys.argv[2], sys.argv[3]
    enums, shapes = parse(readme)
    checker = Checker(enums, shapes)
    if spec == "enums":
        check_enums(enums, sys.argv[4])
    else:
        raw = open(path, "rb").read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            problem("%s is not valid UTF-8: %s" % (path, e))
            text = raw.decode("utf-8", "replace")
        if spec == "events":
            for n, line in enumerate(text.splitlines(), 1):
                try:
                    o = json.loads(line)
                except ValueError:
                    problem("line %d is no JSON: %s" % (n, line))
                    continue
                event = o.get("event") if isinstance(o, dict) else None
                extra = "event:%s" % event
                merged = dict(shapes["event"])
                merged.update(shapes.get(extra, {}))
                shapes["event %s" % event] = merged
                before = len(checker.seen)
                checker.check_object(o, ["event %s" % event], "line %d (%s)" % (n, event))
                if len(checker.seen) > before:  # it matched: say which tables it used
                    checker.seen[before:] = ["event"] + ([extra] if extra in shapes else [])
        else:
            try:
                doc = json.loads(text)
            except ValueError as e:
                problem("%s is no JSON: %s" % (path, e))
                doc = None
            array = spec.startswith("[")
            names = spec.strip("[]").split("|")
            for name in names:
                if name not in shapes:
                    problem("README documents no shape %r" % name)
            if doc is not None and array:
                if not isinstance(doc, list):
                    problem("%s holds no array" % path)
                else:
                    for n, item in enumerate(doc):
                        checker.check_object(item, names, "[%d]" % n)
            elif doc is not None:
                checker.check_object(doc, names, "the object")
    if os.environ.get("SEEN"):
        with open(os.environ["SEEN"], "a") as f:
            f.write("".join(name + "\n" for name in checker.seen))
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

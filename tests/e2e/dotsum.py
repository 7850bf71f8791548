"""Summarise a graph Graphviz laid out: `dot -Tplain | python3 dotsum.py`.

Prints one sorted line per node, `node NAME [label=LABEL] [color=COLOR]` (label
only when it differs from the name, color only when not black), then one per
edge, `edge TAIL -> HEAD [label=LABEL]`. Names and labels are as Graphviz read
them, so this checks that stau's DOT quoting and escaping came through intact.
"""
import shlex
import sys

nodes, edges = [], []
for line in sys.stdin:
    f = shlex.split(line)
    if not f:
        continue
    if f[0] == "node":
        # node name x y width height label style shape color fillcolor
        name, label, color = f[1], f[6], f[9]
        text = "node " + name
        if label != name:
            text += " label=" + label
        if color != "black":
            text += " color=" + color
        nodes.append(text)
    elif f[0] == "edge":
        # edge tail head n x1 y1 .. xn yn [label xl yl] style color
        n = int(f[3])
        rest = f[4 + 2 * n:]
        text = "edge %s -> %s" % (f[1], f[2])
        if len(rest) == 5:
            text += " label=" + rest[0]
        edges.append(text)
for line in sorted(nodes) + sorted(edges):
    print(line)

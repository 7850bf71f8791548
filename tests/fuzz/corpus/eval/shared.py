A3 = "x"
A2 = [A3, A3]
A1 = [A2, A2] + [A2]
B = f"{A3}{A3}" + A3
STAU_CONFIG = {"kwargs": {"a": A1, "b": B}}

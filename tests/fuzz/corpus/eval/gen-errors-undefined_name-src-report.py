STAU_CONFIG = {"main_func": MAIN_FUNC}

raise RuntimeError("this helper file is broken on purpose")

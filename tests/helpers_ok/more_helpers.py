HELPERS = {"math.double": lambda x: 2 * x}

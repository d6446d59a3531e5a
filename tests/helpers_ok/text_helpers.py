def shout(text, times=1):
    return (text.upper() + "!") * times


def snakebridge_helpers():
    return {"text.shout": shout}

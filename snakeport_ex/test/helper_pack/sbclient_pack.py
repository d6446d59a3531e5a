"""A SnakeBridge-style helper pack for the SnakeBridgeClient contract tests."""

import re


def shout(text, suffix="!"):
    return text.upper() + suffix


def patterns():
    return [1, re.compile(r"\d+"), {"name": "email", "pattern": re.compile("@")}]


__snakebridge_helpers__ = {
    "pack.shout": shout,
    "pack.patterns": patterns,
}

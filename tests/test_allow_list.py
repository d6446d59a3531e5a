"""``--allow-module`` means what it says: the escape routes, through the real adapter.

Each route tries to run code outside the allowed modules (most would create
a marker file); each must be refused with an error naming the module or
attribute it stopped at, and the marker must not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Adapter


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "escaped"


def refused(running: Adapter, marker: Path, names: tuple[str, ...], *requests: dict[str, Any]) -> None:
    """Run ``requests`` in order until one fails; it must be refused by the allow-list, naming ``names``."""
    value: Any = None
    for request in requests:
        request = {key: (value if item == "<previous>" else item) for key, item in request.items()}
        status, value = running.call(**request)
        if status == "error":
            assert value["type"] in ("ModuleNotAllowedError", "AttributeNotAllowedError"), value
            assert any(name in value["message"] for name in names), value["message"]
            break
    else:
        pytest.fail(f"nothing was refused; last value {value!r}")
    assert not marker.exists(), "code outside the allowed modules ran"


def test_json_only_dotted_walk_into_sys_modules(marker: Path) -> None:
    running = Adapter("--allow-module", "json")
    refused(
        running,
        marker,
        ("'codecs'",),
        {"python_module": "json", "function": "codecs.sys.modules.__getitem__", "args": ["os"]},
        {"call_type": "method", "instance": "<previous>", "function": "system", "args": [f"touch {marker}"]},
    )
    assert running.close() == 0


def test_json_only_builtins_get_eval(marker: Path) -> None:
    running = Adapter("--allow-module", "json")
    refused(
        running,
        marker,
        ("__builtins__",),
        {"python_module": "json", "function": "__builtins__.get", "args": ["eval"]},
    )
    assert running.close() == 0


def test_json_only_codecs_open_writes_no_file(marker: Path) -> None:
    running = Adapter("--allow-module", "json")
    refused(
        running,
        marker,
        ("'codecs'",),
        {"python_module": "json", "function": "codecs.open", "args": [str(marker), "w"]},
    )
    refused(
        running,
        marker,
        ("'codecs'",),
        {"python_module": "codecs", "function": "open", "args": [str(marker), "w"]},
    )
    assert running.close() == 0


def test_posixpath_only_os_system_and_environ(marker: Path) -> None:
    running = Adapter("--allow-module", "posixpath")
    refused(
        running,
        marker,
        ("'os'",),
        {"python_module": "posixpath", "function": "os.system", "args": [f"touch {marker}"]},
    )
    refused(
        running,
        marker,
        ("'os'",),
        {"call_type": "module_attr", "python_module": "posixpath", "attr": "os.environ"},
    )
    assert running.close() == 0


def test_math_only_subclasses_walk(marker: Path) -> None:
    running = Adapter("--allow-module", "math")
    refused(
        running,
        marker,
        ("__class__",),
        {"python_module": "math", "function": "__class__.__base__.__subclasses__"},
    )
    refused(
        running,
        marker,
        ("__loader__",),
        {"call_type": "module_attr", "python_module": "math", "attr": "__loader__"},
    )
    refused(
        running,
        marker,
        ("__spec__",),
        {"call_type": "module_attr", "python_module": "math", "attr": "__spec__"},
    )
    refused(
        running,
        marker,
        ("__dict__",),
        {"call_type": "module_attr", "python_module": "math", "attr": "__dict__"},
    )
    assert running.close() == 0


def test_refs_lead_nowhere_either(marker: Path) -> None:
    running = Adapter("--allow-module", "sp_fixtures")
    # A method's function's globals, from a ref to an allowed object.
    box = running.ok(call_type="class", python_module="sp_fixtures", **{"class": "Box"}, args=[1])
    refused(
        running,
        marker,
        ("__globals__",),
        {"call_type": "get_attr", "instance": box, "attr": "get.__globals__"},
    )
    refused(
        running, marker, ("__class__",), {"call_type": "method", "instance": box, "function": "__class__"}
    )
    refused(running, marker, ("__dict__",), {"call_type": "get_attr", "instance": box, "attr": "__dict__"})
    # A generator's frame leads to its globals.
    gen = running.ok(python_module="sp_fixtures", function="counting", args=[3, "x"])
    refused(
        running,
        marker,
        ("gi_frame", "frame"),
        {"call_type": "get_attr", "instance": gen, "attr": "gi_frame.f_globals"},
    )
    refused(
        running, marker, ("gi_code", "code"), {"call_type": "get_attr", "instance": gen, "attr": "gi_code"}
    )
    # The module the allowed code imported; an evaluating builtin it exports.
    refused(
        running,
        marker,
        ("'os'",),
        {"python_module": "sp_fixtures", "function": "os.system", "args": [f"touch {marker}"]},
    )
    refused(running, marker, ("eval",), {"python_module": "sp_fixtures", "function": "EVAL", "args": ["1"]})
    # A module object handed out by allowed code is useless as a ref.
    refused(
        running,
        marker,
        ("'os'",),
        {"python_module": "sp_fixtures", "function": "give_module", "args": ["os"]},
        {"call_type": "method", "instance": "<previous>", "function": "system", "args": [f"touch {marker}"]},
    )
    # Not even setting an attribute of an allowed module.
    module = running.ok(python_module="sp_fixtures", function="give_module", args=["sp_fixtures"])
    refused(
        running,
        marker,
        ("setting 'EVAL' on module 'sp_fixtures'",),
        {"call_type": "set_attr", "instance": module, "attr": "EVAL", "value": 1},
    )
    assert running.close() == 0


def test_operator_attrgetter_cannot_hand_out_a_bound_dunder(marker: Path) -> None:
    running = Adapter("--allow-module", "operator")
    getter = running.ok(
        python_module="operator", function="attrgetter", args=["__class__.__base__.__subclasses__"]
    )
    subclasses = running.ok(call_type="method", instance=getter, function="__call__", args=[1])
    refused(
        running,
        marker,
        ("__subclasses__",),
        {"call_type": "method", "instance": subclasses, "function": "__call__"},
    )
    assert running.close() == 0


def test_evaluating_builtins_are_refused_unless_builtins_is_allowed(marker: Path) -> None:
    running = Adapter("--allow-module", "io")
    refused(
        running, marker, ("open",), {"python_module": "io", "function": "open", "args": [str(marker), "w"]}
    )
    refused(
        running, marker, ("'builtins'",), {"python_module": "builtins", "function": "eval", "args": ["1"]}
    )
    assert running.close() == 0
    running = Adapter("--allow-module", "builtins")
    assert running.ok(python_module="builtins", function="eval", args=["1 + 1"]) == 2
    assert running.close() == 0


def test_allowed_code_still_works(marker: Path) -> None:
    running = Adapter("--allow-module", "json", "--allow-module", "collections", "--allow-module", "operator")
    assert running.ok(python_module="json", function="loads", args=['{"a": [1, 2]}']) == {"a": [1, 2]}
    assert running.ok(python_module="json.decoder", function="scanstring", args=['"abc"', 1]) == ("abc", 5)
    decoder = running.ok(call_type="class", python_module="json", **{"class": "JSONDecoder"})
    assert running.ok(call_type="method", instance=decoder, function="decode", args=["[1]"]) == [1]
    counter = running.ok(call_type="class", python_module="collections", **{"class": "Counter"}, args=["aab"])
    assert running.ok(call_type="method", instance=counter, function="most_common", args=[1]) == [("a", 2)]
    assert running.ok(call_type="method", instance=counter, function="__len__") == 2
    assert running.ok(call_type="method", instance=counter, function="__getitem__", args=["a"]) == 2
    assert running.ok(python_module="operator", function="add", args=[1, 2]) == 3  # _operator.add
    assert running.ok(call_type="module_attr", python_module="json", attr="__version__")
    assert running.close() == 0

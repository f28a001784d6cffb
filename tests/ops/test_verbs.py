"""Every verb owns its code: one signature with its defaults, and a runnable example."""

import inspect

import pytest

import streamlearn as sl

VERBS = {
    "decode.json": (sl.decode.json, "streamlearn.decode"),
    "decode.raw": (sl.decode.raw, "streamlearn.decode"),
    "window.timer": (sl.window.timer, "streamlearn.window"),
    "map": (sl.map, "streamlearn.ops"),
    "filter": (sl.filter, "streamlearn.ops"),
    "select": (sl.select, "streamlearn.ops"),
    "cast": (sl.cast, "streamlearn.ops"),
    "sql": (sl.sql, "streamlearn.ops"),
    "map_records": (sl.map_records, "streamlearn.ops"),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_verb_lives_in_its_package_with_a_signature_and_an_example(verb):
    fn, package = VERBS[verb]
    assert fn.__module__.startswith(package + "."), fn.__module__
    doc = inspect.getdoc(fn) or ""
    assert "Parameters" in doc
    assert ">>>" in doc
    assert "name" in inspect.signature(fn).parameters


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_operator_classes_have_no_defaults_of_their_own(verb):
    fn, _ = VERBS[verb]
    cls = inspect.signature(fn).return_annotation
    cls = getattr(inspect.getmodule(fn), cls) if isinstance(cls, str) else cls
    own = {k: p for k, p in inspect.signature(cls).parameters.items() if k != "name"}
    assert all(p.default is inspect.Parameter.empty for p in own.values()), own


def test_window_defaults_are_written_once():
    params = inspect.signature(sl.window.timer).parameters
    assert params["seconds"].default == 1.0 and params["max_rows"].default == 100_000
    op = sl.window.timer()
    assert (op.seconds, op.max_rows) == (1.0, 100_000)
    assert type(op).__name__ == "ProcessingTimeTumblingWindow"


def test_root_verbs_are_reexported_not_defined_in_the_root():
    import streamlearn

    src = inspect.getsource(streamlearn)
    for name in ("map", "filter", "select", "cast", "sql", "map_records"):
        assert f"def {name}(" not in src

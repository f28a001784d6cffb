"""A pipeline module for the CLI tests (``streamlearn run`` loads it by path)."""

import streamlearn as sl

pipeline = (
    sl.read.from_kafka("cli-test-input")
    | sl.decode.json({"x": "float"})
    | sl.write.to_kafka("cli-test-output")
)

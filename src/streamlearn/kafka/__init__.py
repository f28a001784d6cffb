"""Everything that talks to a Kafka cluster: client settings, admin, the batch reader,
record access, producing with back-off, and the local development broker.

This is the only package (with :mod:`streamlearn.runtime`) that imports confluent-kafka;
its modules are imported where they are used, so ``import streamlearn`` and
``Pipeline.apply(df)`` never load librdkafka.
"""

import numpy as np
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError, NotFittedError

CENTERS = np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]])


def points(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 3, n)
    x = CENTERS[lab] + rng.normal(0, 0.5, (n, 2))
    return pl.DataFrame({"a": x[:, 0], "b": x[:, 1]})


def run_in_batches(op, df, sizes):
    ctx = sl.Context()
    step = op.build()
    outs, start = [], 0
    for size in sizes:
        b = Batch.from_frame(df.slice(start, size), first_offset=start)
        start += size
        out = step.process(b, ctx)
        if out is not None:
            outs.append(out.data)
    return pl.concat(outs), step


def test_recovers_centroids_and_labels_every_row():
    op = sl.ml.sequential_k_means(["a", "b"], k=3, buffer_size=300, seed=1)
    out = op.apply(points())
    assert out.height == 3000 and out["cluster"].null_count() == 0
    step = op.build()
    step.process(Batch.from_frame(points()), sl.Context())
    found = np.sort(step.centroids_, axis=0)
    assert np.allclose(found, np.sort(CENTERS, axis=0), atol=0.1)


@pytest.mark.parametrize("forgetful", [False, True])
def test_result_does_not_depend_on_batch_boundaries(forgetful):
    op = sl.ml.sequential_k_means(
        ["a", "b"], k=3, buffer_size=250, update_every=100, forgetful=forgetful, alpha=0.05
    )
    df = points(2000)
    a, sa = run_in_batches(op, df, [2000])
    b, sb = run_in_batches(op, df, [7, 300, 1, 999, 693])
    assert a.equals(b)
    assert np.allclose(sa.centroids_, sb.centroids_, rtol=0, atol=1e-12)


def test_per_record_update_matches_textbook_sequential_kmeans():
    c0 = [[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]]
    op = sl.ml.sequential_k_means(["a", "b"], k=3, centroids=c0, update_every=1)
    df = points(500)
    out, step = run_in_batches(op, df, [500])
    c, n = np.array(c0), np.zeros(3)
    for (x, y), lab in zip(df.rows(), out["cluster"].to_list(), strict=True):
        j = int(np.argmin(((c - [x, y]) ** 2).sum(1)))
        assert j == lab
        n[j] += 1
        c[j] += (np.array([x, y]) - c[j]) / n[j]
    assert np.allclose(step.centroids_, c)


def test_forgetful_decay_per_record():
    c0 = [[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]]
    op = sl.ml.sequential_k_means(
        ["a", "b"], k=3, centroids=c0, update_every=1, forgetful=True, alpha=0.2
    )
    df = points(200)
    _, step = run_in_batches(op, df, [200])
    c = np.array(c0)
    for x, y in df.rows():
        j = int(np.argmin(((c - [x, y]) ** 2).sum(1)))
        c[j] += 0.2 * (np.array([x, y]) - c[j])
    assert np.allclose(step.centroids_, c)


def test_restart_from_snapshot_and_resume_offset_is_exact():
    """What the runtime does: snapshot, then resume at the oldest held row (re-read)."""
    op = sl.ml.sequential_k_means(["a", "b"], k=3, buffer_size=500, update_every=64)
    df = points(1500)
    whole, _ = run_in_batches(op, df, [1500])
    ctx = sl.Context()
    outs, step, pos, sizes = [], op.build(), 0, iter([200, 333, 400, 567, 567, 567, 567])
    while pos < 1500:
        size = next(sizes)
        batch = Batch.from_frame(df.slice(pos, size), first_offset=pos)
        out = step.process(batch, ctx)
        pos += batch.height
        if out is not None:
            outs.append(out.data)
        held = step.pending()
        resume = int(min(b.offsets().min() for b in held)) if held else pos
        blob = step.snapshot()
        step = op.build()
        step.restore(blob)
        pos = resume  # held rows are read again
    assert pl.concat(outs).equals(whole)


def test_bad_rows_are_dead_lettered_and_flush_fits_a_short_stream():
    ctx = sl.Context()
    df = pl.DataFrame({"a": [0.0, None, 10.0, float("nan"), 20.0], "b": [0.0, 1.0, 10.0, 1.0, 0.0]})
    out = sl.ml.sequential_k_means(["a", "b"], k=3, buffer_size=100).apply(df, ctx=ctx)
    assert out.height == 3 and ctx.dead_lettered == 2


def test_bad_configuration_is_refused():
    with pytest.raises(ConfigError):
        sl.ml.sequential_k_means([], k=3)
    with pytest.raises(ConfigError):
        sl.ml.sequential_k_means(["a"], k=3, distance="manhattan")
    with pytest.raises(ConfigError):
        sl.ml.sequential_k_means(["a"], k=2, centroids=[[1.0]])


# -- the model on its own (offline, like an estimator) --------------------------------
def test_model_offline_equals_the_operator():
    """SequentialKMeans on arrays gives the operator's clusters and centroids."""
    df = points()
    x = df.select("a", "b").to_numpy()
    op = sl.ml.sequential_k_means(["a", "b"], k=3, buffer_size=100, update_every=10)
    out = op.apply(df, batch_size=37)
    model = sl.ml.SequentialKMeans(k=3, buffer_size=100, update_every=10)
    labels = np.concatenate(
        [model.learn_predict_batch(x[s : s + 50])[0] for s in range(0, len(x), 50)]
    )
    assert (labels[100:] == out["cluster"].to_numpy()[100:]).all()
    step = sl.Pipeline.of(op).build().steps[0]
    step.process(Batch.from_frame(df), sl.Context())
    np.testing.assert_allclose(model.centroids_, step.centroids_, atol=1e-12)
    np.testing.assert_array_equal(model.predict_batch(x), step.model.predict_batch(x))


def test_model_snapshot_restore_and_clone():
    x = points().select("a", "b").to_numpy()
    model = sl.ml.SequentialKMeans(k=3, buffer_size=100, update_every=7).learn_batch(x[:250])
    twin = model.clone()
    assert not twin.fitted and twin.get_params() == model.get_params()
    twin.restore(model.snapshot())
    model.learn_batch(x[250:])
    twin.learn_batch(x[250:])
    np.testing.assert_array_equal(model.centroids_, twin.centroids_)
    half = sl.ml.SequentialKMeans(k=3, buffer_size=100).learn_batch(x[:40])  # mid warm-up
    again = half.clone()
    again.restore(half.snapshot())
    assert again.learn_batch(x[40:]).fitted


def test_model_documents_and_checks_its_choices():
    import pydoc

    text = pydoc.render_doc(sl.ml.SequentialKMeans)
    assert "e2dist" in text and "k-means++" in text and "random" in text
    with pytest.raises(ConfigError, match="distance"):
        sl.ml.SequentialKMeans(distance="cosine").learn_batch(np.zeros((5, 2)))
    with pytest.raises(NotFittedError):
        sl.ml.SequentialKMeans().predict_batch(np.zeros((1, 2)))


def test_scaler_model_offline_equals_the_operator():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (300, 2))
    out = sl.ml.standard_scaler(["a", "b"]).apply(
        pl.DataFrame({"a": x[:, 0], "b": x[:, 1]}), batch_size=100
    )
    model = sl.ml.StandardScaler()
    mine = np.concatenate([model.learn_transform_batch(x[s : s + 100]) for s in (0, 100, 200)])
    np.testing.assert_allclose(mine, out.select("a", "b").to_numpy())
    np.testing.assert_allclose(model.mean_, x.mean(axis=0))
    twin = sl.ml.StandardScaler()
    twin.restore(model.snapshot())
    np.testing.assert_array_equal(twin.transform_batch(x), model.transform_batch(x))
    assert model.tags().role == "transformer"
    assert sl.ml.SequentialKMeans().tags().role == "clusterer"

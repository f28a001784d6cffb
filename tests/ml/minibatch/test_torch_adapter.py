"""The torch adapter's state through the state codec: optimizer state dicts (integer
keys, tuples, 0-d step tensors) come back exactly as load_state_dict wants them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from streamlearn.core.errors import StateError
from streamlearn.core.state import decode_state, encode_state
from streamlearn.ml.minibatch.torch_adapter import TorchAdapter
from tests.ml.minibatch.models import torch_net

X = np.random.default_rng(0).normal(size=(32, 3))
Y = (X[:, 0] > 0).astype(np.int64)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.9)),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: torch.optim.AdamW(p, lr=0.01),
    ],
)
def test_state_round_trip_through_the_codec(make):
    a = TorchAdapter(torch_net(), optimizer=make, loss=None, seed=3)
    a.fit(X, Y)
    values, arrays = decode_state(encode_state(*a.state()))
    b = TorchAdapter(torch_net(), optimizer=make, loss=None, seed=3)
    b.load(values, arrays)
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sa["state"].keys() == sb["state"].keys() and sa["state"]
    for k in sa["state"]:
        for name, t in sa["state"][k].items():
            assert torch.equal(t, sb["state"][k][name]), (k, name)
            assert t.shape == sb["state"][k][name].shape
    a.fit(X, Y)
    b.fit(X, Y)
    for p, q in zip(a.module.parameters(), b.module.parameters(), strict=True):
        assert torch.equal(p, q)


def test_an_optimizer_instance_is_rebuilt_on_the_copy():
    net = torch_net()
    a = TorchAdapter(net, optimizer=torch.optim.SGD(net.parameters(), lr=0.3), loss=None, seed=0)
    assert a.optimizer.defaults["lr"] == 0.3
    assert a.optimizer.param_groups[0]["params"][0] is next(a.module.parameters())


def test_a_snapshot_of_another_network_is_refused():
    a = TorchAdapter(torch_net(), optimizer=None, loss=None, seed=0)
    a.fit(X, Y)
    other = TorchAdapter(torch_net(out=3), optimizer=None, loss=None, seed=0)
    with pytest.raises(StateError, match="does not fit this torch model"):
        other.load(*a.state())

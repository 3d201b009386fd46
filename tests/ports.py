"""What the port tests share: one program, written against torch's API, run by torch and by tg from the same
weights in float64, its results compared."""
import numpy as np


def rng(seed=0):
    """The numpy generator a port draws its data and noise from (both libraries get the same draws)."""
    return np.random.default_rng(seed)


def grads(m):
    """A module's parameters' gradients by name (those that have one)."""
    return {k: p.grad for k, p in m.named_parameters() if p.grad is not None}


def state(m):
    """A module's state dict as numpy arrays (copies)."""
    return {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


def load(T, m, sd):
    """m with the state dict sd (numpy arrays) loaded, in the library T (torch or tg)."""
    m.load_state_dict({k: T.tensor(v) for k, v in sd.items()})
    return m


def plain(x):
    """Nested lists/tuples/dicts of tensors (sparse ones made dense), numbers and arrays as numpy."""
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if hasattr(x, "detach"):
        if getattr(x, "is_sparse", False):
            x = x.to_dense()
        return x.detach().numpy()
    return np.asarray(x)


def compare(ours, theirs, tol=1e-10, where="result", *, rtol=None):
    """ours and theirs (nested lists/dicts of tensors, numbers, arrays) agree: same structure, shapes and values to
    tol relative to 1 + max |theirs| over its finite values; booleans and integers exactly.
    rtol given: each value instead to rtol relative to its own (numpy's assert_allclose) plus tol absolute."""
    a, b = plain(ours), plain(theirs)
    if isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, tol, f"{where}[{i}]", rtol=rtol)
        return
    if isinstance(b, dict):
        assert isinstance(a, dict) and list(a) == list(b), (where, list(a), list(b))
        for k in b:
            compare(a[k], b[k], tol, f"{where}.{k}", rtol=rtol)
        return
    assert a.shape == b.shape, (where, a.shape, b.shape)
    if b.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif rtol is not None:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=tol, err_msg=where)
    else:
        scale = np.abs(b[np.isfinite(b)]).max(initial=0)  # (-inf where a filter masked logits)
        np.testing.assert_allclose(a, b, rtol=0, atol=tol * (1 + scale), err_msg=where)

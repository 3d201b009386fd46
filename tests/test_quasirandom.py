"""tg.quasirandom.SobolEngine, torch.quasirandom's: unscrambled points are torch's bit for bit (any dimension packed
here, through draw / fast_forward / reset / draw_base2), the engine's state (quasi, num_generated) follows torch's,
torch's errors and repr; scrambled points are a (0, m, 2)-net like torch's, repeatable by seed (tg's draws, not
torch's)."""
import numpy as np
import pytest

import tinygrad_rnn as tg


@pytest.mark.parametrize("dim", [1, 2, 7, 1111])
def test_sobol_points_are_torchs(dim):
    torch = pytest.importorskip("torch")
    ours, theirs = tg.quasirandom.SobolEngine(dim), torch.quasirandom.SobolEngine(dim)
    for what, n in [("draw", 1), ("draw", 7), ("ff", 5), ("draw", 3), ("ff", 0), ("draw", 1), ("draw", 40),
                    ("reset", 0), ("ff", 9), ("draw", 2)]:
        if what == "draw":
            a, b = ours.draw(n, dtype=tg.float64), theirs.draw(n, dtype=torch.float64)
            assert a.dtype == tg.float64 and a.shape == tuple(b.shape)
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{dim} {what} {n}")
        elif what == "ff":
            assert ours.fast_forward(n) is ours and theirs.fast_forward(n) is theirs
        else:
            ours.reset(), theirs.reset()
        np.testing.assert_array_equal(ours.quasi.numpy(), theirs.quasi.numpy())
        assert ours.num_generated == theirs.num_generated
    np.testing.assert_array_equal(ours.sobolstate.numpy(), theirs.sobolstate.numpy())
    assert ours.draw(2).dtype == tg.float32  # (the default dtype)


def test_sobol_draw_base2_out_repr_and_errors():
    torch = pytest.importorskip("torch")
    ours, theirs = tg.quasirandom.SobolEngine(3), torch.quasirandom.SobolEngine(3)
    np.testing.assert_array_equal(ours.draw_base2(3).numpy(), theirs.draw_base2(3).numpy())
    with pytest.raises(ValueError) as e:
        ours.draw_base2(1)
    with pytest.raises(ValueError, match="^" + str(e.value).replace("(", r"\(").replace(")", r"\)")
                       .replace("+", r"\+").replace(".", r"\.").replace("*", r"\*") + "$"):
        theirs.draw_base2(1)
    out = tg.empty(0)
    assert ours.reset().draw(4, out=out) is out and out.shape == (4, 3)
    for args in [(3,), (3, True), (3, True, 7), (2, False, 1)]:
        assert repr(tg.quasirandom.SobolEngine(*args)) == repr(torch.quasirandom.SobolEngine(*args))
    for bad in (0, 21202):
        with pytest.raises(ValueError, match=r"^Supported range of dimensionality for SobolEngine is \[1, 21201\]$"):
            tg.quasirandom.SobolEngine(bad)
    with pytest.raises(ValueError, match="dimension 1112 is beyond the 1111 dimensions"):
        tg.quasirandom.SobolEngine(1112)


def test_sobol_scrambled_is_a_net_repeatable_by_seed():
    a = tg.quasirandom.SobolEngine(2, scramble=True, seed=5).draw(1024, dtype=tg.float64).numpy()
    b = tg.quasirandom.SobolEngine(2, scramble=True, seed=5).draw(1024, dtype=tg.float64).numpy()
    c = tg.quasirandom.SobolEngine(2, scramble=True, seed=6).draw(1024, dtype=tg.float64).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and ((a >= 0) & (a < 1)).all()
    for k in range(11):  # (every elementary interval of volume 1/1024 holds one point: a (0, 10, 2)-net)
        cells = set(map(tuple, np.floor(a * [2 ** k, 2 ** (10 - k)]).astype(int)))
        assert len(cells) == 1024
    assert len(np.unique(a[:, 0])) == 1024 and a[0].any()  # (the shift moves the first point off 0)

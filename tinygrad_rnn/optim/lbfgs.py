"""L-BFGS with an optional strong-Wolfe line search, like torch.optim.LBFGS (after minFunc)."""
from __future__ import annotations

import functools
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

from .. import backend
from ..tensor import Tensor, complex_ok
from .optimizer import Optimizer, ParamsT, _real_pairs, check_int, nonneg

Closure = Callable[[], Any]


class LBFGS(Optimizer):
    """Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4/7.5) over all parameters as one flat vector x.

    Each ``step(closure)`` runs up to max_iter iterations (max_eval closure calls): the direction is
    d = -H g, H applied to the gradient g by the two-loop recursion over the last history_size pairs
    s = x_{k+1} - x_k, y = g_{k+1} - g_k (a pair is kept only if y's > 1e-10), H_0 = y's / y'y; the first
    iteration ever takes d = -g with step t = min(1, 1 / |g|_1) lr, later ones t = lr, then x += t d
    (line_search_fn=None), or t from a strong-Wolfe line search (c1 = 1e-4, c2 = 0.9) started at that t.
    It stops at max|g| <= tolerance_grad, at g'd > -tolerance_change, or when max|t d| or the change in the
    loss falls below tolerance_change. The closure clears the gradients, computes the loss, calls backward and
    returns the loss; step returns its first value. One parameter group, on one device; the state (torch's
    keys: 'd', 't', 'old_dirs', 'old_stps', 'ro', 'H_diag', 'prev_flat_grad', 'prev_loss', 'al', 'n_iter',
    'func_evals', of torch's types: Tensors but for t, prev_loss, the counts and H_diag's first 1) lives under
    the first parameter. A Tensor lr is read as its value: torch's keeps that tensor as 't', so a scheduler filling
    it in place changes the last step's t that the next step's s = t d uses."""

    _scalar_state = ("ro", "al")  # (numbers in these lists, from older saves, load as 0-d Tensors)

    def __init__(self, params: ParamsT, lr: float = 1, max_iter: int = 20, max_eval: Optional[int] = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: Optional[str] = None) -> None:
        check_int("LBFGS", "max_iter", max_iter, 1)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        devices = sorted({p.device for p in self._params})
        if len(devices) > 1:
            raise ValueError(f"LBFGS: all parameters must be on one device, got parameters on {devices}")

    def _check_group(self, group: Dict[str, Any]) -> None:
        nonneg("LBFGS", group, "lr", "tolerance_grad", "tolerance_change")
        for name in ("max_iter", "max_eval", "history_size"):
            check_int("LBFGS", name, group[name], 1)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {group['line_search_fn']!r}")

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """As Optimizer's, but only once: LBFGS has a single parameter group (as torch's)."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): pass all parameters "
                             "in one group")
        super().add_param_group(param_group)

    @property
    def _params(self) -> List[Tensor]:
        return self.param_groups[0]["params"]

    def _state_shape(self, p: Tensor, key: str) -> Tuple[int, ...]:
        return (sum(q.numel() * (2 if q.dtype.kind == "c" else 1) for q in self._params),)

    # ------------------------------------------------------------------ the flat vector
    def _flat_grad(self) -> Any:
        """Every parameter's gradient, flattened and joined (zeros for a parameter without one); a complex one as
        its real and imaginary parts, as torch's (view_as_real), so the vector is real."""
        xp = backend.xp_of(self._params[0].array)
        views = []
        for p in self._params:
            if p.grad is None:
                views.append(xp.zeros(p.numel() * (2 if p.dtype.kind == "c" else 1), dtype=p.array.real.dtype))
                continue
            if p.grad.shape != p.shape:
                raise ValueError(f"LBFGS.step: gradient shape {p.grad.shape} does not match parameter shape {p.shape}")
            g = p.grad.to_dense().array if p.grad.is_sparse else p.grad.array  # (a sparse one dense, as torch's)
            views.append((_real_pairs(g) if g.dtype.kind == "c" else g).reshape(-1))
        return xp.concatenate(views)

    def _add(self, t: float, d: Any) -> None:
        """x += t d, in place."""
        offset = 0
        for p in self._params:
            x = _real_pairs(p.array) if p.dtype.kind == "c" else p.array
            n = x.size
            x += t * d[offset:offset + n].reshape(x.shape)
            p._bump_version()
            offset += n

    def _set(self, values: List[Any]) -> None:
        for p, v in zip(self._params, values):
            p.array[...] = v
            p._bump_version()

    def _evaluate(self, closure: Closure) -> Tuple[Any, float, Any]:
        """(closure's value, it as a float, the flat gradient) at the current parameters."""
        loss = self._closure_loss(closure)
        return loss, float(loss), self._flat_grad()

    def _directional_evaluate(self, closure: Closure, x: List[Any], t: float, d: Any) -> Tuple[float, Any]:
        """(loss, flat gradient) at x + t d; the parameters are put back to x."""
        self._add(t, d)
        _, loss, flat_grad = self._evaluate(closure)
        self._set(x)
        return loss, flat_grad

    # ------------------------------------------------------------------ the step
    def step(self, closure: Optional[Closure] = None) -> Any:  # type: ignore[override]
        """Run up to max_iter L-BFGS iterations; returns the closure's value at the starting point."""
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that clears the gradients, computes the loss, calls "
                            "backward and returns the loss: optimizer.step(closure)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        xp = backend.xp_of(self._params[0].array)

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss, loss, flat_grad = self._evaluate(closure)
        current_evals = 1
        state["func_evals"] += 1
        if float(xp.abs(flat_grad).max()) <= tolerance_grad:
            return orig_loss

        # (the state holds torch's: Tensors for d, prev_flat_grad and the history (old_dirs, old_stps, ro, al: its
        # entries made once each), H_diag the int 1 until a pair is kept, then a 0-d Tensor; t and prev_loss numbers)
        d, t = state.get("d"), state.get("t")
        d, t = (None if d is None else d.array), (float(t) if isinstance(t, Tensor) else t)
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        if prev_flat_grad is not None:
            prev_flat_grad = prev_flat_grad.array
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, H_diag = [], [], [], 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == group["history_size"]:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(Tensor._make(y))
                    old_stps.append(Tensor._make(s))
                    ro.append(Tensor._make(xp.asarray(1.0 / ys, dtype=y.dtype)))
                    H_diag = Tensor._make(xp.asarray(ys / float(y @ y), dtype=y.dtype))
                al = state.setdefault("al", [None] * group["history_size"])
                d = _two_loop(-flat_grad, old_dirs, old_stps, ro, H_diag, al)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss
            t = (min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr if state["n_iter"] == 1
                 else lr if isinstance(group["lr"], Tensor) else group["lr"])  # (an int lr stays one, as torch's t)
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x_init = [p.array.copy() for p in self._params]
                obj_func = functools.partial(self._directional_evaluate, closure, x_init, d=d)  # (loss, grad) at t
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add(t, d)
                opt_cond = float(xp.abs(flat_grad).max()) <= tolerance_grad
            else:
                self._add(t, d)
                if n_iter != max_iter:  # (the last iteration's point is evaluated by the next step's closure)
                    _, loss, flat_grad = self._evaluate(closure)
                    opt_cond = float(xp.abs(flat_grad).max()) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float(xp.abs(d * t).max()) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        prev = state.get("prev_flat_grad")
        state.update(d=Tensor._make(d), t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev if prev is not None and prev.array is prev_flat_grad
                     else Tensor._make(prev_flat_grad), prev_loss=prev_loss)
        return orig_loss


def _two_loop(q: Any, old_dirs: List[Tensor], old_stps: List[Tensor], ro: List[Tensor], H_diag: Any,
              al: List[Any]) -> Any:
    """H q by the two-loop recursion (Nocedal & Wright, Algorithm 7.4) over the pairs (s, y) = (old_stps,
    old_dirs), ro = 1 / y's, H_0 = H_diag I; q (here -g) is overwritten, ``al`` holds the alphas (0-d Tensors in
    q's dtype, made once, as torch's: their values rounded to it)."""
    xp = backend.xp_of(q)
    alphas = []
    for i in range(len(old_dirs) - 1, -1, -1):
        a = al[i]
        if a is None:
            a = al[i] = Tensor._make(xp.zeros((), dtype=q.dtype))
        a.array[...] = float(old_stps[i].array @ q) * float(ro[i].array)
        alphas.append(float(a.array))
        q -= alphas[-1] * old_dirs[i].array
    r = q * (H_diag.array if isinstance(H_diag, Tensor) else H_diag)
    for i in range(len(old_dirs)):
        be_i = float(q.dtype.type(float(old_dirs[i].array @ r) * float(ro[i].array)))
        r += (alphas[len(old_dirs) - 1 - i] - be_i) * old_stps[i].array
    return r


def _cubic_interpolate(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                       bounds: Optional[Tuple[float, float]] = None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to bounds (default
    [min(x1, x2), max(x1, x2)]); the middle of the bounds where the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    if x1 == x2:
        return (lo + hi) / 2
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if not d2_square >= 0:
        return (lo + hi) / 2
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, lo), hi)


def _strong_wolfe(obj_func: Callable[[float], Tuple[float, Any]], t: float, d: Any, f: float, g: Any, gtd: float,
                  c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> Tuple[float, Any, float, int]:
    """A step t along d satisfying the strong Wolfe conditions f(t) <= f + c1 t g'd and |g(t)'d| <= c2 |g'd|
    (Nocedal & Wright, Algorithms 3.5 and 3.6: bracket, then zoom by cubic interpolation), as torch's port of
    minFunc's; returns (f(t), g(t), t, evaluations). After max_ls evaluations it returns the best point found.
    The 'tolerance_change' defaults to 1e-9 as torch's, whatever LBFGS's tolerance_change is."""
    d_norm = float(abs(d).max())
    g = g.copy()
    f_new, g_new = obj_func(t)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(t)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point satisfies the criteria
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a t too close to an end of the bracket, twice in a row or outside it, moves 10% of the bracket inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(t)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


# step calls the closure, whose complex loss its own ops judge, and moves complex parameters through their real and
# imaginary parts (see tensor.complex_check)
for _fn in (LBFGS.__dict__["step"].__wrapped__, LBFGS._evaluate, LBFGS._directional_evaluate, _strong_wolfe):
    complex_ok(_fn)
del _fn

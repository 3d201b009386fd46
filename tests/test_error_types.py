"""Misuse raises the exception type torch 2.13 raises, so ported code that catches torch's type (``except
RuntimeError:``, ``pytest.raises(RuntimeError)``) keeps working; the type raised here before (a ValueError, TypeError
or IndexError) stays a base class, so code and tests that catch it keep working too.

Each case is one call made with either library (``m`` is torch or tinygrad_rnn). Where torch is installed, the type
torch raises is found by running the case, and ours must be an instance of it (of its nearest built-in base: torch's
``_LinAlgError`` is a RuntimeError); the name recorded beside each case, checked against torch 2.13 here, is the one
asserted without torch.
"""
import builtins
import io
import pickle
import warnings

import pytest

import tinygrad_rnn as tg

try:
    import torch
except ImportError:  # (the recorded names are checked instead)
    torch = None


def _t(m, d, *shape, **kw):
    return m.ones(*shape, device=d, **kw)


def _ints(m, d, *values):
    return m.tensor(list(values), device=d)


def _leaf(m, d, *shape):
    return m.ones(*shape, device=d, requires_grad=True)


def _setitem(x, index, value):
    x[index] = value


def _backward_twice(m, d):
    y = (_leaf(m, d, 3) * _leaf(m, d, 3)).sum()
    y.backward()
    y.backward()


def _hook_changes_shape(m, d):
    y = _leaf(m, d, 3) * 2
    y.register_hook(lambda g: m.ones(4, device=d))
    y.sum().backward()


def _set_grad(x, g):
    x.grad = g


def _lstm(m, d, x_shape, hx_shapes=None):
    lstm = m.nn.LSTM(3, 4).to(d)
    x = _t(m, d, *x_shape)
    return lstm(x) if hx_shapes is None else lstm(x, tuple(m.zeros(*s, device=d) for s in hx_shapes))


def _load_state(m, state):
    m.nn.Linear(3, 2).load_state_dict(state(m))


def _truncated_load(m):
    buf = io.BytesIO()
    m.save({"w": m.ones(3)}, buf)
    m.load(io.BytesIO(buf.getvalue()[:len(buf.getvalue()) // 2]))


def _sgd(m, *params, **options):
    return m.optim.SGD(list(params) or [m.nn.Parameter(m.ones(3))], **options)


def _load_groups_twice(m):
    opt = _sgd(m, lr=0.1)
    state = opt.state_dict()
    state["param_groups"] = state["param_groups"] * 2
    opt.load_state_dict(state)


# (name, call, the type torch raises, the type raised here before)
TENSOR_OPS = [
    ("item_of_many", lambda m, d: _t(m, d, 3).item(), "RuntimeError", ValueError),
    ("bool_of_many", lambda m, d: bool(_t(m, d, 3)), "RuntimeError", ValueError),
    ("matmul_inner", lambda m, d: _t(m, d, 3, 4) @ _t(m, d, 5, 2), "RuntimeError", ValueError),
    ("matmul_0d", lambda m, d: m.tensor(1.0, device=d) @ _t(m, d, 3), "RuntimeError", ValueError),
    ("matmul_batch", lambda m, d: _t(m, d, 2, 3, 4) @ _t(m, d, 3, 4, 2), "RuntimeError", ValueError),
    ("matmul_dtypes", lambda m, d: _t(m, d, 2, 3) @ _t(m, d, 3, 2, dtype=m.float64), "RuntimeError", TypeError),
    ("bmm_batch", lambda m, d: m.bmm(_t(m, d, 2, 3, 4), _t(m, d, 3, 4, 2)), "RuntimeError", ValueError),
    ("bmm_2d", lambda m, d: m.bmm(_t(m, d, 3, 4), _t(m, d, 4, 2)), "RuntimeError", ValueError),
    ("mm_inner", lambda m, d: m.mm(_t(m, d, 3, 4), _t(m, d, 5, 2)), "RuntimeError", ValueError),
    ("mv_inner", lambda m, d: m.mv(_t(m, d, 3, 4), _t(m, d, 3)), "RuntimeError", ValueError),
    ("dot_lengths", lambda m, d: m.dot(_t(m, d, 3), _t(m, d, 4)), "RuntimeError", ValueError),
    ("outer_2d", lambda m, d: m.outer(_t(m, d, 3, 1), _t(m, d, 3)), "RuntimeError", ValueError),
    ("add_broadcast", lambda m, d: _t(m, d, 2, 3) + _t(m, d, 4), "RuntimeError", ValueError),
    ("mul_broadcast", lambda m, d: _t(m, d, 2, 3) * _t(m, d, 2), "RuntimeError", ValueError),
    ("lt_broadcast", lambda m, d: _t(m, d, 2, 3) < _t(m, d, 4), "RuntimeError", ValueError),
    ("where_broadcast", lambda m, d: m.where(_t(m, d, 2, dtype=m.bool), _t(m, d, 3), _t(m, d, 4)), "RuntimeError",
     ValueError),
    ("where_float_condition", lambda m, d: m.where(_t(m, d, 3), _t(m, d, 3), _t(m, d, 3)), "RuntimeError", TypeError),
    ("broadcast_tensors", lambda m, d: m.broadcast_tensors(_t(m, d, 2), _t(m, d, 3)), "RuntimeError", ValueError),
    ("abs_bool", lambda m, d: _t(m, d, 3, dtype=m.bool).abs(), "NotImplementedError", TypeError),
    ("neg_bool", lambda m, d: -_t(m, d, 3, dtype=m.bool), "RuntimeError", TypeError),
    ("bitwise_float", lambda m, d: _t(m, d, 3) & _t(m, d, 3), "NotImplementedError", TypeError),
    ("inplace_broadcast", lambda m, d: _t(m, d, 3).add_(_t(m, d, 2, 3)), "RuntimeError", ValueError),
    ("inplace_int_by_float", lambda m, d: _t(m, d, 3, dtype=m.int64).mul_(1.5), "RuntimeError", TypeError),
    ("copy_shape", lambda m, d: _t(m, d, 3).copy_(_t(m, d, 4)), "RuntimeError", ValueError),
    ("setitem_shape", lambda m, d: _setitem(_t(m, d, 3, 2), 0, _t(m, d, 3)), "RuntimeError", ValueError),
    ("view_size", lambda m, d: _t(m, d, 2, 3).view(4), "RuntimeError", ValueError),
    ("view_two_inferred", lambda m, d: _t(m, d, 2, 3).view(-1, -1), "RuntimeError", ValueError),
    ("reshape_negative", lambda m, d: _t(m, d, 2, 3).reshape(-2, 3), "RuntimeError", ValueError),
    ("expand_size", lambda m, d: _t(m, d, 3).expand(4), "RuntimeError", ValueError),
    ("expand_fewer_sizes", lambda m, d: _t(m, d, 2, 3).expand(3), "RuntimeError", ValueError),
    ("sum_to_size", lambda m, d: _t(m, d, 2, 3).sum_to_size(3, 3), "RuntimeError", ValueError),
    ("permute_repeated", lambda m, d: _t(m, d, 2, 3).permute(0, 0), "RuntimeError", ValueError),
    ("flip_repeated", lambda m, d: _t(m, d, 3, 2).flip(0, 0), "RuntimeError", ValueError),
    ("flatten_order", lambda m, d: _t(m, d, 2, 3).flatten(1, 0), "RuntimeError", ValueError),
    ("unflatten_sizes", lambda m, d: _t(m, d, 6).unflatten(0, (4, 2)), "RuntimeError", ValueError),
    ("repeat_fewer", lambda m, d: _t(m, d, 2, 3).repeat(2), "RuntimeError", ValueError),
    ("cat_shapes", lambda m, d: m.cat([_t(m, d, 2, 3), _t(m, d, 2, 4)]), "RuntimeError", ValueError),
    ("cat_ndims", lambda m, d: m.cat([_t(m, d, 2, 3), _t(m, d, 2, 3, 1)]), "RuntimeError", ValueError),
    ("stack_shapes", lambda m, d: m.stack([_t(m, d, 2), _t(m, d, 3)]), "RuntimeError", ValueError),
    ("cat_of_a_tensor", lambda m, d: m.cat(_t(m, d, 2, 3)), "TypeError", TypeError),
    ("stack_of_a_tensor", lambda m, d: m.stack(_t(m, d, 2, 3)), "TypeError", TypeError),
    ("stack_empty", lambda m, d: m.stack([]), "RuntimeError", ValueError),
    ("split_sizes", lambda m, d: _t(m, d, 5).split([2, 2]), "RuntimeError", ValueError),
    ("chunk_zero", lambda m, d: _t(m, d, 5).chunk(0), "RuntimeError", ValueError),
    ("narrow_past_end", lambda m, d: _t(m, d, 5).narrow(0, 3, 4), "RuntimeError", ValueError),
    ("roll_lengths", lambda m, d: _t(m, d, 3, 2).roll((1, 1), (0,)), "RuntimeError", ValueError),
    ("topk_k", lambda m, d: _t(m, d, 3).topk(5), "RuntimeError", ValueError),
    ("kthvalue_k", lambda m, d: _t(m, d, 3).kthvalue(5), "RuntimeError", IndexError),
    ("max_of_empty", lambda m, d: m.ones(0, device=d).max(), "RuntimeError", ValueError),
    ("argmax_of_empty", lambda m, d: m.ones(0, device=d).argmax(), "IndexError", ValueError),
    ("mean_of_ints", lambda m, d: _t(m, d, 3, dtype=m.int64).mean(), "RuntimeError", TypeError),
    ("std_of_ints", lambda m, d: _t(m, d, 3, dtype=m.int64).std(), "RuntimeError", TypeError),
    ("gather_index_dims", lambda m, d: _t(m, d, 2, 3).gather(1, m.zeros(2, dtype=m.int64, device=d)),
     "RuntimeError", ValueError),
    ("gather_out_of_range", lambda m, d: _t(m, d, 2, 3).gather(1, m.full((2, 1), 5, dtype=m.int64, device=d)),
     "RuntimeError", IndexError),
    ("scatter_index_shape", lambda m, d: _t(m, d, 2, 3).scatter(1, m.zeros(3, 3, dtype=m.int64, device=d),
                                                               _t(m, d, 2, 3)), "RuntimeError", ValueError),
    ("scatter_out_of_range", lambda m, d: _t(m, d, 2, 3).scatter(1, m.full((2, 1), 5, dtype=m.int64, device=d),
                                                                _t(m, d, 2, 3)), "RuntimeError", IndexError),
    ("getitem_str", lambda m, d: _t(m, d, 3)["a"], "TypeError", IndexError),
    ("setitem_str", lambda m, d: _setitem(_t(m, d, 3), "a", 1.0), "TypeError", IndexError),
    ("getitem_dict", lambda m, d: _t(m, d, 3)[{}], "IndexError", IndexError),
    ("index_select_2d_index", lambda m, d: _t(m, d, 3).index_select(0, m.zeros(1, 1, dtype=m.int64, device=d)),
     "IndexError", ValueError),
    ("index_select_float_index", lambda m, d: _t(m, d, 3).index_select(0, _t(m, d, 1)), "RuntimeError", ValueError),
    ("index_select_float_index_is_an_index_error", lambda m, d: _t(m, d, 3).index_select(0, _t(m, d, 1)),
     "RuntimeError", IndexError),
    ("scatter_float_index", lambda m, d: _t(m, d, 3).scatter(0, _t(m, d, 1), _t(m, d, 1)), "RuntimeError", TypeError),
    ("scatter_add_float_index", lambda m, d: _t(m, d, 3).scatter_add(0, _t(m, d, 1), _t(m, d, 1)), "RuntimeError",
     TypeError),
    ("index_add_float_index", lambda m, d: _t(m, d, 3).index_add(0, _t(m, d, 1), _t(m, d, 1)), "RuntimeError",
     TypeError),
    ("index_copy_float_index", lambda m, d: _t(m, d, 3).index_copy(0, _t(m, d, 1), _t(m, d, 1)), "RuntimeError",
     TypeError),
    ("index_reduce_float_index", lambda m, d: _t(m, d, 3).index_reduce(0, _t(m, d, 1), _t(m, d, 1), "prod"),
     "RuntimeError", TypeError),
    ("put_float_index", lambda m, d: _t(m, d, 3).put(_t(m, d, 1), _t(m, d, 1)), "RuntimeError", TypeError),
    ("index_fill_float_index", lambda m, d: _t(m, d, 3).index_fill(0, _t(m, d, 1), 1.0), "IndexError", TypeError),
    ("sparse_index_select_float_index", lambda m, d: _t(m, d, 3).to_sparse().index_select(0, _t(m, d, 1)),
     "IndexError", TypeError),
    ("bincount_float", lambda m, d: m.bincount(_t(m, d, 2)), "NotImplementedError", ValueError),
    ("repeat_interleave_float_repeats", lambda m, d: _t(m, d, 2).repeat_interleave(_t(m, d, 2)),
     "NotImplementedError", TypeError),
    ("ctc_float_input_lengths", lambda m, d: m.nn.functional.ctc_loss(
        _t(m, d, 5, 2, 4).log_softmax(2), m.ones(2, 3, dtype=m.int64, device=d), m.tensor([5.0, 5.0]),
        m.tensor([3, 3])), "RuntimeError", TypeError),
    ("masked_fill_float_mask", lambda m, d: _t(m, d, 2, 3).masked_fill(_t(m, d, 2, 3), 0.0), "RuntimeError",
     TypeError),
    ("clamp_without_bounds", lambda m, d: m.clamp(_t(m, d, 3)), "RuntimeError", ValueError),
    ("einsum_sizes", lambda m, d: m.einsum("ij,jk->ik", _t(m, d, 2, 3), _t(m, d, 4, 5)), "RuntimeError", ValueError),
    ("diagonal_same_dims", lambda m, d: _t(m, d, 3, 3).diagonal(0, 0, 0), "RuntimeError", ValueError),
    ("diag_3d", lambda m, d: m.diag(_t(m, d, 2, 2, 2)), "RuntimeError", ValueError),
    ("trace_1d", lambda m, d: m.trace(_t(m, d, 3)), "RuntimeError", ValueError),
    ("tril_1d", lambda m, d: m.tril(_t(m, d, 3)), "RuntimeError", ValueError),
    ("unfold_size", lambda m, d: _t(m, d, 3).unfold(0, 5, 1), "RuntimeError", ValueError),
    ("bincount_negative", lambda m, d: m.bincount(_ints(m, d, -1, 2)), "RuntimeError", ValueError),
    ("cdist_columns", lambda m, d: m.cdist(_t(m, d, 2, 3), _t(m, d, 2, 4)), "RuntimeError", ValueError),
    ("cross_size", lambda m, d: m.linalg.cross(_t(m, d, 2), _t(m, d, 2)), "RuntimeError", ValueError),
    ("full_1d_fill", lambda m, d: m.full((2, 2), _t(m, d, 2), device=d), "TypeError", ValueError),
    ("full_like_1d_fill", lambda m, d: m.full_like(_t(m, d, 2), _t(m, d, 2)), "TypeError", ValueError),
    ("new_full_1d_fill", lambda m, d: _t(m, d, 2).new_full((2,), _t(m, d, 2)), "TypeError", ValueError),
    ("arange_1d_end", lambda m, d: m.arange(_t(m, d, 2), device=d), "TypeError", ValueError),
    ("linspace_1d_start", lambda m, d: m.linspace(_t(m, d, 2), 1, 3, device=d), "RuntimeError", ValueError),
    ("logspace_1d_end", lambda m, d: m.logspace(0, _t(m, d, 2), 3, device=d), "RuntimeError", Exception),
    ("fill_1d_value", lambda m, d: _t(m, d, 2).fill_(_t(m, d, 2)), "RuntimeError", ValueError),
    ("masked_fill_1d_value", lambda m, d: _t(m, d, 2).masked_fill(_t(m, d, 2, dtype=m.bool), _t(m, d, 2)),
     "RuntimeError", ValueError),
    ("zeros_negative", lambda m, d: m.zeros(-1, device=d), "RuntimeError", ValueError),
    ("arange_zero_step", lambda m, d: m.arange(0, 10, 0, device=d), "RuntimeError", ValueError),
    ("linspace_negative", lambda m, d: m.linspace(0, 1, -1, device=d), "RuntimeError", ValueError),
    ("randint_bounds", lambda m, d: m.randint(5, 2, (3,), device=d), "RuntimeError", ValueError),
    ("multinomial_too_many", lambda m, d: m.multinomial(m.tensor([0.5, 0.5], device=d), 5), "RuntimeError",
     ValueError),
    ("inv_not_square", lambda m, d: m.linalg.inv(_t(m, d, 2, 3)), "RuntimeError", ValueError),
    ("inv_of_ints", lambda m, d: m.linalg.inv(_t(m, d, 2, 2, dtype=m.int64)), "RuntimeError", TypeError),
    ("inv_singular", lambda m, d: m.linalg.inv(m.zeros(2, 2, device=d)), "RuntimeError", RuntimeError),
    ("solve_shapes", lambda m, d: m.linalg.solve(m.eye(2, device=d), _t(m, d, 3)), "RuntimeError", ValueError),
    ("matrix_norm_ord", lambda m, d: m.linalg.norm(_t(m, d, 2, 3), ord="bad"), "RuntimeError", ValueError),
    ("index_add_source_shape", lambda m, d: _t(m, d, 3, 2).index_add(0, _ints(m, d, 0), _t(m, d, 2, 2)),
     "RuntimeError", ValueError),
    ("index_copy_source_shape", lambda m, d: _t(m, d, 3, 2).index_copy(0, _ints(m, d, 0), _t(m, d, 2, 2)),
     "IndexError", ValueError),
    ("index_fill_2d_index", lambda m, d: _t(m, d, 3, 2).index_fill(0, m.zeros(1, 1, dtype=m.int64, device=d), 1.0),
     "RuntimeError", ValueError),
    ("masked_scatter_short_source", lambda m, d: _t(m, d, 3).masked_scatter(_t(m, d, 3, dtype=m.bool), _t(m, d, 2)),
     "RuntimeError", ValueError),
    ("take_along_dim_ndims", lambda m, d: m.take_along_dim(_t(m, d, 3, 2), m.zeros(3, dtype=m.int64, device=d), 1),
     "RuntimeError", ValueError),
    ("repeat_interleave_counts", lambda m, d: _t(m, d, 3).repeat_interleave(_ints(m, d, 1, 2), dim=0),
     "RuntimeError", ValueError),
    ("tensordot_sizes", lambda m, d: m.tensordot(_t(m, d, 2, 3), _t(m, d, 4, 5), dims=1), "RuntimeError",
     ValueError),
    ("addmm_shapes", lambda m, d: m.addmm(_t(m, d, 2, 2), _t(m, d, 2, 3), _t(m, d, 4, 2)), "RuntimeError",
     ValueError),
    ("baddbmm_shapes", lambda m, d: m.baddbmm(_t(m, d, 2, 2, 2), _t(m, d, 2, 2, 3), _t(m, d, 2, 4, 2)),
     "RuntimeError", ValueError),
    ("addmv_shapes", lambda m, d: m.addmv(_t(m, d, 2), _t(m, d, 2, 3), _t(m, d, 4)), "RuntimeError", ValueError),
    ("einsum_operand_count", lambda m, d: m.einsum("ij,jk->ik", _t(m, d, 2, 3)), "RuntimeError", ValueError),
    ("movedim_repeated", lambda m, d: m.movedim(_t(m, d, 2, 3, 4), (0, 0), (1, 2)), "RuntimeError", ValueError),
    ("searchsorted_dims", lambda m, d: m.searchsorted(_t(m, d, 2, 3), _t(m, d, 3, 1)), "RuntimeError", ValueError),
    ("histc_of_ints", lambda m, d: m.histc(_t(m, d, 3, dtype=m.int64)), "NotImplementedError", TypeError),
    ("lerp_of_ints", lambda m, d: m.lerp(_t(m, d, 3, dtype=m.int64), _t(m, d, 3, dtype=m.int64), 0.5),
     "NotImplementedError", TypeError),
    ("meshgrid_2d", lambda m, d: m.meshgrid(_t(m, d, 2, 2), _t(m, d, 2), indexing="ij"), "RuntimeError",
     ValueError),
    ("clamp_bound_shape", lambda m, d: m.clamp(_t(m, d, 3), min=_t(m, d, 4)), "RuntimeError", ValueError),
    ("tril_indices_negative", lambda m, d: m.tril_indices(-1, 3), "RuntimeError", ValueError),
    ("block_diag_3d", lambda m, d: m.block_diag(_t(m, d, 2, 2, 2)), "RuntimeError", ValueError),
    ("inner_sizes", lambda m, d: m.inner(_t(m, d, 3), _t(m, d, 4)), "RuntimeError", ValueError),
    ("vdot_lengths", lambda m, d: m.vdot(_t(m, d, 3), _t(m, d, 4)), "RuntimeError", ValueError),
    ("trapezoid_x_length", lambda m, d: m.trapezoid(_t(m, d, 3), _t(m, d, 4)), "RuntimeError", ValueError),
    ("cov_3d", lambda m, d: m.cov(_t(m, d, 2, 2, 2)), "RuntimeError", ValueError),
    ("qr_1d", lambda m, d: m.linalg.qr(_t(m, d, 3)), "RuntimeError", ValueError),
    ("matrix_power_not_square", lambda m, d: m.linalg.matrix_power(_t(m, d, 2, 3), 2), "RuntimeError", ValueError),
    ("cholesky_solve_shapes", lambda m, d: m.cholesky_solve(_t(m, d, 3, 1), m.eye(2, device=d)), "RuntimeError",
     ValueError),
    ("cholesky_solve_dtypes", lambda m, d: m.cholesky_solve(_t(m, d, 2, 1, dtype=m.float64), m.eye(2, device=d)),
     "RuntimeError", TypeError),
    ("solve_triangular_shapes", lambda m, d: m.linalg.solve_triangular(m.eye(2, device=d), _t(m, d, 3, 1),
                                                                        upper=False), "RuntimeError", ValueError),
    ("solve_triangular_1d", lambda m, d: m.linalg.solve_triangular(m.eye(2, device=d), _t(m, d, 2), upper=False),
     "RuntimeError", ValueError),
    ("lu_solve_shapes", lambda m, d: m.linalg.lu_solve(*m.linalg.lu_factor(m.eye(2, device=d)), _t(m, d, 3, 1)),
     "RuntimeError", ValueError),
    ("lu_solve_dtypes", lambda m, d: m.linalg.lu_solve(*m.linalg.lu_factor(m.eye(2, device=d)),
                                                       _t(m, d, 2, 1, dtype=m.float64)), "RuntimeError", TypeError),
    ("lstsq_shapes", lambda m, d: m.linalg.lstsq(_t(m, d, 3, 2), _t(m, d, 4, 1)), "RuntimeError", ValueError),
    ("multi_dot_shapes", lambda m, d: m.linalg.multi_dot([_t(m, d, 2, 3), _t(m, d, 4, 2)]), "RuntimeError",
     ValueError),
    ("tensor_of_a_str", lambda m, d: m.tensor("abc", device=d), "TypeError", RuntimeError),
    ("tensor_of_strs", lambda m, d: m.tensor(["a"], device=d), "ValueError", RuntimeError),
    ("new_tensor_of_a_str", lambda m, d: _t(m, d, 3).new_tensor("a"), "TypeError", ValueError),
    ("repeat_float", lambda m, d: _t(m, d, 3).repeat(1.5), "TypeError", RuntimeError),
    ("repeat_str", lambda m, d: _t(m, d, 3).repeat("a"), "TypeError", ValueError),
    ("add_int_with_float_alpha", lambda m, d: m.add(_ints(m, d, 1), _ints(m, d, 1), alpha=1.5), "RuntimeError",
     TypeError),
    ("sub_float_with_complex_alpha", lambda m, d: m.sub(_t(m, d, 2), _t(m, d, 2), alpha=1j), "RuntimeError",
     TypeError),
    ("add_float_with_bool_alpha", lambda m, d: m.add(_t(m, d, 2), _t(m, d, 2), alpha=True), "RuntimeError",
     TypeError),
    ("add_str_alpha", lambda m, d: m.add(_t(m, d, 2), _t(m, d, 2), alpha="a"), "TypeError", TypeError),
    ("stack_of_a_list", lambda m, d: m.stack([_t(m, d, 2), [1.0, 2.0]]), "TypeError", AttributeError),
    ("type_as_str", lambda m, d: _t(m, d, 3).type_as("a"), "TypeError", AttributeError),
    ("view_as_list", lambda m, d: _t(m, d, 3).view_as([1, 2, 3]), "TypeError", AttributeError),
    ("reshape_as_list", lambda m, d: _t(m, d, 3).reshape_as([1, 2, 3]), "TypeError", AttributeError),
    ("expand_as_list", lambda m, d: _t(m, d, 3).expand_as([1, 2, 3]), "TypeError", AttributeError),
    ("contiguous_str", lambda m, d: _t(m, d, 3).contiguous("a"), "TypeError", AttributeError),
    ("tensor_none", lambda m, d: m.tensor(None), "RuntimeError", TypeError),
    ("rand_int_dtype", lambda m, d: m.rand(2, dtype=m.int64, device=d), "NotImplementedError", TypeError),
    ("randperm_neg", lambda m, d: m.randperm(-1, device=d), "RuntimeError", ValueError),
    ("arange_wrong_dir", lambda m, d: m.arange(5, 0, 1, device=d), "RuntimeError", ValueError),
    ("pow_int_neg", lambda m, d: _ints(m, d, 2) ** -1, "RuntimeError", ValueError),
    ("div_mode_bad", lambda m, d: m.div(_t(m, d, 3), 2, rounding_mode="bad"), "RuntimeError", ValueError),
    ("floor_divide_zero", lambda m, d: _ints(m, d, 1) // 0, "RuntimeError", ZeroDivisionError),
    ("remainder_zero_int", lambda m, d: _ints(m, d, 1) % 0, "RuntimeError", ZeroDivisionError),
    ("logical_shape", lambda m, d: m.logical_and(_t(m, d, 2), _t(m, d, 3)), "RuntimeError", ValueError),
    ("norm_p_str", lambda m, d: _t(m, d, 3).norm(p="bad"), "RuntimeError", ValueError),
    ("scatter_dtype_src", lambda m, d: _t(m, d, 3).scatter(0, _ints(m, d, 0), _t(m, d, 1, dtype=m.float64)),
     "RuntimeError", TypeError),
    ("scatter_reduce_bad", lambda m, d: _t(m, d, 3).scatter_reduce(0, _ints(m, d, 0), _t(m, d, 1), reduce="bad"),
     "RuntimeError", ValueError),
    ("diff_n_neg", lambda m, d: m.diff(_t(m, d, 3), n=-1), "RuntimeError", ValueError),
    ("histc_bins_neg", lambda m, d: m.histc(_t(m, d, 3), bins=-1), "RuntimeError", ValueError),
    ("bucketize_2d_boundaries", lambda m, d: m.bucketize(_t(m, d, 3), _t(m, d, 2, 2)), "RuntimeError", ValueError),
    ("split_size_0", lambda m, d: _t(m, d, 3).split(0), "RuntimeError", ValueError),
    ("tensor_split_0", lambda m, d: m.tensor_split(_t(m, d, 3), 0), "RuntimeError", ValueError),
    ("narrow_neg_len", lambda m, d: _t(m, d, 3).narrow(0, 0, -1), "RuntimeError", ValueError),
    ("tile_neg", lambda m, d: _t(m, d, 3).tile(-1), "RuntimeError", ValueError),
    ("rot90_dims", lambda m, d: m.rot90(_t(m, d, 2, 2), 1, (0, 0)), "RuntimeError", ValueError),
    ("solve_dtype", lambda m, d: m.linalg.solve(m.eye(2, device=d), _t(m, d, 2, dtype=m.float64)),
     "RuntimeError", TypeError),
    ("matrix_norm_1d", lambda m, d: m.linalg.matrix_norm(_t(m, d, 3)), "RuntimeError", ValueError),
    ("triangular_solve_shapes", lambda m, d: m.linalg.solve_triangular(m.eye(2, device=d), _t(m, d, 3, 1), upper=True),
     "RuntimeError", ValueError),
    ("householder_bad", lambda m, d: m.linalg.householder_product(_t(m, d, 2, 3), _t(m, d, 3)),
     "RuntimeError", ValueError),
    ("cond_p_bad", lambda m, d: m.linalg.cond(m.eye(2, device=d), p="bad"), "RuntimeError", ValueError),
    ("tensorinv_ind0", lambda m, d: m.linalg.tensorinv(m.eye(4, device=d).reshape(4, 2, 2), ind=0),
     "RuntimeError", ValueError),
    ("quantile_q_oor", lambda m, d: m.quantile(_t(m, d, 3), 1.5), "RuntimeError", ValueError),
    ("quantile_int", lambda m, d: m.quantile(_t(m, d, 3, dtype=m.int64), 0.5), "RuntimeError", TypeError),
    ("quantile_interp_bad", lambda m, d: m.quantile(_t(m, d, 3), 0.5, interpolation="bad"), "RuntimeError", ValueError),
    ("take_float", lambda m, d: m.take(_t(m, d, 3), m.tensor([0.0], device=d)), "RuntimeError", TypeError),
    ("einsum_dims", lambda m, d: m.einsum("ijk->i", _t(m, d, 2, 2)), "RuntimeError", ValueError),
    ("cartesian_2d", lambda m, d: m.cartesian_prod(_t(m, d, 2, 2)), "RuntimeError", ValueError),
    ("combinations_2d", lambda m, d: m.combinations(_t(m, d, 2, 2)), "RuntimeError", ValueError),
    ("normal_neg_std", lambda m, d: m.normal(0.0, -1.0, (3,), device=d), "RuntimeError", ValueError),
    ("normal_tensor_neg_std", lambda m, d: m.normal(_t(m, d, 3), -_t(m, d, 3)), "RuntimeError", ValueError),
    ("bernoulli_p_oor", lambda m, d: m.bernoulli(_t(m, d, 3) * 2), "RuntimeError", ValueError),
    ("poisson_neg", lambda m, d: m.poisson(-_t(m, d, 3)), "RuntimeError", ValueError),
    ("multinomial_neg", lambda m, d: m.multinomial(-_t(m, d, 3), 1), "RuntimeError", ValueError),
    ("multinomial_zero", lambda m, d: m.multinomial(m.zeros(3, device=d), 1), "RuntimeError", ValueError),
    ("multinomial_3d", lambda m, d: m.multinomial(_t(m, d, 1, 1, 3), 1), "RuntimeError", ValueError),
    ("uniform_bounds", lambda m, d: _t(m, d, 3).uniform_(2, 1), "RuntimeError", ValueError),
    ("exponential_neg", lambda m, d: _t(m, d, 3).exponential_(-1), "RuntimeError", ValueError),
    ("generator_state_bad", lambda m, d: m.Generator(d).set_state(_t(m, d, 3)), "TypeError", ValueError),
    ("dropout2d_1d", lambda m, d: _f(m).dropout2d(_t(m, d, 3), 0.5), "RuntimeError", ValueError),
    ("conv_padding_str_bad", lambda m, d: _f(m).conv1d(_t(m, d, 1, 1, 5), _t(m, d, 1, 1, 3), padding="bad"),
     "RuntimeError", ValueError),
    ("max_unpool_shape", lambda m, d: _f(m).max_unpool1d(_t(m, d, 1, 1, 2), _t(m, d, 1, 1, 3, dtype=m.int64), 2),
     "RuntimeError", ValueError),
    ("vector_to_params_short", lambda m, d: m.nn.utils.vector_to_parameters(_t(m, d, 2), [m.nn.Parameter(_t(m, d, 3))]),
     "RuntimeError", ValueError),
    ("sgd_lr_str", lambda m, d: _sgd(m, lr="a"), "TypeError", ValueError),
    ("linalg_qr_mode_bad", lambda m, d: m.linalg.qr(_t(m, d, 2, 2), mode="bad"), "RuntimeError", ValueError),
    ("linalg_eigh_uplo_bad", lambda m, d: m.linalg.eigh(m.eye(2, device=d), UPLO="X"), "RuntimeError", ValueError),
    ("linalg_lu_solve_shapes", lambda m, d: m.linalg.lu_solve(*m.linalg.lu_factor(m.eye(2, device=d)), _t(m, d, 3, 1)),
     "RuntimeError", ValueError),
    ("linalg_diagonal_1d", lambda m, d: m.linalg.diagonal(_t(m, d, 3)), "IndexError", ValueError),
    ("linalg_vander_0d", lambda m, d: m.linalg.vander(m.tensor(1.0, device=d)), "RuntimeError", ValueError),
    ("cholesky_solve_shapes", lambda m, d: m.cholesky_solve(_t(m, d, 3, 1), m.eye(2, device=d)),
     "RuntimeError", ValueError),
    ("cdist_p_neg", lambda m, d: m.cdist(_t(m, d, 2, 3), _t(m, d, 2, 3), p=-1), "RuntimeError", ValueError),
    ("pdist_3d", lambda m, d: _f(m).pdist(_t(m, d, 2, 2, 2)), "RuntimeError", ValueError),
    ("bitwise_shapes", lambda m, d: _ints(m, d, 1, 2) & _ints(m, d, 1, 2, 3), "RuntimeError", ValueError),
    # (already torch's type)
    ("getitem_out_of_range", lambda m, d: _t(m, d, 3)[5], "IndexError", IndexError),
    ("getitem_index_out_of_range", lambda m, d: _t(m, d, 3)[_ints(m, d, 5)], "IndexError", IndexError),
    ("setitem_out_of_range", lambda m, d: _setitem(_t(m, d, 3), 5, 1.0), "IndexError", IndexError),
    ("index_select_out_of_range", lambda m, d: _t(m, d, 3).index_select(0, _ints(m, d, 5)), "IndexError",
     IndexError),
    ("sum_dim_out_of_range", lambda m, d: _t(m, d, 2, 3).sum(5), "IndexError", IndexError),
    ("add_str", lambda m, d: _t(m, d, 3) + "a", "TypeError", TypeError),
]

AUTOGRAD = [
    ("backward_gradient_shape", lambda m, d: (_leaf(m, d, 3) * 2).backward(m.ones(2, device=d)), "RuntimeError",
     ValueError),
    ("grad_outputs_shape", lambda m, d: m.autograd.grad(_leaf(m, d, 3) * 2, _leaf(m, d, 3),
                                                        grad_outputs=[m.ones(1, 3, device=d)]), "RuntimeError",
     ValueError),
    ("grad_input_not_tensor", lambda m, d: m.autograd.grad(_leaf(m, d, 3).sum(), [3]), "RuntimeError", TypeError),
    ("hook_changes_shape", _hook_changes_shape, "RuntimeError", ValueError),
    ("set_grad_shape", lambda m, d: _set_grad(_leaf(m, d, 3), m.ones(2, device=d)), "RuntimeError", ValueError),
    ("requires_grad_int", lambda m, d: _t(m, d, 3, dtype=m.int64).requires_grad_(), "RuntimeError", TypeError),
    ("hessian_not_scalar", lambda m, d: m.autograd.functional.hessian(lambda x: x * 2, _t(m, d, 3)), "RuntimeError",
     ValueError),
    ("vjp_v_shape", lambda m, d: m.autograd.functional.vjp(lambda x: x * 2, _t(m, d, 3), _t(m, d, 4)),
     "RuntimeError", ValueError),
    ("vjp_v_missing", lambda m, d: m.autograd.functional.vjp(lambda x: x * 2, _t(m, d, 3)), "RuntimeError",
     ValueError),
    ("jacobian_int_input", lambda m, d: m.autograd.functional.jacobian(lambda x: x * 2, _t(m, d, 3, dtype=m.int64)),
     "RuntimeError", TypeError),
    # (already torch's type)
    ("backward_twice", _backward_twice, "RuntimeError", RuntimeError),
    ("backward_not_scalar", lambda m, d: (_leaf(m, d, 3) * 2).backward(), "RuntimeError", RuntimeError),
    ("grad_not_scalar", lambda m, d: m.autograd.grad(_leaf(m, d, 3) * 2, _leaf(m, d, 3)), "RuntimeError",
     RuntimeError),
    ("inplace_on_leaf", lambda m, d: _leaf(m, d, 3).add_(1), "RuntimeError", RuntimeError),
    ("backward_without_grad", lambda m, d: _t(m, d, 3).sum().backward(), "RuntimeError", RuntimeError),
]

def _f(m):
    return m.nn.functional


NN = [
    ("lstm_input_size", lambda m, d: _lstm(m, d, (5, 2, 4)), "RuntimeError", ValueError),
    ("lstm_h0_shape", lambda m, d: _lstm(m, d, (5, 2, 3), [(1, 3, 4), (1, 3, 4)]), "RuntimeError", ValueError),
    ("lstm_c0_shape", lambda m, d: _lstm(m, d, (5, 2, 3), [(1, 2, 4), (1, 2, 5)]), "RuntimeError", ValueError),
    ("gru_h0_shape", lambda m, d: m.nn.GRU(3, 4).to(d)(_t(m, d, 5, 2, 3), m.zeros(2, 2, 4, device=d)),
     "RuntimeError", ValueError),
    ("lstm_cell_input_size", lambda m, d: m.nn.LSTMCell(3, 4).to(d)(_t(m, d, 2, 4)), "RuntimeError", ValueError),
    ("gru_cell_hx_batch", lambda m, d: m.nn.GRUCell(3, 4).to(d)(_t(m, d, 2, 3), m.zeros(3, 4, device=d)),
     "RuntimeError", ValueError),
    ("linear_in_features", lambda m, d: m.nn.Linear(3, 2).to(d)(_t(m, d, 2, 4)), "RuntimeError", ValueError),
    ("bilinear_features", lambda m, d: m.nn.Bilinear(2, 3, 4).to(d)(_t(m, d, 5, 2), _t(m, d, 5, 2)),
     "RuntimeError", ValueError),
    ("conv2d_channels", lambda m, d: m.nn.Conv2d(3, 4, 3).to(d)(_t(m, d, 1, 2, 5, 5)), "RuntimeError", ValueError),
    ("conv2d_rank", lambda m, d: m.nn.Conv2d(3, 4, 3).to(d)(_t(m, d, 5, 5)), "RuntimeError", ValueError),
    ("conv2d_too_small", lambda m, d: m.nn.Conv2d(3, 4, 3).to(d)(_t(m, d, 1, 3, 2, 2)), "RuntimeError", ValueError),
    ("conv_transpose2d_channels", lambda m, d: m.nn.ConvTranspose2d(3, 4, 3).to(d)(_t(m, d, 1, 2, 5, 5)),
     "RuntimeError", ValueError),
    ("max_pool2d_too_small", lambda m, d: _f(m).max_pool2d(_t(m, d, 1, 1, 2, 2), 3), "RuntimeError", ValueError),
    ("unfold_too_small", lambda m, d: _f(m).unfold(_t(m, d, 1, 1, 2, 2), 3), "RuntimeError", ValueError),
    ("pixel_shuffle_channels", lambda m, d: _f(m).pixel_shuffle(_t(m, d, 1, 3, 2, 2), 2), "RuntimeError",
     ValueError),
    ("grid_sample_grid", lambda m, d: _f(m).grid_sample(_t(m, d, 1, 1, 3, 3), _t(m, d, 1, 2, 2, 3),
                                                         align_corners=False), "RuntimeError", ValueError),
    ("batch_norm_channels", lambda m, d: m.nn.BatchNorm1d(3).to(d)(_t(m, d, 2, 4)), "RuntimeError", ValueError),
    ("layer_norm_shape", lambda m, d: _f(m).layer_norm(_t(m, d, 2, 3), (4,)), "RuntimeError", ValueError),
    ("group_norm_groups", lambda m, d: _f(m).group_norm(_t(m, d, 2, 6), 4), "RuntimeError", ValueError),
    ("embedding_float_indices", lambda m, d: m.nn.Embedding(5, 2).to(d)(m.tensor([1.0], device=d)),
     "RuntimeError", TypeError),
    ("embedding_bag_out_of_range", lambda m, d: _f(m).embedding_bag(m.tensor([[0, 7]], device=d), _t(m, d, 5, 2)),
     "RuntimeError", IndexError),
    ("one_hot_out_of_range", lambda m, d: _f(m).one_hot(_ints(m, d, 0, 5), 3), "RuntimeError", ValueError),
    ("one_hot_float", lambda m, d: _f(m).one_hot(_t(m, d, 2), 3), "RuntimeError", TypeError),
    ("pad_odd_length", lambda m, d: _f(m).pad(_t(m, d, 2, 3), (1, 1, 1)), "RuntimeError", ValueError),
    ("pad_reflect_too_far", lambda m, d: _f(m).pad(_t(m, d, 1, 1, 3), (5, 5), mode="reflect"), "RuntimeError",
     ValueError),
    ("sdpa_shapes", lambda m, d: _f(m).scaled_dot_product_attention(_t(m, d, 2, 3, 4), _t(m, d, 2, 3, 5),
                                                                     _t(m, d, 2, 3, 5)), "RuntimeError", ValueError),
    ("multihead_attention_mask_shape", lambda m, d: m.nn.MultiheadAttention(4, 2).to(d)(
        _t(m, d, 3, 2, 4), _t(m, d, 3, 2, 4), _t(m, d, 3, 2, 4), attn_mask=_t(m, d, 5, 5, dtype=m.bool)),
     "RuntimeError", ValueError),
    ("multihead_attention_shapes", lambda m, d: m.nn.MultiheadAttention(4, 2).to(d)(
        _t(m, d, 3, 2, 4), _t(m, d, 3, 2, 5), _t(m, d, 3, 2, 5)), "RuntimeError", ValueError),
    ("nll_float_target", lambda m, d: _f(m).nll_loss(_t(m, d, 2, 3), _t(m, d, 2)), "RuntimeError", TypeError),
    ("nll_int32_target", lambda m, d: _f(m).nll_loss(_t(m, d, 2, 3), m.zeros(2, dtype=m.int32, device=d)),
     "RuntimeError", RuntimeError),
    ("cross_entropy_int16_target", lambda m, d: _f(m).cross_entropy(_t(m, d, 2, 3), m.zeros(2, dtype=m.int16,
                                                                                            device=d)),
     "RuntimeError", RuntimeError),
    ("cross_entropy_float_index_target", lambda m, d: _f(m).cross_entropy(_t(m, d, 2, 3), _t(m, d, 2)),
     "RuntimeError", TypeError),
    ("linear_cross_entropy_int32_target", lambda m, d: _f(m).linear_cross_entropy(
        _t(m, d, 2, 3), _t(m, d, 4, 3), m.zeros(2, dtype=m.int32, device=d)), "RuntimeError", RuntimeError),
    ("nll_target_dims", lambda m, d: _f(m).nll_loss(_t(m, d, 2, 3), m.zeros(2, 3, dtype=m.int64, device=d)),
     "RuntimeError", ValueError),
    ("mse_shapes", lambda m, d: _f(m).mse_loss(_t(m, d, 3), _t(m, d, 4)), "RuntimeError", ValueError),
    ("triplet_shapes", lambda m, d: _f(m).triplet_margin_loss(_t(m, d, 2, 3), _t(m, d, 2, 4), _t(m, d, 2, 3)),
     "RuntimeError", ValueError),
    ("bce_not_probabilities", lambda m, d: _f(m).binary_cross_entropy(_t(m, d, 3) * 2, _t(m, d, 3) * 0.5),
     "RuntimeError", ValueError),
    ("ctc_target_lengths", lambda m, d: _f(m).ctc_loss(_t(m, d, 5, 2, 4).log_softmax(2),
                                                       m.ones(2, 3, dtype=m.int64, device=d), m.tensor([5, 5]),
                                                       m.tensor([3, 3, 3])), "RuntimeError", ValueError),
    ("pad_sequence_shapes", lambda m, d: m.nn.utils.rnn.pad_sequence([_t(m, d, 2, 3), _t(m, d, 2, 4)]),
     "RuntimeError", ValueError),
    ("pack_lengths_count", lambda m, d: m.nn.utils.rnn.pack_padded_sequence(_t(m, d, 3, 2, 1), m.tensor([3, 2, 1])),
     "RuntimeError", ValueError),
    ("pack_zero_length", lambda m, d: m.nn.utils.rnn.pack_padded_sequence(_t(m, d, 3, 2, 1), m.tensor([3, 0])),
     "RuntimeError", ValueError),
    ("load_state_dict_missing", lambda m, d: _load_state(m, lambda m: {"weight": m.zeros(2, 3)}), "RuntimeError",
     ValueError),
    ("load_state_dict_unexpected", lambda m, d: _load_state(m, lambda m: {"weight": m.zeros(2, 3),
                                                                          "bias": m.zeros(2), "extra": m.zeros(1)}),
     "RuntimeError", ValueError),
    ("load_state_dict_shape", lambda m, d: _load_state(m, lambda m: {"weight": m.zeros(3, 3), "bias": m.zeros(2)}),
     "RuntimeError", ValueError),
    ("conv1d_same_strided", lambda m, d: _f(m).conv1d(_t(m, d, 1, 1, 5), _t(m, d, 1, 1, 3), stride=2,
                                                       padding="same"), "RuntimeError", ValueError),
    ("linear_dtypes", lambda m, d: m.nn.Linear(3, 2).to(d)(_t(m, d, 2, 3, dtype=m.float64)), "RuntimeError",
     TypeError),
    ("fold_channels", lambda m, d: _f(m).fold(_t(m, d, 1, 5, 4), (3, 3), 2), "RuntimeError", ValueError),
    ("pixel_unshuffle_height", lambda m, d: _f(m).pixel_unshuffle(_t(m, d, 1, 1, 3, 3), 2), "RuntimeError",
     ValueError),
    ("glu_odd_size", lambda m, d: _f(m).glu(_t(m, d, 3)), "RuntimeError", ValueError),
    ("prelu_channels", lambda m, d: m.nn.PReLU(3).to(d)(_t(m, d, 2, 4)), "RuntimeError", ValueError),
    ("adaptive_pool_empty", lambda m, d: _f(m).adaptive_max_pool1d(_t(m, d, 1, 1, 0), 2), "RuntimeError",
     ValueError),
    ("max_pool_padding", lambda m, d: _f(m).max_pool1d(_t(m, d, 1, 1, 4), 2, padding=2), "RuntimeError",
     ValueError),
    ("cross_entropy_weight_size", lambda m, d: _f(m).cross_entropy(_t(m, d, 2, 3), _ints(m, d, 0, 1),
                                                                   weight=_t(m, d, 4)), "RuntimeError", ValueError),
    ("cross_entropy_label_smoothing", lambda m, d: _f(m).cross_entropy(_t(m, d, 2, 3), _ints(m, d, 0, 1),
                                                                       label_smoothing=2.0), "RuntimeError",
     ValueError),
    ("multi_margin_target", lambda m, d: _f(m).multi_margin_loss(_t(m, d, 2, 3), _ints(m, d, 0, 5)),
     "RuntimeError", IndexError),
    ("multilabel_margin_shape", lambda m, d: _f(m).multilabel_margin_loss(_t(m, d, 2, 3),
                                                                          m.zeros(2, 4, dtype=m.int64, device=d)),
     "RuntimeError", ValueError),
    ("embedding_bag_offsets", lambda m, d: _f(m).embedding_bag(_ints(m, d, 0, 1), _t(m, d, 5, 2),
                                                               _ints(m, d, 1, 0)), "RuntimeError", ValueError),
    ("rnn_input_dtype", lambda m, d: m.nn.RNN(3, 4).to(d)(_t(m, d, 5, 2, 3, dtype=m.float64)), "ValueError",
     TypeError),
    ("lstm_input_dtype", lambda m, d: m.nn.LSTM(3, 4).to(d)(
        _t(m, d, 5, 2, 3, dtype=m.float64)), "ValueError", TypeError),
    ("gru_input_ints", lambda m, d: m.nn.GRU(3, 4).to(d)(_t(m, d, 5, 2, 3, dtype=m.int64)), "ValueError", TypeError),
    ("gru_h0_dtype", lambda m, d: m.nn.GRU(3, 4).to(d)(_t(m, d, 5, 2, 3), m.zeros(1, 2, 4, dtype=m.float64,
                                                                                  device=d)), "RuntimeError",
     TypeError),
    ("rnn_no_time_steps", lambda m, d: m.nn.RNN(3, 4).to(d)(_t(m, d, 0, 2, 3)), "RuntimeError", ValueError),
    ("lstm_cell_input_dtype", lambda m, d: m.nn.LSTMCell(3, 4).to(d)(_t(m, d, 2, 3, dtype=m.float64)), "RuntimeError",
     TypeError),
    ("rnn_cell_input_ints", lambda m, d: m.nn.RNNCell(3, 4).to(d)(_t(m, d, 2, 3, dtype=m.int64)), "RuntimeError",
     TypeError),
    ("gru_cell_hx_dtype", lambda m, d: m.nn.GRUCell(3, 4).to(d)(_t(m, d, 2, 3), m.zeros(2, 4, dtype=m.float64,
                                                                                       device=d)), "RuntimeError",
     TypeError),
    ("pad_unknown_mode", lambda m, d: _f(m).pad(_t(m, d, 1, 1, 3), (1, 1), mode="bogus"), "NotImplementedError",
     ValueError),
    ("conv2d_stride0", lambda m, d: _f(m).conv2d(_t(m, d, 1, 1, 5, 5), _t(m, d, 1, 1, 3, 3), stride=0),
     "RuntimeError", ValueError),
    ("conv2d_bias_shape", lambda m, d: _f(m).conv2d(_t(m, d, 1, 1, 5, 5), _t(m, d, 2, 1, 3, 3), _t(m, d, 3)),
     "RuntimeError", ValueError),
    ("avg_pool_k0", lambda m, d: _f(m).avg_pool2d(_t(m, d, 1, 1, 4, 4), 0), "RuntimeError", ValueError),
    ("adaptive_avg_neg", lambda m, d: _f(m).adaptive_avg_pool2d(_t(m, d, 1, 1, 4, 4), -1), "RuntimeError", ValueError),
    ("layernorm_dtype", lambda m, d: m.nn.LayerNorm(3).to(d)(_t(m, d, 2, 3, dtype=m.float64)),
     "RuntimeError", TypeError),
    ("embedding_2d_weight_bad", lambda m, d: _f(m).embedding(_ints(m, d, 0), _t(m, d, 5)), "RuntimeError", ValueError),
    ("gelu_approx_bad", lambda m, d: _f(m).gelu(_t(m, d, 3), approximate="bad"), "RuntimeError", ValueError),
    ("module_to_bad", lambda m, d: m.nn.Linear(2, 2).to("nodevice"), "RuntimeError", ValueError),
    ("pack_sequence_empty", lambda m, d: m.nn.utils.rnn.pack_sequence([]), "RuntimeError", ValueError),
    ("bce_int_target", lambda m, d: _f(m).binary_cross_entropy_with_logits(_t(m, d, 3), _t(m, d, 3, dtype=m.int64)),
     "RuntimeError", TypeError),
    ("huber_delta_neg", lambda m, d: _f(m).huber_loss(_t(m, d, 3), _t(m, d, 3), delta=-1.0),
     "RuntimeError", ValueError),
    ("smooth_l1_beta_neg", lambda m, d: _f(m).smooth_l1_loss(_t(m, d, 3), _t(m, d, 3), beta=-1.0),
     "RuntimeError", ValueError),
    ("ctc_blank_oor", lambda m, d: _f(m).ctc_loss(_t(m, d, 5, 2, 4).log_softmax(2), _t(m, d, 2, 3, dtype=m.int64),
                                                  m.tensor([5, 5]), m.tensor([3, 3]), blank=7), "RuntimeError",
     ValueError),
    ("linear_int_input", lambda m, d: m.nn.Linear(3, 2).to(d)(_t(m, d, 2, 3, dtype=m.int64)), "RuntimeError",
     TypeError),
    ("conv1d_int_input", lambda m, d: _f(m).conv1d(_t(m, d, 1, 1, 5, dtype=m.int64), _t(m, d, 1, 1, 3)),
     "RuntimeError", TypeError),
    ("max_pool1d_int_input", lambda m, d: _f(m).max_pool1d(_t(m, d, 1, 1, 4, dtype=m.int64), 2),
     "NotImplementedError", TypeError),
    ("interpolate_int_input", lambda m, d: _f(m).interpolate(_t(m, d, 1, 1, 4, dtype=m.int64), scale_factor=2),
     "NotImplementedError", TypeError),
    ("batch_norm_int_input", lambda m, d: _f(m).batch_norm(_t(m, d, 2, 3, dtype=m.int64), None, None,
                                                           training=True), "NotImplementedError", TypeError),
    ("group_norm_int_input", lambda m, d: _f(m).group_norm(_t(m, d, 2, 4, dtype=m.int64), 2), "NotImplementedError",
     TypeError),
    ("layer_norm_int_input", lambda m, d: _f(m).layer_norm(_t(m, d, 2, 3, dtype=m.int64), (3,)),
     "NotImplementedError", TypeError),
    ("rms_norm_int_input", lambda m, d: _f(m).rms_norm(_t(m, d, 2, 3, dtype=m.int64), (3,)), "NotImplementedError",
     TypeError),
    ("dropout_int_input", lambda m, d: _f(m).dropout(_t(m, d, 3, dtype=m.int64), 0.5), "RuntimeError", TypeError),
    ("dropout2d_int_input", lambda m, d: _f(m).dropout2d(_t(m, d, 2, 3, 4, dtype=m.int64), 0.5), "RuntimeError",
     TypeError),
    ("native_dropout_int_input", lambda m, d: m.native_dropout(_t(m, d, 3, dtype=m.int64), 0.5, True),
     "RuntimeError", TypeError),
    ("rrelu_int_input", lambda m, d: _f(m).rrelu(_t(m, d, 3, dtype=m.int64), training=True), "NotImplementedError",
     TypeError),
    ("pdist_int_input", lambda m, d: _f(m).pdist(_t(m, d, 3, 2, dtype=m.int64)), "RuntimeError", TypeError),
    ("multi_margin_int_input", lambda m, d: _f(m).multi_margin_loss(_t(m, d, 2, 3, dtype=m.int64), _ints(m, d, 0, 1)),
     "NotImplementedError", TypeError),
    ("histogram_int_input", lambda m, d: m.histogram(_t(m, d, 3, dtype=m.int64)), "NotImplementedError", TypeError),
    ("mse_int_input", lambda m, d: _f(m).mse_loss(_t(m, d, 3, dtype=m.int64), _t(m, d, 3, dtype=m.int64)),
     "NotImplementedError", RuntimeError),
    ("ctc_int_log_probs", lambda m, d: _f(m).ctc_loss(_t(m, d, 5, 2, 4, dtype=m.int64),
                                                      m.ones(2, 3, dtype=m.int64, device=d), m.tensor([5, 5]),
                                                      m.tensor([3, 3])), "NotImplementedError", ValueError),
    ("mean_int_dtype", lambda m, d: _t(m, d, 3).mean(dtype=m.int64), "RuntimeError", TypeError),
    ("layer_norm_shape_str", lambda m, d: m.nn.LayerNorm("a"), "TypeError", ValueError),
    ("rms_norm_shape_floats", lambda m, d: m.nn.RMSNorm([3.0]), "TypeError", TypeError),
    ("embedding_padding_idx", lambda m, d: m.nn.Embedding(3, 2, padding_idx=5), "AssertionError", ValueError),
    ("embedding_bag_padding_idx", lambda m, d: m.nn.EmbeddingBag(3, 2, padding_idx=-4), "AssertionError",
     ValueError),
    ("f_embedding_padding_idx", lambda m, d: _f(m).embedding(_ints(m, d, 0), _t(m, d, 3, 2), padding_idx=5),
     "AssertionError", ValueError),
    ("f_embedding_bag_padding_idx", lambda m, d: _f(m).embedding_bag(m.tensor([[0]], device=d), _t(m, d, 3, 2),
                                                                     padding_idx=5), "RuntimeError", ValueError),
    ("multihead_attention_heads", lambda m, d: m.nn.MultiheadAttention(5, 2), "AssertionError", ValueError),
    ("multihead_attention_no_heads", lambda m, d: m.nn.MultiheadAttention(4, 0), "ValueError", ValueError),
    ("transformer_heads", lambda m, d: m.nn.TransformerEncoderLayer(5, 2), "AssertionError", ValueError),
    ("sdpa_int_mask", lambda m, d: _f(m).scaled_dot_product_attention(_t(m, d, 1, 2, 3), _t(m, d, 1, 2, 3),
                                                                       _t(m, d, 1, 2, 3),
                                                                       attn_mask=_t(m, d, 2, 2, dtype=m.int64)),
     "RuntimeError", TypeError),
    ("sdpa_mask_and_causal", lambda m, d: _f(m).scaled_dot_product_attention(
        _t(m, d, 1, 2, 3), _t(m, d, 1, 2, 3), _t(m, d, 1, 2, 3), attn_mask=_t(m, d, 2, 2, dtype=m.bool),
        is_causal=True), "RuntimeError", ValueError),
    ("pad_crops_too_much", lambda m, d: _f(m).pad(_t(m, d, 1, 3), (-4, 0)), "RuntimeError", ValueError),
    ("pad_replicate_too_many_pairs", lambda m, d: _f(m).pad(_t(m, d, 3), (1, 1), mode="replicate"),
     "NotImplementedError", ValueError),
    ("conv_transpose_output_padding", lambda m, d: _f(m).conv_transpose2d(_t(m, d, 1, 1, 4, 4), _t(m, d, 1, 1, 3, 3),
                                                                          output_padding=2), "RuntimeError",
     ValueError),
    ("affine_grid_3d_size", lambda m, d: _f(m).affine_grid(_t(m, d, 1, 2, 3), (1, 1, 3), align_corners=False),
     "NotImplementedError", ValueError),
    ("cosine_embedding_target_size", lambda m, d: _f(m).cosine_embedding_loss(_t(m, d, 2, 3), _t(m, d, 2, 3),
                                                                              _t(m, d, 3)), "RuntimeError",
     ValueError),
    # (already torch's type)
    ("embedding_out_of_range", lambda m, d: m.nn.Embedding(5, 2).to(d)(_ints(m, d, 7)), "IndexError", IndexError),
    ("bce_shapes", lambda m, d: _f(m).binary_cross_entropy(_t(m, d, 3) * 0.5, _t(m, d, 4) * 0.5), "ValueError",
     ValueError),
    ("dropout_p", lambda m, d: m.nn.Dropout(1.5), "ValueError", ValueError),
    ("sequential_index", lambda m, d: m.nn.Sequential(m.nn.ReLU())[3], "IndexError", IndexError),
]

OPTIM_AND_SERIALIZATION = [
    ("load_truncated", lambda m, d: _truncated_load(m), "RuntimeError", ValueError),
    ("load_empty_file", lambda m, d: m.load(io.BytesIO(b"")), "EOFError", tg.SerializationError),
    ("load_text_file", lambda m, d: m.load(io.BytesIO(b"garbage data here")), "UnpicklingError",
     tg.SerializationError),
    ("load_directory", lambda m, d: m.load("/"), "IsADirectoryError", tg.SerializationError),
    ("load_of_an_int", lambda m, d: m.load(5), "AttributeError", TypeError),
    ("save_to_an_int", lambda m, d: m.save({"w": m.ones(3)}, 5), "AttributeError", TypeError),
    ("to_unknown_device", lambda m, d: _t(m, d, 3).to("nodevice"), "RuntimeError", ValueError),
    # (already torch's type)
    ("load_missing_file", lambda m, d: m.load("/nonexistent/checkpoint.pt"), "FileNotFoundError", FileNotFoundError),
    ("sgd_negative_lr", lambda m, d: _sgd(m, lr=-1.0), "ValueError", ValueError),
    ("adam_betas", lambda m, d: m.optim.Adam([m.nn.Parameter(m.ones(3))], betas=(1.5, 0.9)), "ValueError",
     ValueError),
    ("optimizer_of_ints", lambda m, d: _sgd(m, 1, 2, lr=0.1), "TypeError", TypeError),
    ("optimizer_load_group_count", lambda m, d: _load_groups_twice(m), "ValueError", ValueError),
    ("optimizer_group_without_params", lambda m, d: m.optim.SGD([{"lr": 0.1}], lr=0.1), "KeyError", ValueError),
    ("optimizer_load_without_keys", lambda m, d: _sgd(m, lr=0.1).load_state_dict({}), "KeyError", ValueError),
    ("tensor_dataset_sizes", lambda m, d: m.utils.data.TensorDataset(_t(m, d, 3), _t(m, d, 4)), "AssertionError",
     ValueError),
    ("concat_dataset_empty", lambda m, d: m.utils.data.ConcatDataset([]), "AssertionError", ValueError),
    ("weighted_sampler_negative", lambda m, d: list(m.utils.data.WeightedRandomSampler([-1.0, 1.0], 2)),
     "RuntimeError", ValueError),
    ("weighted_sampler_zeros", lambda m, d: list(m.utils.data.WeightedRandomSampler([0.0, 0.0], 2)),
     "RuntimeError", ValueError),
    ("weighted_sampler_2d", lambda m, d: list(m.utils.data.WeightedRandomSampler([[1.0, 1.0]], 2)),
     "ValueError", ValueError),
    ("scheduler_of_int", lambda m, d: m.optim.lr_scheduler.StepLR(3, step_size=1), "TypeError", TypeError),
]

CASES = TENSOR_OPS + AUTOGRAD + NN + OPTIM_AND_SERIALIZATION


def _raised(call, lib, device):
    """The exception that call(lib, device) raises (None if it returns)."""
    try:
        with warnings.catch_warnings():  # (torch's mse_loss warns before it raises)
            warnings.simplefilter("ignore")
            call(lib, device)
    except Exception as e:  # noqa: BLE001  (any type: the point is which)
        return e
    return None


# the exception types a case may expect: the built-in ones, and pickle's (torch.load's of a file that is no zip)
_KNOWN = {**vars(builtins), "UnpicklingError": pickle.UnpicklingError}


def _builtin_base(kind):
    """kind, or its nearest base that is a built-in exception (torch's _LinAlgError: RuntimeError)."""
    return next(k for k in kind.__mro__ if _KNOWN.get(k.__name__) is k)


@pytest.mark.parametrize("call,expected,before", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_type_is_torchs(device, call, expected, before):
    want = _KNOWN[expected]
    if torch is not None:
        theirs = _raised(call, torch, "cpu")
        assert theirs is not None, "torch accepts this call"
        want = _builtin_base(type(theirs))
        assert want.__name__ == expected, f"torch raises {type(theirs).__name__}: {theirs}"
    ours = _raised(call, tg, device)
    assert ours is not None, "the call was accepted"
    assert isinstance(ours, want), f"{type(ours).__name__} is not a {want.__name__}: {ours}"
    assert isinstance(ours, before), f"no longer a {before.__name__}: {ours}"  # (code catching that still works)

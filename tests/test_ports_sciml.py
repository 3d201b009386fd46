"""Scientific-ML and probabilistic programs, ported: each written once, as its authors write it, against a module
``T`` (torch or tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and data for a
few steps in float64; losses, outputs, gradients and final weights agree to ~1e-10. The standard normal draws
behind ``Normal.rsample`` are taken from numpy arrays made outside, so both libraries see the same ones. Skipped
without torch.

Programs: a physics-informed network for Burgers' equation (maziarraissi's PyTorch port: the inverse problem with
learnable lambdas, u_t / u_x / u_xx by autograd.grad with create_graph, Adam then LBFGS with strong Wolfe); a neural
ODE (a fixed-step RK4 odeint in torch ops, the adjoint method as a custom autograd.Function integrating the
augmented dynamics backward with autograd.grad(allow_unused=True), checked against backprop through RK4) and an
ODE-RNN on irregular times with a GRUCell; a heat-equation PINN in torch.func style (Sobol collocation points,
vmap(grad(grad)), functional_call, grad_and_value); Greydanus' Hamiltonian neural network and a Lagrangian neural
network (autograd.functional.hessian, and torch.func's vmap(hessian) / jacrev); exact GP regression (softplus
hyperparameters, cdist, cholesky, cholesky_solve, solve_triangular, triangular_solve, the marginal likelihood);
Bayes by backprop with a scale-mixture prior and a VAE (Normal.rsample, Independent, kl_divergence); a planar flow
(the u-hat constraint) and MADE / MAF with mask buffers; SIREN (its uniform_ init under no_grad, gradient and
laplacian of the output); a Fourier neural operator layer (rfft2 / irfft2, complex weights by einsum) and DeepONet;
efficient-kan's B-spline KAN (lstsq coefficients, update_grid with concatenate(dim=), the entropy regularization);
Stein variational gradient descent (the median heuristic) and HMC's leapfrog on a Gaussian mixture; a whitened
sparse variational GP (transform_to(lower_cholesky), MultivariateNormal KL, Gauss-Hermite quadrature); Yang Song's
score-based SDE tutorial (Gaussian Fourier features, a small U-Net score model, Euler-Maruyama sampling); torchsde's
latent SDE example (a GRU context encoder, the logqp path term, kl_divergence of the initial states, KL annealing).
"""
import math
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, rng as _rng, state as _state

pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),  # (torch's
              pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated:UserWarning")]  # distributions')


@pytest.fixture
def normal_draws(monkeypatch):
    """normal_draws(arrays): from then on the standard normal draws behind Normal.rsample, in torch and in tg, are
    these numpy arrays, in order (each library is given its own copy of the queue by calling it again)."""
    import tinygrad_rnn.distributions.continuous as tg_continuous
    import torch.distributions.normal as torch_normal

    def install(arrays):
        queue = list(arrays)

        def draw(T, shape):
            eps = queue.pop(0)
            assert tuple(eps.shape) == tuple(shape), (eps.shape, shape)
            return T.tensor(eps)
        monkeypatch.setattr(torch_normal, "_standard_normal",
                            lambda shape, dtype=None, device=None: draw(torch_normal.torch, shape))
        monkeypatch.setattr(tg_continuous, "standard_normal", lambda shape, like: draw(tg, shape))
        return queue
    return install


# ------------------------------------------------------------------------------------------------------- the programs
def pinn_burgers(T, sd, X, u, lb, ub):
    """maziarraissi's PINNs, Burgers' inverse problem as its PyTorch port writes it: a tanh DNN built from an
    OrderedDict, lambda_1 / lambda_2 as Parameters registered on it, u_t, u_x, u_xx by autograd.grad with
    grad_outputs=ones_like and create_graph, the residual loss; Adam steps, then LBFGS(strong_wolfe) with a closure."""
    class DNN(T.nn.Module):
        def __init__(self, layers):
            super(DNN, self).__init__()
            self.depth = len(layers) - 1
            self.activation = T.nn.Tanh
            layer_list = list()
            for i in range(self.depth - 1):
                layer_list.append(('layer_%d' % i, T.nn.Linear(layers[i], layers[i + 1])))
                layer_list.append(('activation_%d' % i, self.activation()))
            layer_list.append(('layer_%d' % (self.depth - 1), T.nn.Linear(layers[-2], layers[-1])))
            layerDict = OrderedDict(layer_list)
            self.layers = T.nn.Sequential(layerDict)
        def forward(self, x):
            out = self.layers(x)
            return out
    class PhysicsInformedNN():
        def __init__(self, X, u, layers, lb, ub):
            self.lb = T.tensor(lb)
            self.ub = T.tensor(ub)
            self.x = T.tensor(X[:, 0:1], requires_grad=True)
            self.t = T.tensor(X[:, 1:2], requires_grad=True)
            self.u = T.tensor(u)
            self.lambda_1 = T.tensor([0.0], requires_grad=True)
            self.lambda_2 = T.tensor([-6.0], requires_grad=True)
            self.lambda_1 = T.nn.Parameter(self.lambda_1)
            self.lambda_2 = T.nn.Parameter(self.lambda_2)
            self.dnn = DNN(layers)
            self.dnn.register_parameter('lambda_1', self.lambda_1)
            self.dnn.register_parameter('lambda_2', self.lambda_2)
            self.optimizer = T.optim.LBFGS(
                self.dnn.parameters(), lr=1.0, max_iter=6, max_eval=10, history_size=50, tolerance_grad=1e-5,
                tolerance_change=1.0 * np.finfo(float).eps, line_search_fn="strong_wolfe")
            self.optimizer_Adam = T.optim.Adam(self.dnn.parameters(), lr=1e-2)
            self.iter = 0
            self.losses = []
        def net_u(self, x, t):
            X = T.cat([x, t], dim=1)
            H = 2.0 * (X - self.lb) / (self.ub - self.lb) - 1.0
            u = self.dnn(H)
            return u
        def net_f(self, x, t):
            lambda_1 = self.lambda_1
            lambda_2 = T.exp(self.lambda_2)
            u = self.net_u(x, t)
            u_t = T.autograd.grad(u, t, grad_outputs=T.ones_like(u), retain_graph=True, create_graph=True)[0]
            u_x = T.autograd.grad(u, x, grad_outputs=T.ones_like(u), retain_graph=True, create_graph=True)[0]
            u_xx = T.autograd.grad(u_x, x, grad_outputs=T.ones_like(u_x), retain_graph=True, create_graph=True)[0]
            f = u_t + lambda_1 * u * u_x - lambda_2 * u_xx
            return f
        def loss_func(self):
            self.optimizer.zero_grad()
            u_pred = self.net_u(self.x, self.t)
            f_pred = self.net_f(self.x, self.t)
            loss = T.mean((self.u - u_pred) ** 2) + T.mean(f_pred ** 2)
            loss.backward()
            self.iter += 1
            self.losses.append(loss.item())
            return loss
        def train(self, nIter):
            self.dnn.train()
            for epoch in range(nIter):
                u_pred = self.net_u(self.x, self.t)
                f_pred = self.net_f(self.x, self.t)
                loss = T.mean((self.u - u_pred) ** 2) + T.mean(f_pred ** 2)
                self.optimizer_Adam.zero_grad()
                loss.backward()
                self.optimizer_Adam.step()
                self.losses.append(loss.item())
            grads = _grads(self.dnn)
            self.optimizer.step(self.loss_func)
            return grads
        def predict(self, X):
            x = T.tensor(X[:, 0:1], requires_grad=True)
            t = T.tensor(X[:, 1:2], requires_grad=True)
            self.dnn.eval()
            u = self.net_u(x, t)
            f = self.net_f(x, t)
            u = u.detach().cpu().numpy()
            f = f.detach().cpu().numpy()
            return u, f
    model = PhysicsInformedNN(X, u, [2, 12, 12, 1], lb, ub)
    if sd is None:
        return _state(model.dnn)
    _load(T, model.dnn, sd)
    grads = model.train(3)
    u_pred, f_pred = model.predict(X[::2])
    return [np.array(model.losses), grads, u_pred, f_pred, model.lambda_1, T.exp(model.lambda_2),
            model.dnn.state_dict(), np.array(model.iter)]


def test_pinn_burgers_inverse_adam_then_lbfgs(torch):
    rng = _rng()
    X = np.stack([rng.uniform(-1, 1, 24), rng.uniform(0, 1, 24)], 1)
    u = -np.sin(np.pi * X[:, 0:1]) * np.exp(-X[:, 1:2])
    lb, ub = X.min(0), X.max(0)
    sd = pinn_burgers(torch, None, X, u, lb, ub)
    _compare(pinn_burgers(tg, sd, X, u, lb, ub), pinn_burgers(torch, sd, X, u, lb, ub))


def neural_ode(T, sd, z0, ts, target, adjoint):
    """msurtsukov's 'Neural ODEs' notebook: ODEF.forward_with_grad (autograd.grad over (z, t, *parameters) with
    allow_unused), flatten_parameters, ODEAdjoint as an autograd.Function whose backward integrates the augmented
    dynamics backward in time under no_grad (set_grad_enabled inside), with a fixed-step RK4 ode_solve; or plain
    backprop through the same solver (torchdiffeq's odeint without adjoint). Adam on an MSE to a target path."""
    nn = T.nn
    def ode_solve(z0, t0, t1, f, n_steps=4):
        h = (t1 - t0) / n_steps
        t = t0
        z = z0
        for i_step in range(n_steps):
            k1 = f(z, t)
            k2 = f(z + 0.5 * h * k1, t + 0.5 * h)
            k3 = f(z + 0.5 * h * k2, t + 0.5 * h)
            k4 = f(z + h * k3, t + h)
            z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            t = t + h
        return z
    class ODEF(nn.Module):
        def forward_with_grad(self, z, t, grad_outputs):
            batch_size = z.shape[0]
            out = self.forward(z, t)
            a = grad_outputs
            adfdz, adfdt, *adfdp = T.autograd.grad(
                (out,), (z, t) + tuple(self.parameters()), grad_outputs=(a), allow_unused=True, retain_graph=True)
            if adfdp is not None:
                adfdp = T.cat([p_grad.flatten() for p_grad in adfdp]).unsqueeze(0)
                adfdp = adfdp.expand(batch_size, -1) / batch_size
            if adfdt is not None:
                adfdt = adfdt.expand(batch_size, 1) / batch_size
            return out, adfdz, adfdt, adfdp
        def flatten_parameters(self):
            p_shapes = []
            flat_parameters = []
            for p in self.parameters():
                p_shapes.append(p.size())
                flat_parameters.append(p.flatten())
            return T.cat(flat_parameters)
    class ODEAdjoint(T.autograd.Function):
        @staticmethod
        def forward(ctx, z0, t, flat_parameters, func):
            assert isinstance(func, ODEF)
            bs, *z_shape = z0.size()
            time_len = t.size(0)
            with T.no_grad():
                z = T.zeros(time_len, bs, *z_shape).to(z0)
                z[0] = z0
                for i_t in range(time_len - 1):
                    z0 = ode_solve(z0, t[i_t], t[i_t + 1], func)
                    z[i_t + 1] = z0
            ctx.func = func
            ctx.save_for_backward(t, z.clone(), flat_parameters)
            return z
        @staticmethod
        def backward(ctx, dLdz):
            func = ctx.func
            t, z, flat_parameters = ctx.saved_tensors
            time_len, bs, *z_shape = z.size()
            n_dim = np.prod(z_shape)
            n_params = flat_parameters.size(0)
            def augmented_dynamics(aug_z_i, t_i):
                z_i, a = aug_z_i[:, :n_dim], aug_z_i[:, n_dim:2 * n_dim]
                z_i = z_i.view(bs, *z_shape)
                a = a.view(bs, *z_shape)
                with T.set_grad_enabled(True):
                    t_i = t_i.detach().requires_grad_(True)
                    z_i = z_i.detach().requires_grad_(True)
                    func_eval, adfdz, adfdt, adfdp = func.forward_with_grad(z_i, t_i, grad_outputs=a)
                    adfdz = adfdz.to(z_i) if adfdz is not None else T.zeros(bs, *z_shape).to(z_i)
                    adfdp = adfdp.to(z_i) if adfdp is not None else T.zeros(bs, n_params).to(z_i)
                    adfdt = adfdt.to(z_i) if adfdt is not None else T.zeros(bs, 1).to(z_i)
                func_eval = func_eval.view(bs, n_dim)
                adfdz = adfdz.view(bs, n_dim)
                return T.cat((func_eval, -adfdz, -adfdp, -adfdt), dim=1)
            dLdz = dLdz.view(time_len, bs, n_dim)
            with T.no_grad():
                adj_z = T.zeros(bs, n_dim).to(dLdz)
                adj_p = T.zeros(bs, n_params).to(dLdz)
                adj_t = T.zeros(time_len, bs, 1).to(dLdz)
                for i_t in range(time_len - 1, 0, -1):
                    z_i = z[i_t]
                    t_i = t[i_t]
                    f_i = func(z_i, t_i).view(bs, n_dim)
                    dLdz_i = dLdz[i_t]
                    dLdt_i = T.bmm(T.transpose(dLdz_i.unsqueeze(-1), 1, 2), f_i.unsqueeze(-1))[:, 0]
                    adj_z += dLdz_i
                    adj_t[i_t] = adj_t[i_t] - dLdt_i
                    aug_z = T.cat((z_i.view(bs, n_dim), adj_z, T.zeros(bs, n_params).to(z), adj_t[i_t]), dim=-1)
                    aug_ans = ode_solve(aug_z, t_i, t[i_t - 1], augmented_dynamics)
                    adj_z[:] = aug_ans[:, n_dim:2 * n_dim]
                    adj_p[:] += aug_ans[:, 2 * n_dim:2 * n_dim + n_params]
                    adj_t[i_t - 1] = aug_ans[:, 2 * n_dim + n_params:]
                    del aug_z, aug_ans
                dLdz_0 = dLdz[0]
                dLdt_0 = T.bmm(T.transpose(dLdz_0.unsqueeze(-1), 1, 2), f_i.unsqueeze(-1))[:, 0]
                adj_z += dLdz_0
                adj_t[0] = adj_t[0] - dLdt_0
            return adj_z.view(bs, *z_shape), adj_t, adj_p, None
    class NeuralODE(nn.Module):
        def __init__(self, func):
            super(NeuralODE, self).__init__()
            assert isinstance(func, ODEF)
            self.func = func
        def forward(self, z0, t=T.Tensor([0., 1.]), return_whole_sequence=False):
            t = t.to(z0)
            if adjoint:
                z = ODEAdjoint.apply(z0, t, self.func.flatten_parameters(), self.func)
            else:
                zs = [z0]
                for i_t in range(t.size(0) - 1):
                    zs.append(ode_solve(zs[-1], t[i_t], t[i_t + 1], self.func))
                z = T.stack(zs)
            if return_whole_sequence:
                return z
            else:
                return z[-1]
    class LinearODEF(ODEF):
        def __init__(self, dim, hidden):
            super(LinearODEF, self).__init__()
            self.lin1 = nn.Linear(dim, hidden)
            self.lin2 = nn.Linear(hidden, dim, bias=False)
            self.time_scale = nn.Parameter(T.tensor([0.3]))
        def forward(self, x, t):
            return self.lin2(T.tanh(self.lin1(x))) + T.sin(t) * self.time_scale * x
    ode = NeuralODE(LinearODEF(2, 8))
    if sd is None:
        return _state(ode)
    _load(T, ode, sd)
    optimizer = T.optim.Adam(ode.parameters(), lr=0.01)
    out = []
    for step in range(2):
        z = ode(T.tensor(z0), T.tensor(ts), return_whole_sequence=True)
        loss = F_mse(T, z, T.tensor(target))
        optimizer.zero_grad()
        loss.backward()
        out += [z, loss, _grads(ode)]
        optimizer.step()
    return out + [ode.state_dict()]


def F_mse(T, a, b):
    return T.nn.functional.mse_loss(a, b)


@pytest.mark.parametrize("adjoint", [True, False])
def test_neural_ode_adjoint_and_rk4_backprop(torch, adjoint):
    rng = _rng(1)
    z0, ts = rng.standard_normal((3, 2)), np.array([0.0, 0.3, 0.5, 0.9])
    target = rng.standard_normal((4, 3, 2))
    sd = neural_ode(torch, None, z0, ts, target, adjoint)
    ours = neural_ode(tg, sd, z0, ts, target, adjoint)
    _compare(ours, neural_ode(torch, sd, z0, ts, target, adjoint))
    if adjoint:  # the adjoint's gradients: those of backprop through RK4 up to the solver's error
        _compare(ours, neural_ode(tg, sd, z0, ts, target, False), tol=1e-5)


def hnn(T, sd, x, dxdt):
    """greydanus/hamiltonian-nn: an MLP with orthogonal_ init giving (F1, F2), time_derivative by autograd.grad of
    F2.sum() with create_graph and the permutation tensor M (solenoidal field), or of F1 too (both fields); the
    L2 loss on time derivatives, Adam with weight_decay; then the integrated trajectory's first steps."""
    class MLP(T.nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim, nonlinearity='tanh'):
            super(MLP, self).__init__()
            self.linear1 = T.nn.Linear(input_dim, hidden_dim)
            self.linear2 = T.nn.Linear(hidden_dim, hidden_dim)
            self.linear3 = T.nn.Linear(hidden_dim, output_dim, bias=None)
            for l in [self.linear1, self.linear2, self.linear3]:
                T.nn.init.orthogonal_(l.weight)
            self.nonlinearity = T.tanh
        def forward(self, x, separate_fields=False):
            h = self.nonlinearity(self.linear1(x))
            h = self.nonlinearity(self.linear2(h))
            return self.linear3(h)
    class HNN(T.nn.Module):
        def __init__(self, input_dim, differentiable_model, field_type='solenoidal', baseline=False,
                     assume_canonical_coords=True):
            super(HNN, self).__init__()
            self.baseline = baseline
            self.differentiable_model = differentiable_model
            self.assume_canonical_coords = assume_canonical_coords
            self.M = self.permutation_tensor(input_dim)
            self.field_type = field_type
        def forward(self, x):
            if self.baseline:
                return self.differentiable_model(x)
            y = self.differentiable_model(x)
            assert y.dim() == 2 and y.shape[1] == 2, "Output tensor should have shape [batch_size, 2]"
            return y.split(1, 1)
        def time_derivative(self, x, t=None, separate_fields=False):
            if self.baseline:
                return self.differentiable_model(x)
            F1, F2 = self.forward(x)
            conservative_field = T.zeros_like(x)
            solenoidal_field = T.zeros_like(x)
            if self.field_type != 'solenoidal':
                dF1 = T.autograd.grad(F1.sum(), x, create_graph=True)[0]
                conservative_field = dF1 @ T.eye(*self.M.shape)
            if self.field_type != 'conservative':
                dF2 = T.autograd.grad(F2.sum(), x, create_graph=True)[0]
                solenoidal_field = dF2 @ self.M.t()
            if separate_fields:
                return [conservative_field, solenoidal_field]
            return conservative_field + solenoidal_field
        def permutation_tensor(self, n):
            M = None
            if self.assume_canonical_coords:
                M = T.eye(n)
                M = T.cat([M[n // 2:], -M[:n // 2]])
            else:
                M = T.ones(n, n)
                M *= 1 - T.eye(n)
                M[::2] *= -1
                M[:, ::2] *= -1
                for i in range(n):
                    for j in range(i + 1, n):
                        M[i, j] *= -1
            return M
    def L2_loss(u, v):
        return (u - v).pow(2).mean()
    out = []
    for field_type, canonical in (('solenoidal', True), ('both', False)):
        model = HNN(2, differentiable_model=MLP(2, 16, 2), field_type=field_type, assume_canonical_coords=canonical)
        if sd is None:
            return _state(model)
        _load(T, model, sd)
        optim = T.optim.Adam(model.parameters(), 1e-2, weight_decay=1e-4)
        x_ = T.tensor(x, requires_grad=True, dtype=T.float64)
        dxdt_ = T.tensor(dxdt)
        for step in range(3):
            dxdt_hat = model.time_derivative(x_)
            loss = L2_loss(dxdt_, dxdt_hat)
            loss.backward()
            grad = T.cat([p.grad.flatten() for p in model.parameters()]).clone()
            optim.step()
            optim.zero_grad()
            out += [loss, dxdt_hat, grad]
        out += [model.M, model.time_derivative(x_, separate_fields=True)]
        y = T.tensor(x[:1], requires_grad=True)  # a few Euler steps of the learned field (the integrate_model idea)
        path = [y]
        for _ in range(3):
            y = y + 0.1 * model.time_derivative(y)
            path.append(y)
        out += [T.cat(path), model.state_dict()]
    return out


def test_hamiltonian_nn(torch):
    rng = _rng(2)
    q, p = rng.standard_normal((2, 10))
    x = np.stack([q, p], 1)
    dxdt = np.stack([p, -q], 1)  # the ideal spring
    sd = hnn(torch, None, x, dxdt)
    _compare(hnn(tg, sd, x, dxdt), hnn(torch, sd, x, dxdt))


def lnn(T, sd, x, xt_true, func_api):
    """A Lagrangian neural network (Cranmer et al., as PyTorch ports write it): L(q, q_dot) an MLP with softplus,
    the Euler-Lagrange acceleration q_tt = (d2L/dq_dot2)^-1 (dL/dq - d2L/dq_dot dq q_dot) from the per-sample
    Hessian by torch.autograd.functional.hessian(create_graph=True) and the gradient by autograd.grad, or from
    torch.func's vmap(hessian) and vmap(jacrev) over functional_call; the loss on the accelerations, Adam."""
    nn = T.nn
    class LNN(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.n = n
            self.net = nn.Sequential(nn.Linear(2 * n, 16), nn.Softplus(), nn.Linear(16, 16), nn.Softplus(),
                                     nn.Linear(16, 1))
        def lagrangian(self, x):
            return self.net(x).squeeze(-1)
        def forward(self, x):
            n = self.n
            q_t = x[:, n:]
            if func_api:
                params = dict(self.named_parameters())
                def L(p, xi):
                    return T.func.functional_call(self, p, (xi.unsqueeze(0),), {}, strict=False).sum()
                def L_of_x(xi, p):
                    return T.func.functional_call(self.net, p, (xi,)).squeeze(-1)
                inner = {k[len('net.'):]: v for k, v in params.items()}
                H = T.func.vmap(T.func.hessian(L_of_x), in_dims=(0, None))(x, inner)
                J = T.func.vmap(T.func.jacrev(L_of_x), in_dims=(0, None))(x, inner)
            else:
                x = x.requires_grad_(True) if not x.requires_grad else x
                J = T.autograd.grad(self.lagrangian(x).sum(), x, create_graph=True)[0]
                H = T.stack([T.autograd.functional.hessian(lambda xi: self.lagrangian(xi), xi, create_graph=True)
                             for xi in x])
            A = J[:, :n]
            B = H[:, n:, n:]
            C = H[:, n:, :n]
            q_tt = T.linalg.solve(B, A - (C @ q_t.unsqueeze(-1)).squeeze(-1))
            return T.cat([q_t, q_tt], dim=1)
    model = LNN(2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-3)
    out = []
    for step in range(2):
        xt = model(T.tensor(x))
        loss = T.nn.functional.l1_loss(xt, T.tensor(xt_true))
        opt.zero_grad()
        loss.backward()
        out += [xt, loss, _grads(model)]
        opt.step()
    return out + [model.state_dict()]


@pytest.mark.parametrize("func_api", [False, True])
def test_lagrangian_nn_hessian(torch, func_api):
    rng = _rng(3)
    x = rng.standard_normal((5, 4))
    xt_true = np.concatenate([x[:, 2:], -x[:, :2]], 1)
    sd = lnn(torch, None, x, xt_true, False)
    ours = lnn(tg, sd, x, xt_true, func_api)
    _compare(ours, lnn(torch, sd, x, xt_true, func_api))
    if func_api:
        _compare(ours, lnn(tg, sd, x, xt_true, False))


def exact_gp(T, sd, X, y, Xs, solver):
    """Exact GP regression as written by hand (the GPyTorch-free tutorials): softplus-constrained lengthscale,
    outputscale and noise, an RBF kernel by cdist, K = LL' by linalg.cholesky, alpha by cholesky_solve, log det by
    the diagonal of L, the negative marginal log likelihood, Adam; the predictive mean and variance by
    linalg.solve_triangular or the older triangular_solve, and a posterior sample by MultivariateNormal's scale_tril."""
    nn, F = T.nn, T.nn.functional
    class ExactGP(nn.Module):
        def __init__(self):
            super().__init__()
            self.raw_lengthscale = nn.Parameter(T.zeros(1))
            self.raw_outputscale = nn.Parameter(T.zeros(1))
            self.raw_noise = nn.Parameter(T.tensor([-2.0]))
        @property
        def lengthscale(self):
            return F.softplus(self.raw_lengthscale)
        def kernel(self, x1, x2):
            ls = self.lengthscale
            d2 = T.cdist(x1 / ls, x2 / ls).pow(2)
            return F.softplus(self.raw_outputscale) * T.exp(-0.5 * d2)
        def K(self, X):
            n = X.shape[0]
            return self.kernel(X, X) + (F.softplus(self.raw_noise) + 1e-6) * T.eye(n)
        def nmll(self, X, y):
            n = X.shape[0]
            L = T.linalg.cholesky(self.K(X))
            alpha = T.cholesky_solve(y.unsqueeze(-1), L)
            data_fit = 0.5 * (y.unsqueeze(-1) * alpha).sum()
            complexity = T.log(T.diagonal(L)).sum()
            return (data_fit + complexity + 0.5 * n * math.log(2 * math.pi)) / n
        @T.no_grad()
        def predict(self, X, y, Xs):
            L = T.linalg.cholesky(self.K(X))
            Ks = self.kernel(X, Xs)
            if solver == "solve_triangular":
                a = T.linalg.solve_triangular(L, y.unsqueeze(-1), upper=False)
                alpha = T.linalg.solve_triangular(L.T, a, upper=True)
                v = T.linalg.solve_triangular(L, Ks, upper=False)
            else:
                a = T.triangular_solve(y.unsqueeze(-1), L, upper=False).solution
                alpha = T.triangular_solve(a, L.t(), upper=True)[0]
                v, _ = T.triangular_solve(Ks, L, upper=False)
            mean = (Ks.T @ alpha).squeeze(-1)
            var = F.softplus(self.raw_outputscale) - (v ** 2).sum(0)
            cov = self.kernel(Xs, Xs) - v.T @ v + 1e-8 * T.eye(Xs.shape[0])
            return mean, var, cov
    gp = ExactGP()
    if sd is None:
        return _state(gp)
    _load(T, gp, sd)
    X, y, Xs = T.tensor(X), T.tensor(y), T.tensor(Xs)
    opt = T.optim.Adam(gp.parameters(), lr=0.1)
    out = []
    for i in range(4):
        opt.zero_grad()
        loss = gp.nmll(X, y)
        loss.backward()
        out += [loss, _grads(gp)]
        opt.step()
    mean, var, cov = gp.predict(X, y, Xs)
    post = T.distributions.MultivariateNormal(mean, scale_tril=T.linalg.cholesky(cov))
    return out + [mean, var, post.log_prob(mean + 0.1), post.entropy(), gp.lengthscale, gp.state_dict()]


@pytest.mark.parametrize("solver", ["solve_triangular", "triangular_solve"])
def test_exact_gp_marginal_likelihood(torch, solver):
    rng = _rng(4)
    X = rng.uniform(-2, 2, (12, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] + 0.05 * rng.standard_normal(12)
    Xs = rng.uniform(-2, 2, (5, 2))
    sd = exact_gp(torch, None, X, y, Xs, solver)
    _compare(exact_gp(tg, sd, X, y, Xs, solver), exact_gp(torch, sd, X, y, Xs, solver))


def bayes_by_backprop(T, sd, x, target, draws):
    """nitarshan's 'Weight Uncertainty in Neural Networks' notebook: Gaussian (mu, rho, sigma = log1p(exp(rho)))
    variational weights drawn by the reparameterization (here Normal(mu, sigma).rsample()), ScaleMixtureGaussian's
    prior with FloatTensor sigmas, BayesianLinear storing log_prior / log_variational_posterior, sample_elbo filling
    outputs[i] of a zeros tensor, nll_loss(size_average=False); Adam; then the test ensemble (sample=True)."""
    nn, F = T.nn, T.nn.functional
    PI = 0.5
    SIGMA_1 = T.FloatTensor([math.exp(-0)])
    SIGMA_2 = T.FloatTensor([math.exp(-6)])
    BATCH_SIZE, CLASSES, SAMPLES, NUM_BATCHES = x.shape[0], 3, 2, 4
    class Gaussian(object):
        def __init__(self, mu, rho):
            super().__init__()
            self.mu = mu
            self.rho = rho
        @property
        def sigma(self):
            return T.log1p(T.exp(self.rho))
        def sample(self):
            return T.distributions.Normal(self.mu, self.sigma).rsample()
        def log_prob(self, input):
            return (-math.log(math.sqrt(2 * math.pi)) - T.log(self.sigma)
                    - ((input - self.mu) ** 2) / (2 * self.sigma ** 2)).sum()
    class ScaleMixtureGaussian(object):
        def __init__(self, pi, sigma1, sigma2):
            super().__init__()
            self.pi = pi
            self.sigma1 = sigma1
            self.sigma2 = sigma2
            self.gaussian1 = T.distributions.Normal(0, sigma1)
            self.gaussian2 = T.distributions.Normal(0, sigma2)
        def log_prob(self, input):
            prob1 = T.exp(self.gaussian1.log_prob(input))
            prob2 = T.exp(self.gaussian2.log_prob(input))
            return (T.log(self.pi * prob1 + (1 - self.pi) * prob2)).sum()
    class BayesianLinear(nn.Module):
        def __init__(self, in_features, out_features):
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.weight_mu = nn.Parameter(T.Tensor(out_features, in_features).uniform_(-0.2, 0.2))
            self.weight_rho = nn.Parameter(T.Tensor(out_features, in_features).uniform_(-5, -4))
            self.weight = Gaussian(self.weight_mu, self.weight_rho)
            self.bias_mu = nn.Parameter(T.Tensor(out_features).uniform_(-0.2, 0.2))
            self.bias_rho = nn.Parameter(T.Tensor(out_features).uniform_(-5, -4))
            self.bias = Gaussian(self.bias_mu, self.bias_rho)
            self.weight_prior = ScaleMixtureGaussian(PI, SIGMA_1, SIGMA_2)
            self.bias_prior = ScaleMixtureGaussian(PI, SIGMA_1, SIGMA_2)
            self.log_prior = 0
            self.log_variational_posterior = 0
        def forward(self, input, sample=False, calculate_log_probs=False):
            if self.training or sample:
                weight = self.weight.sample()
                bias = self.bias.sample()
            else:
                weight = self.weight.mu
                bias = self.bias.mu
            if self.training or calculate_log_probs:
                self.log_prior = self.weight_prior.log_prob(weight) + self.bias_prior.log_prob(bias)
                self.log_variational_posterior = self.weight.log_prob(weight) + self.bias.log_prob(bias)
            else:
                self.log_prior, self.log_variational_posterior = 0, 0
            return F.linear(input, weight, bias)
    class BayesianNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = BayesianLinear(6, 8)
            self.l2 = BayesianLinear(8, 8)
            self.l3 = BayesianLinear(8, CLASSES)
        def forward(self, x, sample=False):
            x = x.view(-1, 6)
            x = F.relu(self.l1(x, sample))
            x = F.relu(self.l2(x, sample))
            x = F.log_softmax(self.l3(x, sample), dim=1)
            return x
        def log_prior(self):
            return self.l1.log_prior + self.l2.log_prior + self.l3.log_prior
        def log_variational_posterior(self):
            return self.l1.log_variational_posterior + self.l2.log_variational_posterior + \
                self.l3.log_variational_posterior
        def sample_elbo(self, input, target, samples=SAMPLES):
            outputs = T.zeros(samples, BATCH_SIZE, CLASSES)
            log_priors = T.zeros(samples)
            log_variational_posteriors = T.zeros(samples)
            for i in range(samples):
                outputs[i] = self(input, sample=True)
                log_priors[i] = self.log_prior()
                log_variational_posteriors[i] = self.log_variational_posterior()
            log_prior = log_priors.mean()
            log_variational_posterior = log_variational_posteriors.mean()
            negative_log_likelihood = F.nll_loss(outputs.mean(0), target, size_average=False)
            loss = (log_variational_posterior - log_prior) / NUM_BATCHES + negative_log_likelihood
            return loss, log_prior, log_variational_posterior, negative_log_likelihood
    net = BayesianNetwork()
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    optimizer = T.optim.Adam(net.parameters())
    out = []
    net.train()
    data, target = T.tensor(x), T.tensor(target)
    for epoch in range(2):
        net.zero_grad()
        loss, log_prior, log_variational_posterior, negative_log_likelihood = net.sample_elbo(data, target)
        loss.backward()
        optimizer.step()
        out += [loss, log_prior, log_variational_posterior, negative_log_likelihood, _grads(net)]
    net.eval()
    with T.no_grad():
        outputs = T.zeros(SAMPLES + 1, BATCH_SIZE, CLASSES)
        for i in range(SAMPLES):
            outputs[i] = net(data, sample=True)
        outputs[SAMPLES] = net(data, sample=False)
        output = outputs.mean(0)
        preds = outputs.max(2, keepdim=True)[1]
        pred = output.max(1, keepdim=True)[1]
        corrects = preds.eq(target.view_as(pred)).sum(dim=1).squeeze()
    return out + [outputs, preds, corrects, net.state_dict()]


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated:UserWarning")
def test_bayes_by_backprop_scale_mixture_prior(torch, normal_draws):
    rng = _rng(5)
    x, target = rng.standard_normal((5, 6)), rng.integers(0, 3, 5)
    shapes = [(8, 6), (8,), (8, 8), (8,), (3, 8), (3,)]
    draws = [rng.standard_normal(s) for _ in range(6) for s in shapes]
    sd = bayes_by_backprop(torch, None, x, target, None)
    normal_draws(draws)
    theirs = bayes_by_backprop(torch, sd, x, target, draws)
    normal_draws(draws)
    _compare(bayes_by_backprop(tg, sd, x, target, draws), theirs)


def vae(T, sd, x):
    """pytorch/examples' VAE with torch.distributions: q(z|x) = Independent(Normal(mu, exp(0.5 logvar)), 1) and its
    rsample, the prior likewise, kl_divergence(q, prior) against the closed form -0.5 sum(1 + logvar - mu^2 -
    e^logvar), binary_cross_entropy(reduction='sum'); an importance-weighted log-likelihood estimate by logsumexp."""
    nn, F = T.nn, T.nn.functional
    D = T.distributions
    class VAE(nn.Module):
        def __init__(self):
            super(VAE, self).__init__()
            self.fc1 = nn.Linear(12, 10)
            self.fc21 = nn.Linear(10, 3)
            self.fc22 = nn.Linear(10, 3)
            self.fc3 = nn.Linear(3, 10)
            self.fc4 = nn.Linear(10, 12)
        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)
        def reparameterize(self, mu, logvar):
            std = T.exp(0.5 * logvar)
            q = D.Independent(D.Normal(mu, std), 1)
            return q.rsample(), q
        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return T.sigmoid(self.fc4(h3))
        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 12))
            z, q = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar, q
    def loss_function(recon_x, x, mu, logvar, q):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 12), reduction='sum')
        prior = D.Independent(D.Normal(T.zeros_like(mu), T.ones_like(mu)), 1)
        KLD = D.kl_divergence(q, prior).sum()
        KLD_closed = -0.5 * T.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return BCE + KLD, KLD, KLD_closed
    model = VAE()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    out = []
    data = T.tensor(x)
    for epoch in range(2):
        optimizer.zero_grad()
        recon_batch, mu, logvar, q = model(data)
        loss, KLD, KLD_closed = loss_function(recon_batch, data, mu, logvar, q)
        loss.backward()
        optimizer.step()
        out += [recon_batch, loss, KLD, KLD_closed, q.batch_shape, q.event_shape, _grads(model)]
    model.eval()
    with T.no_grad():
        mu, logvar = model.encode(data)
        q = D.Independent(D.Normal(mu, T.exp(0.5 * logvar)), 1)
        z = q.rsample((4,))
        prior = D.Independent(D.Normal(T.zeros(3), T.ones(3)), 1)
        log_px_z = D.Independent(D.Bernoulli(probs=model.decode(z)), 1).log_prob(data)
        log_w = log_px_z + prior.log_prob(z) - q.log_prob(z)
        iwae = T.logsumexp(log_w, dim=0) - math.log(4)
    return out + [z, log_w, iwae, q.entropy(), model.state_dict()]


def test_vae_distributions_kl(torch, normal_draws):
    rng = _rng(6)
    x = (rng.uniform(0, 1, (5, 12)) > 0.5).astype(float)
    draws = [rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.standard_normal((4, 5, 3))]
    sd = vae(torch, None, x)
    normal_draws(draws)
    theirs = vae(torch, sd, x)
    normal_draws(draws)
    ours = vae(tg, sd, x)
    _compare(ours, theirs)
    np.testing.assert_allclose(ours[2].item(), ours[3].item(), rtol=1e-12)  # (the KL's closed form)


def planar_flow(T, sd, draws_n):
    """Rezende & Mohamed's planar flows as the PyTorch tutorials write them: u-hat = u + (m(w'u) - w'u) w / |w|^2
    with m = -1 + softplus, f(z) = z + u-hat tanh(w'z + b), log|det J| = log|1 + psi'u-hat|; the reverse KL to the
    'U1' ring potential from a base Independent(Normal) drawn by rsample; RMSprop."""
    nn, F = T.nn, T.nn.functional
    D = T.distributions
    class PlanarFlow(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.u = nn.Parameter(T.randn(1, dim) * 0.5)
            self.w = nn.Parameter(T.randn(1, dim) * 0.5)
            self.b = nn.Parameter(T.zeros(1))
        def forward(self, z):
            wu = (self.w @ self.u.t()).squeeze()
            m_wu = -1 + F.softplus(wu)
            u_hat = self.u + (m_wu - wu) * self.w / (T.norm(self.w, p=2) ** 2)
            lin = z @ self.w.t() + self.b
            f_z = z + u_hat * T.tanh(lin)
            psi = (1 - T.tanh(lin) ** 2) * self.w
            log_det = T.log(T.abs(1 + psi @ u_hat.t()) + 1e-8).squeeze(-1)
            return f_z, log_det
    class Flow(nn.Module):
        def __init__(self, dim, K):
            super().__init__()
            self.flows = nn.ModuleList([PlanarFlow(dim) for _ in range(K)])
            self.base = D.Independent(D.Normal(T.zeros(dim), T.ones(dim)), 1)
        def forward(self, n):
            z = self.base.rsample((n,))
            log_q = self.base.log_prob(z)
            for flow in self.flows:
                z, log_det = flow(z)
                log_q = log_q - log_det
            return z, log_q
    def U1(z):
        z1 = z[:, 0]
        return 0.5 * ((T.norm(z, dim=1) - 2) / 0.4) ** 2 - T.log(
            T.exp(-0.5 * ((z1 - 2) / 0.6) ** 2) + T.exp(-0.5 * ((z1 + 2) / 0.6) ** 2))
    model = Flow(2, 4)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9)
    out = []
    for it in range(3):
        zk, log_q = model(draws_n)
        loss = (log_q + U1(zk)).mean()
        optimizer.zero_grad()
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        out += [zk, log_q, loss, _grads(model)]
    return out + [model.state_dict()]


def test_planar_flow_u_hat(torch, normal_draws):
    rng = _rng(7)
    draws = [rng.standard_normal((16, 2)) for _ in range(3)]
    sd = planar_flow(torch, None, 16)
    normal_draws(draws)
    theirs = planar_flow(torch, sd, 16)
    normal_draws(draws)
    _compare(planar_flow(tg, sd, 16), theirs)


def made_maf(T, sd, x, z_back):
    """karpathy/pytorch-made's MADE (MaskedLinear with register_buffer('mask'), set_mask copying a numpy uint8 mask
    by .data.copy_, update_masks' orderings) used as the ARMLP of karpathy/pytorch-normalizing-flows' MAF: z = x
    exp(s) + t with flip for parity, the sequential backward pass (x[:, i] = ... in a loop), a logistic prior as
    TransformedDistribution(Uniform, SigmoidTransform().inv), loss -sum(prior_logprob + log_det), Adam."""
    nn, F = T.nn, T.nn.functional
    D = T.distributions
    class MaskedLinear(nn.Linear):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, bias)
            self.register_buffer('mask', T.ones(out_features, in_features))
        def set_mask(self, mask):
            self.mask.data.copy_(T.from_numpy(mask.astype(np.uint8).T))
        def forward(self, input):
            return F.linear(input, self.mask * self.weight, self.bias)
    class MADE(nn.Module):
        def __init__(self, nin, hidden_sizes, nout, num_masks=1, natural_ordering=False):
            super().__init__()
            self.nin = nin
            self.nout = nout
            self.hidden_sizes = hidden_sizes
            assert self.nout % self.nin == 0, "nout must be integer multiple of nin"
            self.net = []
            hs = [nin] + hidden_sizes + [nout]
            for h0, h1 in zip(hs, hs[1:]):
                self.net.extend([MaskedLinear(h0, h1), nn.ReLU()])
            self.net.pop()
            self.net = nn.Sequential(*self.net)
            self.natural_ordering = natural_ordering
            self.num_masks = num_masks
            self.seed = 0
            self.m = {}
            self.update_masks()
        def update_masks(self):
            if self.m and self.num_masks == 1:
                return
            L = len(self.hidden_sizes)
            rng = np.random.RandomState(self.seed)
            self.seed = (self.seed + 1) % self.num_masks
            self.m[-1] = np.arange(self.nin) if self.natural_ordering else rng.permutation(self.nin)
            for l in range(L):
                self.m[l] = rng.randint(self.m[l - 1].min(), self.nin - 1, size=self.hidden_sizes[l])
            masks = [self.m[l - 1][:, None] <= self.m[l][None, :] for l in range(L)]
            masks.append(self.m[L - 1][:, None] < self.m[-1][None, :])
            if self.nout > self.nin:
                k = int(self.nout / self.nin)
                masks[-1] = np.concatenate([masks[-1]] * k, axis=1)
            layers = [l for l in self.net.modules() if isinstance(l, MaskedLinear)]
            for l, m in zip(layers, masks):
                l.set_mask(m)
        def forward(self, x):
            return self.net(x)
    class ARMLP(nn.Module):
        def __init__(self, nin, nout, nh):
            super().__init__()
            self.net = MADE(nin, [nh, nh, nh], nout, num_masks=1, natural_ordering=True)
        def forward(self, x):
            return self.net(x)
    class MAF(nn.Module):
        def __init__(self, dim, parity, net_class=ARMLP, nh=24):
            super().__init__()
            self.dim = dim
            self.net = net_class(dim, dim * 2, nh)
            self.parity = parity
        def forward(self, x):
            st = self.net(x)
            s, t = st.split(self.dim, dim=1)
            z = x * T.exp(s) + t
            z = z.flip(dims=(1,)) if self.parity else z
            log_det = T.sum(s, dim=1)
            return z, log_det
        def backward(self, z):
            x = T.zeros_like(z)
            log_det = T.zeros(z.size(0))
            z = z.flip(dims=(1,)) if self.parity else z
            for i in range(self.dim):
                st = self.net(x.clone())
                s, t = st.split(self.dim, dim=1)
                x[:, i] = (z[:, i] - t[:, i]) * T.exp(-s[:, i])
                log_det += -s[:, i]
            return x, log_det
    class NormalizingFlow(nn.Module):
        def __init__(self, flows):
            super().__init__()
            self.flows = nn.ModuleList(flows)
        def forward(self, x):
            m, _ = x.shape
            log_det = T.zeros(m)
            zs = [x]
            for flow in self.flows:
                x, ld = flow.forward(x)
                log_det += ld
                zs.append(x)
            return zs, log_det
        def backward(self, z):
            m, _ = z.shape
            log_det = T.zeros(m)
            xs = [z]
            for flow in self.flows[::-1]:
                z, ld = flow.backward(z)
                log_det += ld
                xs.append(z)
            return xs, log_det
    class NormalizingFlowModel(nn.Module):
        def __init__(self, prior, flows):
            super().__init__()
            self.prior = prior
            self.flow = NormalizingFlow(flows)
        def forward(self, x):
            zs, log_det = self.flow.forward(x)
            prior_logprob = self.prior.log_prob(zs[-1]).view(x.size(0), -1).sum(1)
            return zs, prior_logprob, log_det
        def backward(self, z):
            xs, log_det = self.flow.backward(z)
            return xs, log_det
    prior = D.TransformedDistribution(D.Uniform(T.zeros(3), T.ones(3)), D.SigmoidTransform().inv)
    flows = [MAF(dim=3, parity=i % 2, nh=8) for i in range(2)]
    model = NormalizingFlowModel(prior, flows)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    model.train()
    out = []
    for k in range(3):
        zs, prior_logprob, log_det = model(T.tensor(x))
        logprob = prior_logprob + log_det
        loss = -T.sum(logprob)
        model.zero_grad()
        loss.backward()
        optimizer.step()
        out += [zs[-1], prior_logprob, log_det, loss, _grads(model)]
    model.eval()
    xs, log_det = model.backward(T.tensor(z_back))
    masks = [b for k, b in model.named_buffers()]
    return out + [xs[-1], log_det, masks, model.state_dict()]


def test_made_maf_masks_and_logistic_prior(torch):
    rng = _rng(8)
    x = rng.standard_normal((10, 3)) * np.array([1.0, 0.5, 2.0])
    z_back = rng.standard_normal((4, 3))
    sd = made_maf(torch, None, x, z_back)
    _compare(made_maf(tg, sd, x, z_back), made_maf(torch, sd, x, z_back))


def siren(T, sd, img, poisson):
    """vsitzmann/siren's explore_siren notebook: SineLayer's init under torch.no_grad() by weight.uniform_, Siren with
    an outermost linear, forward cloning the coordinates with requires_grad_, get_mgrid by linspace and meshgrid
    (no indexing: torch's warning), gradient / divergence / laplace by autograd.grad(create_graph=True); fitting the
    image, or (poisson=True) its gradients; Adam."""
    nn = T.nn
    class SineLayer(nn.Module):
        def __init__(self, in_features, out_features, bias=True, is_first=False, omega_0=30):
            super().__init__()
            self.omega_0 = omega_0
            self.is_first = is_first
            self.in_features = in_features
            self.linear = nn.Linear(in_features, out_features, bias=bias)
            self.init_weights()
        def init_weights(self):
            with T.no_grad():
                if self.is_first:
                    self.linear.weight.uniform_(-1 / self.in_features, 1 / self.in_features)
                else:
                    self.linear.weight.uniform_(-np.sqrt(6 / self.in_features) / self.omega_0,
                                                np.sqrt(6 / self.in_features) / self.omega_0)
        def forward(self, input):
            return T.sin(self.omega_0 * self.linear(input))
    class Siren(nn.Module):
        def __init__(self, in_features, hidden_features, hidden_layers, out_features, outermost_linear=False,
                     first_omega_0=30, hidden_omega_0=30.):
            super().__init__()
            self.net = []
            self.net.append(SineLayer(in_features, hidden_features, is_first=True, omega_0=first_omega_0))
            for i in range(hidden_layers):
                self.net.append(SineLayer(hidden_features, hidden_features, is_first=False, omega_0=hidden_omega_0))
            if outermost_linear:
                final_linear = nn.Linear(hidden_features, out_features)
                with T.no_grad():
                    final_linear.weight.uniform_(-np.sqrt(6 / hidden_features) / hidden_omega_0,
                                                 np.sqrt(6 / hidden_features) / hidden_omega_0)
                self.net.append(final_linear)
            else:
                self.net.append(SineLayer(hidden_features, out_features, is_first=False, omega_0=hidden_omega_0))
            self.net = nn.Sequential(*self.net)
        def forward(self, coords):
            coords = coords.clone().detach().requires_grad_(True)
            output = self.net(coords)
            return output, coords
    def laplace(y, x):
        grad = gradient(y, x)
        return divergence(grad, x)
    def divergence(y, x):
        div = 0.
        for i in range(y.shape[-1]):
            div += T.autograd.grad(y[..., i], x, T.ones_like(y[..., i]), create_graph=True)[0][..., i:i + 1]
        return div
    def gradient(y, x, grad_outputs=None):
        if grad_outputs is None:
            grad_outputs = T.ones_like(y)
        grad = T.autograd.grad(y, [x], grad_outputs=grad_outputs, create_graph=True)[0]
        return grad
    def get_mgrid(sidelen, dim=2):
        tensors = tuple(dim * [T.linspace(-1, 1, steps=sidelen)])
        mgrid = T.stack(T.meshgrid(*tensors), dim=-1)
        mgrid = mgrid.reshape(-1, dim)
        return mgrid
    img_siren = Siren(in_features=2, out_features=1, hidden_features=16, hidden_layers=2, outermost_linear=True)
    if sd is None:
        return _state(img_siren)
    _load(T, img_siren, sd)
    sidelen = img.shape[0]
    model_input = get_mgrid(sidelen, 2).unsqueeze(0)
    ground_truth = T.tensor(img).view(1, -1, 1)
    optim = T.optim.Adam(lr=1e-4, params=img_siren.parameters())
    out = [model_input]
    if poisson:
        coords = get_mgrid(sidelen, 2).requires_grad_(True)
        gt = T.tensor(img).view(-1, 1)
        gt_grad = T.autograd.grad(T.sin(3 * coords).prod(-1, keepdim=True).sum(), coords)[0] + 0 * gt
    for step in range(3):
        model_output, coords = img_siren(model_input)
        if poisson:
            grads = gradient(model_output, coords)
            loss = T.mean((grads - gt_grad.unsqueeze(0)).pow(2).sum(-1))
        else:
            loss = ((model_output - ground_truth) ** 2).mean()
        img_grad = gradient(model_output, coords)
        img_laplacian = laplace(model_output, coords)
        out += [model_output, loss, img_grad.norm(dim=-1), img_laplacian]
        optim.zero_grad()
        loss.backward()
        out.append(_grads(img_siren))
        optim.step()
    return out + [img_siren.state_dict()]


@pytest.mark.filterwarnings("ignore:torch.meshgrid. in an upcoming release:UserWarning")
@pytest.mark.parametrize("poisson", [False, True])
def test_siren_fit_gradient_laplacian(torch, poisson):
    rng = _rng(9)
    img = rng.uniform(-1, 1, (6, 6))
    sd = siren(torch, None, img, poisson)
    _compare(siren(tg, sd, img, poisson), siren(torch, sd, img, poisson))


def fno_deeponet(T, sd, a, u, ys):
    """zongyi-li's FNO2d (SpectralConv2d: rfft2, the corner modes multiplied by complex weights with einsum
    'bixy,ioxy->boxy' into a zero out_ft, irfft2 with s=; 1x1 Conv2d skips, get_grid, gelu; its LpLoss) with Adam
    and StepLR, complex parameters (cdouble here, cfloat there) stepped by Adam; and a DeepONet (branch and trunk
    MLPs joined by einsum 'bi,ni->bn' plus a bias) on the same data."""
    nn, F = T.nn, T.nn.functional
    class SpectralConv2d(nn.Module):
        def __init__(self, in_channels, out_channels, modes1, modes2):
            super(SpectralConv2d, self).__init__()
            self.in_channels = in_channels
            self.out_channels = out_channels
            self.modes1 = modes1
            self.modes2 = modes2
            self.scale = (1 / (in_channels * out_channels))
            self.weights1 = nn.Parameter(
                self.scale * T.rand(in_channels, out_channels, self.modes1, self.modes2, dtype=T.cdouble))
            self.weights2 = nn.Parameter(
                self.scale * T.rand(in_channels, out_channels, self.modes1, self.modes2, dtype=T.cdouble))
        def compl_mul2d(self, input, weights):
            return T.einsum("bixy,ioxy->boxy", input, weights)
        def forward(self, x):
            batchsize = x.shape[0]
            x_ft = T.fft.rfft2(x)
            out_ft = T.zeros(batchsize, self.out_channels, x.size(-2), x.size(-1) // 2 + 1, dtype=T.cdouble,
                             device=x.device)
            out_ft[:, :, :self.modes1, :self.modes2] = \
                self.compl_mul2d(x_ft[:, :, :self.modes1, :self.modes2], self.weights1)
            out_ft[:, :, -self.modes1:, :self.modes2] = \
                self.compl_mul2d(x_ft[:, :, -self.modes1:, :self.modes2], self.weights2)
            x = T.fft.irfft2(out_ft, s=(x.size(-2), x.size(-1)))
            return x
    class FNO2d(nn.Module):
        def __init__(self, modes1, modes2, width):
            super(FNO2d, self).__init__()
            self.modes1 = modes1
            self.modes2 = modes2
            self.width = width
            self.padding = 2
            self.fc0 = nn.Linear(3, self.width)
            self.conv0 = SpectralConv2d(self.width, self.width, self.modes1, self.modes2)
            self.conv1 = SpectralConv2d(self.width, self.width, self.modes1, self.modes2)
            self.w0 = nn.Conv2d(self.width, self.width, 1)
            self.w1 = nn.Conv2d(self.width, self.width, 1)
            self.fc1 = nn.Linear(self.width, 16)
            self.fc2 = nn.Linear(16, 1)
        def forward(self, x):
            grid = self.get_grid(x.shape, x.device)
            x = T.cat((x, grid), dim=-1)
            x = self.fc0(x)
            x = x.permute(0, 3, 1, 2)
            x = F.pad(x, [0, self.padding, 0, self.padding])
            x1 = self.conv0(x)
            x2 = self.w0(x)
            x = x1 + x2
            x = F.gelu(x)
            x1 = self.conv1(x)
            x2 = self.w1(x)
            x = x1 + x2
            x = x[..., :-self.padding, :-self.padding]
            x = x.permute(0, 2, 3, 1)
            x = self.fc1(x)
            x = F.gelu(x)
            x = self.fc2(x)
            return x
        def get_grid(self, shape, device):
            batchsize, size_x, size_y = shape[0], shape[1], shape[2]
            gridx = T.tensor(np.linspace(0, 1, size_x), dtype=T.float)
            gridx = gridx.reshape(1, size_x, 1, 1).repeat([batchsize, 1, size_y, 1])
            gridy = T.tensor(np.linspace(0, 1, size_y), dtype=T.float)
            gridy = gridy.reshape(1, 1, size_y, 1).repeat([batchsize, size_x, 1, 1])
            return T.cat((gridx, gridy), dim=-1).to(device)
    class LpLoss(object):
        def __init__(self, d=2, p=2, size_average=True, reduction=True):
            super(LpLoss, self).__init__()
            self.d, self.p, self.reduction, self.size_average = d, p, reduction, size_average
        def rel(self, x, y):
            num_examples = x.size()[0]
            diff_norms = T.norm(x.reshape(num_examples, -1) - y.reshape(num_examples, -1), self.p, 1)
            y_norms = T.norm(y.reshape(num_examples, -1), self.p, 1)
            if self.reduction:
                if self.size_average:
                    return T.mean(diff_norms / y_norms)
                else:
                    return T.sum(diff_norms / y_norms)
            return diff_norms / y_norms
        def __call__(self, x, y):
            return self.rel(x, y)
    class DeepONet(nn.Module):
        def __init__(self, m, p):
            super().__init__()
            self.branch = nn.Sequential(nn.Linear(m, 16), nn.Tanh(), nn.Linear(16, p))
            self.trunk = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, p), nn.Tanh())
            self.b0 = nn.Parameter(T.zeros(1))
        def forward(self, u, y):
            return T.einsum("bi,ni->bn", self.branch(u), self.trunk(y)) + self.b0
    model = nn.ModuleDict({"fno": FNO2d(3, 2, 4), "deeponet": DeepONet(a.shape[1] * a.shape[2], 6)})
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    scheduler = T.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    myloss = LpLoss(size_average=False)
    out = []
    x, y = T.tensor(a), T.tensor(u)
    for ep in range(3):
        optimizer.zero_grad()
        pred = model["fno"](x.unsqueeze(-1)).reshape(x.shape[0], x.shape[1], x.shape[2])
        l2 = myloss(pred.view(x.shape[0], -1), y.view(x.shape[0], -1))
        g = model["deeponet"](x.flatten(1), T.tensor(ys))
        mse = F.mse_loss(g, y.flatten(1)[:, :ys.shape[0]])
        (l2 + mse).backward()
        optimizer.step()
        scheduler.step()
        out += [pred, l2, g, mse, _grads(model), np.array(scheduler.get_last_lr())]
    return out + [model.state_dict()]


def test_fno_and_deeponet(torch):
    rng = _rng(10)
    a = rng.standard_normal((2, 8, 6))
    u = np.cumsum(a, axis=1) / 4
    ys = rng.uniform(0, 1, (5, 2))
    sd = fno_deeponet(torch, None, a, u, ys)
    _compare(fno_deeponet(tg, sd, a, u, ys), fno_deeponet(torch, sd, a, u, ys))


def ode_rnn(T, sd, data, mask, time_steps):
    """Rubanova's ODE-RNN (YuliaRubanova/latent_ode's run_odernn): between observations the hidden state follows an
    ODE (a fixed-step RK4 odeint over linspace_vector(prev_t, t_i, n) with n from ((t_i - prev_t) / minimum_step)
    .int(), or one Euler step when the gap is short), then a GRUCell reads (data, mask) and the state is kept where
    nothing was observed; init_network_weights; a masked MSE; Adamax."""
    nn = T.nn
    def init_network_weights(net, std=0.1):
        for m in net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0, std=std)
                nn.init.constant_(m.bias, val=0)
    def linspace_vector(start, end, n_points):
        size = np.prod(start.size())
        assert start.size() == end.size()
        if size == 1:
            res = T.linspace(start, end, n_points)
        else:
            res = T.Tensor()
            for i in range(0, start.size(0)):
                res = T.cat((res, T.linspace(start[i], end[i], n_points)), 0)
            res = T.t(res.reshape(start.size(0), n_points))
        return res
    def odeint(func, y0, t):
        ys = [y0]
        y = y0
        for t0, t1 in zip(t[:-1], t[1:]):
            dt = t1 - t0
            k1 = func(t0, y)
            k2 = func(t0 + dt / 2, y + dt * k1 / 2)
            k3 = func(t0 + dt / 2, y + dt * k2 / 2)
            k4 = func(t1, y + dt * k3)
            y = y + dt * (k1 + 2 * (k2 + k3) + k4) / 6
            ys.append(y)
        return T.stack(ys)
    class ODEFunc(nn.Module):
        def __init__(self, latent_dim, n_units):
            super(ODEFunc, self).__init__()
            self.gradient_net = nn.Sequential(nn.Linear(latent_dim, n_units), nn.Tanh(),
                                              nn.Linear(n_units, latent_dim))
            init_network_weights(self.gradient_net)
        def forward(self, t_local, y, backwards=False):
            grad = self.gradient_net(y)
            if backwards:
                grad = -grad
            return grad
    class ODE_RNN(nn.Module):
        def __init__(self, input_dim, latent_dim, n_units):
            super().__init__()
            self.latent_dim = latent_dim
            self.ode_func = ODEFunc(latent_dim, n_units)
            self.gru = nn.GRUCell(input_dim * 2, latent_dim)
            self.decoder = nn.Linear(latent_dim, input_dim)
            init_network_weights(self.decoder)
        def forward(self, data, time_steps, mask, minimum_step=0.1):
            batch = data.size(0)
            prev_y = T.zeros((batch, self.latent_dim))
            prev_t, t_i = time_steps[0] - 0.01, time_steps[0]
            latent_ys = []
            for i in range(len(time_steps)):
                if abs(t_i - prev_t) < minimum_step:
                    inc = self.ode_func(prev_t, prev_y) * (t_i - prev_t)
                    ode_sol = prev_y + inc
                else:
                    n_intermediate_tp = max(2, ((t_i - prev_t) / minimum_step).int())
                    time_points = linspace_vector(prev_t, t_i, n_intermediate_tp)
                    ode_sol = odeint(self.ode_func, prev_y, time_points)[-1]
                xi = T.cat([data[:, i, :], mask[:, i, :]], -1)
                yi = self.gru(xi, ode_sol)
                mask_any = (T.sum(mask[:, i, :], -1, keepdim=True) > 0).float()
                yi = mask_any * yi + (1 - mask_any) * ode_sol
                prev_y, prev_t = yi, t_i
                if i + 1 < len(time_steps):
                    t_i = time_steps[i + 1]
                latent_ys.append(yi)
            latent_ys = T.stack(latent_ys, 1)
            return self.decoder(latent_ys), latent_ys
    model = ODE_RNN(2, 4, 8)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adamax(model.parameters(), lr=1e-2)
    data, mask, time_steps = T.tensor(data), T.tensor(mask), T.tensor(time_steps)
    out = []
    for itr in range(2):
        optimizer.zero_grad()
        pred, latent = model(data, time_steps, mask)
        next_pred = pred[:, :-1]  # (one-step-ahead: the state after t_i predicts the data at t_i+1)
        loss = (((next_pred - data[:, 1:]) ** 2) * mask[:, 1:]).sum() / mask[:, 1:].sum()
        loss.backward()
        optimizer.step()
        out += [pred, latent, loss, _grads(model)]
    return out + [model.state_dict()]


def test_ode_rnn_irregular_times_gru_cell(torch):
    rng = _rng(11)
    time_steps = np.array([0.0, 0.05, 0.37, 0.42, 0.9, 1.3])  # (short gaps: an Euler step; long: RK4 odeint)
    data = rng.standard_normal((3, 6, 2))
    mask = (rng.uniform(0, 1, (3, 6, 2)) > 0.3).astype(float)
    mask[0, 2] = 0  # (nothing seen: the ODE state kept)
    data = data * mask
    sd = ode_rnn(torch, None, data, mask, time_steps)
    _compare(ode_rnn(tg, sd, data, mask, time_steps), ode_rnn(torch, sd, data, mask, time_steps))


def pinn_heat_func(T, sd, x, t, x_b, t_b, u_b, alpha, functional_update):
    """A heat-equation PINN in torch.func style (the functorch PINN tutorials): collocation points from
    quasirandom.SobolEngine, u(x, t; params) by functional_call
    on one point, u_t = vmap(grad(u, argnums=1)), u_xx = vmap(grad(grad(u, argnums=0), argnums=0)), the residual
    u_t - alpha u_xx plus boundary / initial terms; the update by loss.backward() and Adam, or (functional_update)
    by torch.func.grad_and_value of the loss in the parameters and a hand-written SGD step on the dict."""
    nn = T.nn
    from_func = T.func
    model = nn.Sequential(nn.Linear(2, 10), nn.Tanh(), nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 1))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    def u(x, t, params):
        return from_func.functional_call(model, params, (T.stack([x, t]).unsqueeze(0),)).squeeze()
    u_b_fn = from_func.vmap(u, in_dims=(0, 0, None))
    u_t = from_func.vmap(from_func.grad(u, argnums=1), in_dims=(0, 0, None))
    u_xx = from_func.vmap(from_func.grad(from_func.grad(u, argnums=0), argnums=0), in_dims=(0, 0, None))
    def loss_fn(params, x, t):
        residual = u_t(x, t, params) - alpha * u_xx(x, t, params)
        boundary = u_b_fn(x_b, t_b, params) - u_b
        return residual.pow(2).mean() + boundary.pow(2).mean()
    x_b, t_b, u_b = (T.tensor(v) for v in (x_b, t_b, u_b))
    sobol = T.quasirandom.SobolEngine(dimension=2, scramble=False)  # collocation points: quasi-random, skip 0
    xt = sobol.fast_forward(1).draw(x, dtype=T.float64) * T.tensor([1.0, t])
    x, t = xt[:, 0], xt[:, 1]
    out = [xt]
    if functional_update:
        params = {k: v.detach() for k, v in model.named_parameters()}
        for step in range(3):
            grads, loss = from_func.grad_and_value(loss_fn)(params, x, t)
            params = {k: p - 0.05 * grads[k] for k, p in params.items()}
            out += [loss, grads]
        return out + [params]
    optimizer = T.optim.Adam(model.parameters(), lr=1e-2)
    params = dict(model.named_parameters())
    for step in range(3):
        optimizer.zero_grad()
        loss = loss_fn(params, x, t)
        loss.backward()
        optimizer.step()
        out += [loss, _grads(model), u_t(x, t, params), u_xx(x, t, params)]
    return out + [model.state_dict()]


@pytest.mark.parametrize("functional_update", [False, True])
def test_pinn_heat_equation_torch_func(torch, functional_update):
    rng = _rng(12)
    x, t = 10, 0.5  # (10 Sobol points in [0, 1] x [0, 0.5])
    x_b = np.concatenate([np.zeros(3), np.ones(3), rng.uniform(0, 1, 4)])
    t_b = np.concatenate([rng.uniform(0, 0.5, 6), np.zeros(4)])
    u_b = np.where(t_b == 0, np.sin(np.pi * x_b), 0.0)
    args = (x, t, x_b, t_b, u_b, 0.1, functional_update)
    sd = pinn_heat_func(torch, None, *args)
    _compare(pinn_heat_func(tg, sd, *args), pinn_heat_func(torch, sd, *args))


def efficient_kan(T, sd, x, y):
    """Blealtan/efficient-kan's KANLinear / KAN: a B-spline grid buffer, b_splines by the Cox-de Boor recursion on
    comparisons, curve2coeff by linalg.lstsq, the base SiLU branch, scaled_spline_weight; update_grid under
    torch.no_grad (sort, an int64 linspace of indices, a float32 arange, concatenate, grid.copy_), the activation /
    entropy regularization; AdamW with ExponentialLR."""
    F = T.nn.functional
    class KANLinear(T.nn.Module):
        def __init__(self, in_features, out_features, grid_size=5, spline_order=3, scale_noise=0.1, scale_base=1.0,
                     scale_spline=1.0, enable_standalone_scale_spline=True, base_activation=T.nn.SiLU, grid_eps=0.02,
                     grid_range=[-1, 1]):
            super(KANLinear, self).__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.grid_size = grid_size
            self.spline_order = spline_order
            h = (grid_range[1] - grid_range[0]) / grid_size
            grid = ((T.arange(-spline_order, grid_size + spline_order + 1) * h + grid_range[0])
                    .expand(in_features, -1).contiguous())
            self.register_buffer("grid", grid)
            self.base_weight = T.nn.Parameter(T.Tensor(out_features, in_features))
            self.spline_weight = T.nn.Parameter(T.Tensor(out_features, in_features, grid_size + spline_order))
            if enable_standalone_scale_spline:
                self.spline_scaler = T.nn.Parameter(T.Tensor(out_features, in_features))
            self.scale_noise = scale_noise
            self.scale_base = scale_base
            self.scale_spline = scale_spline
            self.enable_standalone_scale_spline = enable_standalone_scale_spline
            self.base_activation = base_activation()
            self.grid_eps = grid_eps
            self.reset_parameters()
        def reset_parameters(self):
            T.nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5) * self.scale_base)
            with T.no_grad():
                noise = ((T.rand(self.grid_size + 1, self.in_features, self.out_features) - 1 / 2)
                         * self.scale_noise / self.grid_size)
                self.spline_weight.data.copy_(
                    (self.scale_spline if not self.enable_standalone_scale_spline else 1.0)
                    * self.curve2coeff(self.grid.T[self.spline_order: -self.spline_order], noise))
                if self.enable_standalone_scale_spline:
                    T.nn.init.kaiming_uniform_(self.spline_scaler, a=math.sqrt(5) * self.scale_spline)
        def b_splines(self, x):
            assert x.dim() == 2 and x.size(1) == self.in_features
            grid = self.grid
            x = x.unsqueeze(-1)
            bases = ((x >= grid[:, :-1]) & (x < grid[:, 1:])).to(x.dtype)
            for k in range(1, self.spline_order + 1):
                bases = ((x - grid[:, : -(k + 1)]) / (grid[:, k:-1] - grid[:, : -(k + 1)]) * bases[:, :, :-1]) + (
                    (grid[:, k + 1:] - x) / (grid[:, k + 1:] - grid[:, 1:(-k)]) * bases[:, :, 1:])
            assert bases.size() == (x.size(0), self.in_features, self.grid_size + self.spline_order)
            return bases.contiguous()
        def curve2coeff(self, x, y):
            assert x.dim() == 2 and x.size(1) == self.in_features
            assert y.size() == (x.size(0), self.in_features, self.out_features)
            A = self.b_splines(x).transpose(0, 1)
            B = y.transpose(0, 1)
            solution = T.linalg.lstsq(A, B).solution
            result = solution.permute(2, 0, 1)
            assert result.size() == (self.out_features, self.in_features, self.grid_size + self.spline_order)
            return result.contiguous()
        @property
        def scaled_spline_weight(self):
            return self.spline_weight * (
                self.spline_scaler.unsqueeze(-1) if self.enable_standalone_scale_spline else 1.0)
        def forward(self, x):
            assert x.size(-1) == self.in_features
            original_shape = x.shape
            x = x.reshape(-1, self.in_features)
            base_output = F.linear(self.base_activation(x), self.base_weight)
            spline_output = F.linear(self.b_splines(x).view(x.size(0), -1),
                                     self.scaled_spline_weight.view(self.out_features, -1))
            output = base_output + spline_output
            output = output.reshape(*original_shape[:-1], self.out_features)
            return output
        @T.no_grad()
        def update_grid(self, x, margin=0.01):
            assert x.dim() == 2 and x.size(1) == self.in_features
            batch = x.size(0)
            splines = self.b_splines(x)
            splines = splines.permute(1, 0, 2)
            orig_coeff = self.scaled_spline_weight
            orig_coeff = orig_coeff.permute(1, 2, 0)
            unreduced_spline_output = T.bmm(splines, orig_coeff)
            unreduced_spline_output = unreduced_spline_output.permute(1, 0, 2)
            x_sorted = T.sort(x, dim=0)[0]
            grid_adaptive = x_sorted[T.linspace(0, batch - 1, self.grid_size + 1, dtype=T.int64, device=x.device)]
            uniform_step = (x_sorted[-1] - x_sorted[0] + 2 * margin) / self.grid_size
            grid_uniform = (T.arange(self.grid_size + 1, dtype=T.float32, device=x.device).unsqueeze(1)
                            * uniform_step + x_sorted[0] - margin)
            grid = self.grid_eps * grid_uniform + (1 - self.grid_eps) * grid_adaptive
            grid = T.concatenate([
                grid[:1] - uniform_step * T.arange(self.spline_order, 0, -1, device=x.device).unsqueeze(1),
                grid,
                grid[-1:] + uniform_step * T.arange(1, self.spline_order + 1, device=x.device).unsqueeze(1)], dim=0)
            self.grid.copy_(grid.T)
            self.spline_weight.data.copy_(self.curve2coeff(x, unreduced_spline_output))
        def regularization_loss(self, regularize_activation=1.0, regularize_entropy=1.0):
            l1_fake = self.spline_weight.abs().mean(-1)
            regularization_loss_activation = l1_fake.sum()
            p = l1_fake / regularization_loss_activation
            regularization_loss_entropy = -T.sum(p * p.log())
            return regularize_activation * regularization_loss_activation + \
                regularize_entropy * regularization_loss_entropy
    class KAN(T.nn.Module):
        def __init__(self, layers_hidden, grid_size=5, spline_order=3):
            super(KAN, self).__init__()
            self.layers = T.nn.ModuleList()
            for in_features, out_features in zip(layers_hidden, layers_hidden[1:]):
                self.layers.append(KANLinear(in_features, out_features, grid_size=grid_size,
                                             spline_order=spline_order))
        def forward(self, x, update_grid=False):
            for layer in self.layers:
                if update_grid:
                    layer.update_grid(x)
                x = layer(x)
            return x
        def regularization_loss(self, regularize_activation=1.0, regularize_entropy=1.0):
            return sum(layer.regularization_loss(regularize_activation, regularize_entropy)
                       for layer in self.layers)
    model = KAN([2, 4, 1], grid_size=4)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    scheduler = T.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)
    x, y = T.tensor(x), T.tensor(y)
    out = []
    for step in range(3):
        optimizer.zero_grad()
        output = model(x, update_grid=(step == 1))
        loss = F.mse_loss(output, y) + 1e-3 * model.regularization_loss()
        loss.backward()
        optimizer.step()
        scheduler.step()
        out += [output, loss, _grads(model), model.layers[0].grid.clone()]
    return out + [model.state_dict()]


def test_efficient_kan_b_splines_and_grid_update(torch):
    rng = _rng(13)
    x = rng.uniform(-1, 1, (16, 2))
    y = np.sin(np.pi * x[:, :1]) * x[:, 1:]
    sd = efficient_kan(torch, None, x, y)
    _compare(efficient_kan(tg, sd, x, y), efficient_kan(torch, sd, x, y))


def svgd_hmc(T, x0, q0, momenta, uniforms):
    """Stein variational gradient descent (DartML/Stein-Variational-Gradient-Descent's PyTorch port): an RBF
    kernel with the median heuristic (pdist-style cdist, torch.median), grad log p by autograd.grad, the repulsive
    term by autograd.grad of the kernel sum, Adagrad on the particles; then Hamiltonian Monte Carlo's leapfrog
    (autograd.grad of the potential) with a Metropolis correction (the momenta and uniforms drawn outside)."""
    D = T.distributions
    mix = D.MixtureSameFamily(D.Categorical(probs=T.tensor([0.3, 0.7])),
                              D.Independent(D.Normal(T.tensor([[-2.0, 0.0], [2.0, 1.0]]), T.ones(2, 2)), 1))
    target = D.MultivariateNormal(T.tensor([0.5, -0.5]), covariance_matrix=T.tensor([[1.0, 0.6], [0.6, 2.0]]))
    class RBF(T.nn.Module):
        def __init__(self, sigma=None):
            super(RBF, self).__init__()
            self.sigma = sigma
        def forward(self, X, Y):
            XX = X.matmul(X.t())
            XY = X.matmul(Y.t())
            YY = Y.matmul(Y.t())
            dnorm2 = -2 * XY + XX.diag().unsqueeze(1) + YY.diag().unsqueeze(0)
            if self.sigma is None:
                np_dnorm2 = dnorm2.detach().cpu().numpy()
                h = np.median(np_dnorm2) / (2 * np.log(X.size(0) + 1))
                sigma = np.sqrt(h).item()
            else:
                sigma = self.sigma
            gamma = 1.0 / (1e-8 + 2 * sigma ** 2)
            K_XY = (-gamma * dnorm2).exp()
            return K_XY
    class SVGD:
        def __init__(self, P, K, optimizer):
            self.P = P
            self.K = K
            self.optim = optimizer
        def phi(self, X):
            X = X.detach().requires_grad_(True)
            log_prob = self.P.log_prob(X)
            score_func = T.autograd.grad(log_prob.sum(), X)[0]
            K_XX = self.K(X, X.detach())
            grad_K = -T.autograd.grad(K_XX.sum(), X)[0]
            phi = (K_XX.detach().matmul(score_func) + grad_K) / X.size(0)
            return phi
        def step(self, X):
            self.optim.zero_grad()
            X.grad = -self.phi(X)
            self.optim.step()
    out = []
    for P in (mix, target):
        X = T.tensor(x0).clone().requires_grad_(True)
        svgd = SVGD(P, RBF(), T.optim.Adagrad([X], lr=0.5))
        for _ in range(4):
            svgd.step(X)
        out += [X.detach().clone(), T.median(T.cdist(X, X)), T.cdist(X, X).median(dim=1)]
    def potential(q):
        return -mix.log_prob(q)
    def leapfrog(q, p, step_size, n_steps):
        q = q.clone().requires_grad_(True)
        grad = T.autograd.grad(potential(q), q)[0]
        p = p - 0.5 * step_size * grad
        for i in range(n_steps):
            q = (q + step_size * p).detach().requires_grad_(True)
            grad = T.autograd.grad(potential(q), q)[0]
            if i != n_steps - 1:
                p = p - step_size * grad
        p = p - 0.5 * step_size * grad
        return q.detach(), -p
    q = T.tensor(q0)
    samples, accepts = [], []
    for p0, u in zip(momenta, uniforms):
        p0 = T.tensor(p0)
        q_new, p_new = leapfrog(q, p0, 0.3, 5)
        with T.no_grad():
            h_old = potential(q) + 0.5 * (p0 ** 2).sum()
            h_new = potential(q_new) + 0.5 * (p_new ** 2).sum()
            accept = T.log(T.tensor(u)) < (h_old - h_new)
        if accept:
            q = q_new
        samples.append(q)
        accepts.append(accept)
    return out + [T.stack(samples), T.stack(accepts)]


def test_svgd_median_heuristic_and_hmc(torch):
    rng = _rng(14)
    x0 = rng.standard_normal((12, 2)) * 2
    momenta, uniforms = rng.standard_normal((6, 2)), rng.uniform(0, 1, 6)
    q0 = np.array([0.1, -0.2])
    _compare(svgd_hmc(tg, x0, q0, momenta, uniforms), svgd_hmc(torch, x0, q0, momenta, uniforms))


def svgp(T, sd, X, y, likelihood):
    """A whitened sparse variational GP (SVGP, as hand-written tutorials do it): inducing points as a Parameter,
    q(u) = MultivariateNormal(q_mu, scale_tril=transform_to(lower_cholesky)(raw)), Kzz's cholesky, A by
    solve_triangular, the marginals mean A'm and variance kxx - diag(A'A) + diag(A'SA), kl_divergence of two
    MultivariateNormals, the expected log likelihood in closed form (Gaussian) or by Gauss-Hermite quadrature
    (Bernoulli logits), minibatch scaling; Adam, then the predictive."""
    nn, F = T.nn, T.nn.functional
    D = T.distributions
    gh_x, gh_w = np.polynomial.hermite.hermgauss(12)
    class SVGP(nn.Module):
        def __init__(self, Z):
            super().__init__()
            M = Z.shape[0]
            self.Z = nn.Parameter(T.tensor(Z))
            self.q_mu = nn.Parameter(T.zeros(M))
            self.q_sqrt_raw = nn.Parameter(T.eye(M) * 0.5 + 0.1 * T.ones(M, M).tril(-1))
            self.raw_lengthscale = nn.Parameter(T.tensor(0.0))
            self.raw_variance = nn.Parameter(T.tensor(0.5))
            self.raw_noise = nn.Parameter(T.tensor(-1.0))
        def kernel(self, a, b):
            ls = F.softplus(self.raw_lengthscale)
            d2 = ((a.unsqueeze(-2) - b.unsqueeze(-3)) / ls).pow(2).sum(-1)
            return F.softplus(self.raw_variance) * T.exp(-0.5 * d2)
        @property
        def q_sqrt(self):
            return D.transform_to(D.constraints.lower_cholesky)(self.q_sqrt_raw)
        def forward(self, X):
            M = self.Z.shape[0]
            Kzz = self.kernel(self.Z, self.Z) + 1e-6 * T.eye(M)
            L = T.linalg.cholesky(Kzz)
            A = T.linalg.solve_triangular(L, self.kernel(self.Z, X), upper=False)
            mean = A.t() @ self.q_mu
            SA = self.q_sqrt.t() @ A
            var = F.softplus(self.raw_variance) - A.pow(2).sum(0) + SA.pow(2).sum(0)
            return mean, var
        def kl(self):
            M = self.Z.shape[0]
            q = D.MultivariateNormal(self.q_mu, scale_tril=self.q_sqrt)
            p = D.MultivariateNormal(T.zeros(M), scale_tril=T.eye(M))
            return D.kl_divergence(q, p)
        def expected_log_lik(self, mean, var, y):
            if likelihood == "gaussian":
                noise = F.softplus(self.raw_noise)
                return -0.5 * T.log(2 * math.pi * noise) - 0.5 * ((y - mean) ** 2 + var) / noise
            f = mean.unsqueeze(-1) + T.sqrt(2 * var).unsqueeze(-1) * T.tensor(gh_x)
            log_p = D.Bernoulli(logits=f).log_prob(y.unsqueeze(-1).expand_as(f))
            return (log_p * T.tensor(gh_w / np.sqrt(np.pi))).sum(-1)
    model = SVGP(X[::4].copy())
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=0.05)
    N, out = X.shape[0], []
    for step, idx in enumerate([slice(0, 8), slice(8, 16), slice(0, 16, 2)]):
        xb, yb = T.tensor(X[idx]), T.tensor(y[idx])
        opt.zero_grad()
        mean, var = model(xb)
        elbo = model.expected_log_lik(mean, var, yb).sum() * N / xb.shape[0] - model.kl()
        loss = -elbo
        loss.backward()
        opt.step()
        out += [mean, var, loss, model.kl(), _grads(model)]
    with T.no_grad():
        mean, var = model(T.tensor(X))
    return out + [mean, var, model.q_sqrt, model.state_dict()]


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_svgp_whitened_kl_and_quadrature(torch, likelihood):
    rng = _rng(15)
    X = rng.uniform(-2, 2, (16, 2))
    f = np.sin(2 * X[:, 0]) + X[:, 1]
    y = f + 0.1 * rng.standard_normal(16) if likelihood == "gaussian" else (f > 0).astype(float)
    sd = svgp(torch, None, X, y, likelihood)
    _compare(svgp(tg, sd, X, y, likelihood), svgp(torch, sd, X, y, likelihood))


def score_sde(T, sd, x, random_t, z, sampler_noise):
    """Yang Song's score-based generative modeling tutorial: GaussianFourierProjection (a Parameter with
    requires_grad=False), Dense reshaped by [..., None, None], a small U-Net ScoreNet (Conv2d / ConvTranspose2d,
    GroupNorm, swish), marginal_prob_std by functools.partial with torch.tensor(t) of a tensor (its warning) and
    sigma ** (2 t), the denoising score-matching loss; Adam; then Euler-Maruyama sampling steps (noise drawn
    outside)."""
    import functools
    nn = T.nn
    class GaussianFourierProjection(nn.Module):
        def __init__(self, embed_dim, scale=30.):
            super().__init__()
            self.W = nn.Parameter(T.randn(embed_dim // 2) * scale, requires_grad=False)
        def forward(self, x):
            x_proj = x[:, None] * self.W[None, :] * 2 * np.pi
            return T.cat([T.sin(x_proj), T.cos(x_proj)], dim=-1)
    class Dense(nn.Module):
        def __init__(self, input_dim, output_dim):
            super().__init__()
            self.dense = nn.Linear(input_dim, output_dim)
        def forward(self, x):
            return self.dense(x)[..., None, None]
    class ScoreNet(nn.Module):
        def __init__(self, marginal_prob_std, channels=[4, 8], embed_dim=8):
            super().__init__()
            self.embed = nn.Sequential(GaussianFourierProjection(embed_dim=embed_dim),
                                       nn.Linear(embed_dim, embed_dim))
            self.conv1 = nn.Conv2d(1, channels[0], 3, stride=1, bias=False)
            self.dense1 = Dense(embed_dim, channels[0])
            self.gnorm1 = nn.GroupNorm(2, num_channels=channels[0])
            self.conv2 = nn.Conv2d(channels[0], channels[1], 3, stride=2, bias=False)
            self.dense2 = Dense(embed_dim, channels[1])
            self.gnorm2 = nn.GroupNorm(4, num_channels=channels[1])
            self.tconv2 = nn.ConvTranspose2d(channels[1], channels[0], 3, stride=2, bias=False, output_padding=1)
            self.dense7 = Dense(embed_dim, channels[0])
            self.tgnorm2 = nn.GroupNorm(2, num_channels=channels[0])
            self.tconv1 = nn.ConvTranspose2d(channels[0] + channels[0], 1, 3, stride=1)
            self.act = lambda x: x * T.sigmoid(x)
            self.marginal_prob_std = marginal_prob_std
        def forward(self, x, t):
            embed = self.act(self.embed(t))
            h1 = self.conv1(x)
            h1 += self.dense1(embed)
            h1 = self.gnorm1(h1)
            h1 = self.act(h1)
            h2 = self.conv2(h1)
            h2 += self.dense2(embed)
            h2 = self.gnorm2(h2)
            h2 = self.act(h2)
            h = self.tconv2(h2)
            h += self.dense7(embed)
            h = self.tgnorm2(h)
            h = self.act(h)
            h = self.tconv1(T.cat([h, h1], dim=1))
            h = h / self.marginal_prob_std(t)[:, None, None, None]
            return h
    device = 'cpu'
    def marginal_prob_std(t, sigma):
        t = T.tensor(t, device=device)
        return T.sqrt((sigma ** (2 * t) - 1.) / 2. / np.log(sigma))
    def diffusion_coeff(t, sigma):
        return T.tensor(sigma ** t, device=device)
    sigma = 25.0
    marginal_prob_std_fn = functools.partial(marginal_prob_std, sigma=sigma)
    diffusion_coeff_fn = functools.partial(diffusion_coeff, sigma=sigma)
    score_model = ScoreNet(marginal_prob_std=marginal_prob_std_fn)
    if sd is None:
        return _state(score_model)
    _load(T, score_model, sd)
    def loss_fn(model, x, marginal_prob_std, random_t, z, eps=1e-5):
        random_t = random_t * (1. - eps) + eps
        std = marginal_prob_std(random_t)
        perturbed_x = x + z * std[:, None, None, None]
        score = model(perturbed_x, random_t)
        loss = T.mean(T.sum((score * std[:, None, None, None] + z) ** 2, dim=(1, 2, 3)))
        return loss
    optimizer = T.optim.Adam(score_model.parameters(), lr=1e-3)
    out = []
    for i in range(2):
        loss = loss_fn(score_model, T.tensor(x), marginal_prob_std_fn, T.tensor(random_t[i]), T.tensor(z[i]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out += [loss, _grads(score_model)]
    batch_size = sampler_noise.shape[1]
    t = T.ones(batch_size, device=device)
    init_x = T.tensor(sampler_noise[0]) * marginal_prob_std_fn(t)[:, None, None, None]
    time_steps = T.linspace(1., 1e-3, sampler_noise.shape[0] - 1, device=device)
    step_size = time_steps[0] - time_steps[1]
    x = init_x
    with T.no_grad():
        for time_step, noise in zip(time_steps, sampler_noise[1:]):
            batch_time_step = T.ones(batch_size, device=device) * time_step
            g = diffusion_coeff_fn(batch_time_step)
            mean_x = x + (g ** 2)[:, None, None, None] * score_model(x, batch_time_step) * step_size
            x = mean_x + T.sqrt(step_size) * g[:, None, None, None] * T.tensor(noise)
            out.append(x)
    return out + [mean_x, score_model.state_dict()]


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor:UserWarning")
def test_score_sde_denoising_loss_and_euler_maruyama(torch):
    rng = _rng(16)
    x = rng.uniform(0, 1, (3, 1, 8, 8))
    random_t, z = rng.uniform(0, 1, (2, 3)), rng.standard_normal((2, 3, 1, 8, 8))
    sampler_noise = rng.standard_normal((4, 2, 1, 8, 8))
    sd = score_sde(torch, None, x, random_t, z, sampler_noise)
    _compare(score_sde(tg, sd, x, random_t, z, sampler_noise), score_sde(torch, sd, x, random_t, z, sampler_noise))


def latent_sde(T, sd, xs, ts, eps0, dWs):
    """torchsde's examples/latent_sde.py, its solver written out: a GRU encoder over the time-reversed data (flip)
    giving the context, qz0 = Normal(mean, softplus(logstd)) drawn by the reparameterization (eps drawn outside),
    the posterior drift f(t, y, ctx), the prior drift h and a per-dimension diagonal diffusion g (sigmoid nets on
    each coordinate), Euler-Maruyama with the logqp term 0.5 |(f - h) / g|^2 dt (Brownian increments drawn
    outside), a Normal likelihood, kl_divergence(qz0, pz0), KL annealing, clip_grad_norm_, Adam + ExponentialLR."""
    nn = T.nn
    D = T.distributions
    class Encoder(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(Encoder, self).__init__()
            self.gru = nn.GRU(input_size=input_size, hidden_size=hidden_size)
            self.lin = nn.Linear(hidden_size, output_size)
        def forward(self, inp):
            out, _ = self.gru(inp)
            out = self.lin(out)
            return out
    class LatentSDE(nn.Module):
        def __init__(self, data_size, latent_size, context_size, hidden_size):
            super(LatentSDE, self).__init__()
            self.encoder = Encoder(input_size=data_size, hidden_size=hidden_size, output_size=context_size)
            self.qz0_net = nn.Linear(context_size, latent_size + latent_size)
            self.f_net = nn.Sequential(nn.Linear(latent_size + context_size, hidden_size), nn.Softplus(),
                                       nn.Linear(hidden_size, latent_size))
            self.h_net = nn.Sequential(nn.Linear(latent_size, hidden_size), nn.Softplus(),
                                       nn.Linear(hidden_size, latent_size))
            self.g_nets = nn.ModuleList([nn.Sequential(nn.Linear(1, hidden_size), nn.Softplus(),
                                                       nn.Linear(hidden_size, 1), nn.Sigmoid())
                                         for _ in range(latent_size)])
            self.projector = nn.Linear(latent_size, data_size)
            self.pz0_mean = nn.Parameter(T.zeros(1, latent_size))
            self.pz0_logstd = nn.Parameter(T.zeros(1, latent_size))
            self._ctx = None
        def contextualize(self, ctx):
            self._ctx = ctx
        def f(self, t, y):
            ts, ctx = self._ctx
            i = min(T.searchsorted(ts, t, right=True), len(ts) - 1)
            return self.f_net(T.cat((y, ctx[i]), dim=1))
        def h(self, t, y):
            return self.h_net(y)
        def g(self, t, y):
            y = T.split(y, split_size_or_sections=1, dim=1)
            out = [g_net_i(y_i) for (g_net_i, y_i) in zip(self.g_nets, y)]
            return T.cat(out, dim=1)
        def forward(self, xs, ts, noise_std, eps, dWs, dt):
            ctx = self.encoder(T.flip(xs, dims=(0,)))
            ctx = T.flip(ctx, dims=(0,))
            self.contextualize((ts, ctx))
            qz0_mean, qz0_logstd = self.qz0_net(ctx[0]).chunk(chunks=2, dim=1)
            z0 = qz0_mean + qz0_logstd.exp() * eps
            zs, log_ratio = [z0], T.zeros(z0.size(0))
            z, k = z0, 0
            for i in range(len(ts) - 1):
                n_sub = int(round(float((ts[i + 1] - ts[i]) / dt)))
                for j in range(n_sub):
                    t = ts[i] + j * dt
                    f, h, g = self.f(t, z), self.h(t, z), self.g(t, z)
                    u = (f - h) / g
                    log_ratio = log_ratio + 0.5 * (u ** 2).sum(dim=1) * dt
                    z = z + f * dt + g * dWs[k]
                    k += 1
                zs.append(z)
            zs = T.stack(zs)
            _xs = self.projector(zs)
            xs_dist = D.Normal(loc=_xs, scale=noise_std)
            log_pxs = xs_dist.log_prob(xs).sum(dim=(0, 2)).mean(dim=0)
            qz0 = D.Normal(loc=qz0_mean, scale=qz0_logstd.exp())
            pz0 = D.Normal(loc=self.pz0_mean, scale=self.pz0_logstd.exp())
            logqp0 = D.kl_divergence(qz0, pz0).sum(dim=1).mean(dim=0)
            logqp_path = log_ratio.mean(dim=0)
            return log_pxs, logqp0 + logqp_path, _xs
    class LinearScheduler(object):
        def __init__(self, iters, maxval=1.0):
            self._iters = max(1, iters)
            self._val = maxval / self._iters
            self._maxval = maxval
        def step(self):
            self._val = min(self._maxval, self._val + self._maxval / self._iters)
        @property
        def val(self):
            return self._val
    latent_sde = LatentSDE(data_size=1, latent_size=2, context_size=3, hidden_size=6)
    if sd is None:
        return _state(latent_sde)
    _load(T, latent_sde, sd)
    optimizer = T.optim.Adam(params=latent_sde.parameters(), lr=1e-2)
    scheduler = T.optim.lr_scheduler.ExponentialLR(optimizer=optimizer, gamma=0.999)
    kl_scheduler = LinearScheduler(iters=3)
    xs, ts = T.tensor(xs), T.tensor(ts)
    out = []
    for global_step in range(2):
        latent_sde.zero_grad()
        log_pxs, log_ratio, _xs = latent_sde(xs, ts, 0.01, T.tensor(eps0[global_step]),
                                             T.tensor(dWs[global_step]), 0.05)
        loss = -log_pxs + log_ratio * kl_scheduler.val
        loss.backward()
        T.nn.utils.clip_grad_norm_(latent_sde.parameters(), max_norm=5.0)
        optimizer.step()
        scheduler.step()
        kl_scheduler.step()
        out += [log_pxs, log_ratio, _xs, _grads(latent_sde)]
    return out + [latent_sde.state_dict()]


def test_latent_sde_logqp_euler_maruyama(torch):
    rng = _rng(17)
    ts = np.array([0.0, 0.1, 0.25, 0.4])
    xs = np.sin(4 * ts)[:, None, None] + 0.1 * rng.standard_normal((4, 3, 1))
    eps0 = rng.standard_normal((2, 3, 2))
    dWs = rng.standard_normal((2, 8, 3, 2)) * np.sqrt(0.05)
    sd = latent_sde(torch, None, xs, ts, eps0, dWs)
    _compare(latent_sde(tg, sd, xs, ts, eps0, dWs), latent_sde(torch, sd, xs, ts, eps0, dWs))

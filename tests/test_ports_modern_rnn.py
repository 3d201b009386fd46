"""Modern recurrent and state-space sequence models, ported: each written once, in plain torch as their reference
implementations are, against a module ``T`` (torch or tinygrad_rnn), run by both from the same initial weights
(torch's, loaded into ours) and data for a few optimizer steps in float64; outputs, losses, every parameter's
gradient and the final weights agree to ~1e-10. Skipped without torch.

Programs: minGRU and minLSTM ("Were RNNs All We Needed?": sequential mode and the log-space parallel scan with
logcumsumexp, the two modes agreeing), RWKV-4's time mixing (token shift by ZeroPad2d((0, 0, 1, -1)), the serial WKV
recurrence with the stable (aa, bb, pp) state of RWKV_v4's inference code, squared-relu channel mixing), Mamba's
selective_scan_ref and a Mamba block (in_proj, depthwise causal conv1d, x_proj/dt_proj with the inverse-softplus dt
bias init, D skip, out_proj), S4D (complex diagonal kernel from view_as_real parameters, Vandermonde by einsum, FFT
convolution with rfft/irfft n=2L, the s4 example's optimizer groups from per-parameter _optim attributes), the LRU
(complex diagonal recurrence, exp(-exp(nu_log) + i exp(theta_log)), gamma normalization, complex parameters under
Adam), xLSTM's sLSTM cell (exponential input gate, stabilizer m, normalizer n) and the mLSTM in its recurrent and
parallel (stabilized D matrix) forms, RetNet's multi-scale retention in parallel and recurrent forms (xPos, group
norm), causal linear attention (Katharopoulos, elu + 1 features) in its parallel and recurrent forms, Hyena's
FFT long convolution with its implicit filter (positional features, Sin activation, exponential modulation),
Mamba-2's ssd_minimal_discrete (chunked, against its recurrence), Heinsen's complex-log parallel scan (against its
loop), RWKV-6's data-dependent token shift and decay with the naive WKV6 recurrence, RWKV-4's WKV as RWKV-LM's
torch.autograd.Function (backward by recomputation), DeltaNet's delta rule (fla's naive chunkwise form against its
recurrence) and Griffin's RG-LRU recurrent block (recurrentgemma: in-place parameter init chain, a custom Function
with a clipped sqrt gradient, document resets) and Titans' neural memory (test-time per-sample updates by
torch.func.vmap(grad(...)) of a functional_call, trained through them). Mamba's block also decodes by its step()
against the scan.
"""
import math

import numpy as np

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, rng as _rng, state as _state


# ------------------------------------------------------------------------------------------------ minGRU / minLSTM
def min_rnns(T, sd, xs, ys):
    """minGRU and minLSTM (Feng et al. 2024, the paper's reference code): the sequential mode step by step and the
    parallel mode as a log-space scan (cumsum of log coefficients, logcumsumexp of log values), g / log_g by
    torch.where; MSE on the parallel mode's output, Adam."""
    nn, F = T.nn, T.nn.functional

    def g(x):
        return T.where(x >= 0, x + 0.5, T.sigmoid(x))

    def log_g(x):
        return T.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))

    def parallel_scan_log(log_coeffs, log_values):
        # log_coeffs: (batch_size, seq_len, input_size); log_values: (batch_size, seq_len + 1, input_size)
        a_star = F.pad(T.cumsum(log_coeffs, dim=1), (0, 0, 1, 0))
        log_h0_plus_b_star = T.logcumsumexp(log_values - a_star, dim=1)
        log_h = a_star + log_h0_plus_b_star
        return T.exp(log_h)[:, 1:]

    class MinGRU(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.linear_z = nn.Linear(input_size, hidden_size)
            self.linear_h = nn.Linear(input_size, hidden_size)
        def forward(self, x, h_0):  # parallel mode
            k = self.linear_z(x)
            log_z = -F.softplus(-k)
            log_coeffs = -F.softplus(k)
            log_h_0 = log_g(h_0)
            log_tilde_h = log_g(self.linear_h(x))
            return parallel_scan_log(log_coeffs, T.cat([log_h_0, log_z + log_tilde_h], dim=1))
        def step(self, x_t, h_prev):  # sequential mode
            z = T.sigmoid(self.linear_z(x_t))
            h_tilde = g(self.linear_h(x_t))
            return (1 - z) * h_prev + z * h_tilde

    class MinLSTM(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.linear_f = nn.Linear(input_size, hidden_size)
            self.linear_i = nn.Linear(input_size, hidden_size)
            self.linear_h = nn.Linear(input_size, hidden_size)
        def forward(self, x, h_0):
            diff = F.softplus(-self.linear_f(x)) - F.softplus(-self.linear_i(x))
            log_f = -F.softplus(diff)
            log_i = -F.softplus(-diff)
            log_h_0 = log_g(h_0)
            log_tilde_h = log_g(self.linear_h(x))
            return parallel_scan_log(log_f, T.cat([log_h_0, log_i + log_tilde_h], dim=1))
        def step(self, x_t, h_prev):
            f_t = T.sigmoid(self.linear_f(x_t))
            i_t = T.sigmoid(self.linear_i(x_t))
            tilde_h_t = g(self.linear_h(x_t))
            f_prime_t = f_t / (f_t + i_t)
            i_prime_t = i_t / (f_t + i_t)
            return f_prime_t * h_prev + i_prime_t * tilde_h_t

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = MinGRU(3, 5)
            self.lstm = MinLSTM(5, 4)
            self.head = nn.Linear(4, 2)
        def forward(self, x, h0, h1):
            return self.head(self.lstm(self.gru(x, h0), h1))
        def sequential(self, x, h0, h1):
            hs = []
            for t in range(x.shape[1]):
                h0 = self.gru.step(x[:, t:t + 1], h0)
                h1 = self.lstm.step(h0, h1)
                hs.append(h1)
            return self.head(T.cat(hs, dim=1))

    net = Net()
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    opt = T.optim.Adam(net.parameters(), lr=0.01)
    out = []
    for x, y in zip(xs, ys):
        x, y = T.tensor(x), T.tensor(y)
        h0, h1 = T.full((x.shape[0], 1, 5), 0.3), T.zeros(x.shape[0], 1, 4)
        with T.no_grad():  # (the parallel mode reads h_0 through log_g: the sequential one starts at g(h_0))
            seq = net.sequential(x, g(h0), g(h1))
        opt.zero_grad()
        par = net(x, h0, h1)
        loss = F.mse_loss(par, y)
        loss.backward()
        out += [par, seq, loss, _grads(net)]
        opt.step()
    b = xs[0].shape[0]
    seq_out = net.sequential(T.tensor(xs[0]), T.full((b, 1, 5), 0.8), T.full((b, 1, 4), 0.5))
    seq_out.pow(2).sum().backward()  # gradients through the sequential mode too
    out += [seq_out, _grads(net), net.state_dict()]
    return out


def test_min_gru_min_lstm_parallel_scan_and_sequential(torch):
    rng = _rng(1)
    sd = min_rnns(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 6, 3)) * 2, rng.standard_normal((3, 2, 6, 2))
    ours, theirs = min_rnns(tg, sd, xs, ys), min_rnns(torch, sd, xs, ys)
    _compare(ours, theirs)
    for k in range(3):  # the parallel and the sequential modes agree
        _compare(ours[4 * k], ours[4 * k + 1], where=f"parallel vs sequential, step {k}")


# ------------------------------------------------------------------------------------------------------------ RWKV-4
def rwkv4(T, sd, idx, targets):
    """RWKV-4 (BlinkDL/RWKV-LM, RWKV-v4): the GPT-mode blocks (LayerNorm, token shift by nn.ZeroPad2d((0, 0, 1,
    -1)), time_mix_k/v/r interpolation, squared-relu channel mixing) with the WKV computed by the serial recurrence
    of the RWKV_v4 inference code (aa, bb, pp kept stable by the running maximum), trained by backprop through it;
    the RNN-mode inference (one token at a time, the state list) checked against the GPT mode."""
    nn, F = T.nn, T.nn.functional

    def wkv_serial(w, u, k, v):
        # w = -exp(time_decay), u = time_first; k, v: (B, T, C)
        B, Tn, C = k.shape
        aa = T.zeros(B, C)
        bb = T.zeros(B, C)
        pp = T.full((B, C), -1e38)
        ys = []
        for t in range(Tn):
            kk, vv = k[:, t], v[:, t]
            ww = u + kk
            p = T.maximum(pp, ww)
            e1 = T.exp(pp - p)
            e2 = T.exp(ww - p)
            ys.append((e1 * aa + e2 * vv) / (e1 * bb + e2))
            ww = w + pp
            p = T.maximum(ww, kk)
            e1 = T.exp(ww - p)
            e2 = T.exp(kk - p)
            aa = e1 * aa + e2 * vv
            bb = e1 * bb + e2
            pp = p
        return T.stack(ys, dim=1)

    class RWKV_TimeMix(nn.Module):
        def __init__(self, n_embd, layer_id, n_layer):
            super().__init__()
            attn_sz = n_embd
            with T.no_grad():  # fancy init
                ratio_0_to_1 = layer_id / (n_layer - 1)
                ratio_1_to_almost0 = 1.0 - (layer_id / n_layer)
                decay_speed = T.ones(attn_sz)
                for h in range(attn_sz):
                    decay_speed[h] = -5 + 8 * (h / (attn_sz - 1)) ** (0.7 + 1.3 * ratio_0_to_1)
                self.time_decay = nn.Parameter(decay_speed)
                zigzag = (T.tensor([(i + 1) % 3 - 1 for i in range(attn_sz)]) * 0.5)
                self.time_first = nn.Parameter(T.ones(attn_sz) * math.log(0.3) + zigzag)
                x = T.ones(1, 1, n_embd)
                for i in range(n_embd):
                    x[0, 0, i] = i / n_embd
                self.time_mix_k = nn.Parameter(T.pow(x, ratio_1_to_almost0))
                self.time_mix_v = nn.Parameter(T.pow(x, ratio_1_to_almost0) + 0.3 * ratio_0_to_1)
                self.time_mix_r = nn.Parameter(T.pow(x, 0.5 * ratio_1_to_almost0))
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            self.key = nn.Linear(n_embd, attn_sz, bias=False)
            self.value = nn.Linear(n_embd, attn_sz, bias=False)
            self.receptance = nn.Linear(n_embd, attn_sz, bias=False)
            self.output = nn.Linear(attn_sz, n_embd, bias=False)
        def forward(self, x):
            xx = self.time_shift(x)
            xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
            xv = x * self.time_mix_v + xx * (1 - self.time_mix_v)
            xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
            k, v, r = self.key(xk), self.value(xv), self.receptance(xr)
            sr = T.sigmoid(r)
            rwkv = sr * wkv_serial(-T.exp(self.time_decay), self.time_first, k, v)
            return self.output(rwkv)

    class RWKV_ChannelMix(nn.Module):
        def __init__(self, n_embd, layer_id, n_layer):
            super().__init__()
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            with T.no_grad():
                ratio_1_to_almost0 = 1.0 - (layer_id / n_layer)
                x = T.ones(1, 1, n_embd)
                for i in range(n_embd):
                    x[0, 0, i] = i / n_embd
                self.time_mix_k = nn.Parameter(T.pow(x, ratio_1_to_almost0))
                self.time_mix_r = nn.Parameter(T.pow(x, ratio_1_to_almost0))
            hidden_sz = 4 * n_embd
            self.key = nn.Linear(n_embd, hidden_sz, bias=False)
            self.receptance = nn.Linear(n_embd, n_embd, bias=False)
            self.value = nn.Linear(hidden_sz, n_embd, bias=False)
        def forward(self, x):
            xx = self.time_shift(x)
            xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
            xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
            k = self.key(xk)
            k = T.square(T.relu(k))
            kv = self.value(k)
            return T.sigmoid(self.receptance(xr)) * kv

    class Block(nn.Module):
        def __init__(self, n_embd, layer_id, n_layer):
            super().__init__()
            self.ln1 = nn.LayerNorm(n_embd)
            self.ln2 = nn.LayerNorm(n_embd)
            self.att = RWKV_TimeMix(n_embd, layer_id, n_layer)
            self.ffn = RWKV_ChannelMix(n_embd, layer_id, n_layer)
        def forward(self, x):
            x = x + self.att(self.ln1(x))
            return x + self.ffn(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self, vocab_size, n_embd, n_layer):
            super().__init__()
            self.emb = nn.Embedding(vocab_size, n_embd)
            self.ln0 = nn.LayerNorm(n_embd)
            self.blocks = nn.Sequential(*[Block(n_embd, i, n_layer) for i in range(n_layer)])
            self.ln_out = nn.LayerNorm(n_embd)
            self.head = nn.Linear(n_embd, vocab_size, bias=False)
        def forward(self, idx, targets=None):
            x = self.ln0(self.emb(idx))
            x = self.ln_out(self.blocks(x))
            x = self.head(x)
            loss = None
            if targets is not None:
                loss = F.cross_entropy(x.view(-1, x.size(-1)), targets.view(-1))
            return x, loss

    def run_rnn(model, ctx):
        """RWKV_v4's RNN mode (model_run.py's SA / FF with the state list), one sequence, token by token."""
        w = {k: v.squeeze() for k, v in model.state_dict().items()}
        n_layer, C = len(model.blocks), model.emb.weight.shape[1]
        state = T.zeros(n_layer * 5, C)
        for i in range(n_layer):
            state[5 * i + 4] -= 1e30
        def LN(x, pre):
            return F.layer_norm(x, (C,), weight=w[pre + '.weight'], bias=w[pre + '.bias'])
        def FF(x, i, pre):
            xk = x * w[pre + 'time_mix_k'] + state[5 * i + 0] * (1 - w[pre + 'time_mix_k'])
            xr = x * w[pre + 'time_mix_r'] + state[5 * i + 0] * (1 - w[pre + 'time_mix_r'])
            state[5 * i + 0] = x
            r = T.sigmoid(w[pre + 'receptance.weight'] @ xr)
            k = T.square(T.relu(w[pre + 'key.weight'] @ xk))
            return r * (w[pre + 'value.weight'] @ k)
        def SA(x, i, pre):
            xk = x * w[pre + 'time_mix_k'] + state[5 * i + 1] * (1 - w[pre + 'time_mix_k'])
            xv = x * w[pre + 'time_mix_v'] + state[5 * i + 1] * (1 - w[pre + 'time_mix_v'])
            xr = x * w[pre + 'time_mix_r'] + state[5 * i + 1] * (1 - w[pre + 'time_mix_r'])
            state[5 * i + 1] = x
            r = T.sigmoid(w[pre + 'receptance.weight'] @ xr)
            k = w[pre + 'key.weight'] @ xk
            v = w[pre + 'value.weight'] @ xv
            aa, bb, pp = state[5 * i + 2], state[5 * i + 3], state[5 * i + 4]
            ww = w[pre + 'time_first'] + k
            p = T.maximum(pp, ww)
            e1, e2 = T.exp(pp - p), T.exp(ww - p)
            a, b = e1 * aa + e2 * v, e1 * bb + e2
            ww = pp + -T.exp(w[pre + 'time_decay'])
            p = T.maximum(ww, k)
            e1, e2 = T.exp(ww - p), T.exp(k - p)
            state[5 * i + 2] = e1 * aa + e2 * v
            state[5 * i + 3] = e1 * bb + e2
            state[5 * i + 4] = p
            return w[pre + 'output.weight'] @ (r * (a / b))
        outs = []
        for token in ctx:
            x = w['emb.weight'][int(token)]
            x = LN(x, 'ln0')
            for i in range(n_layer):
                x = x + SA(LN(x, f'blocks.{i}.ln1'), i, f'blocks.{i}.att.')
                x = x + FF(LN(x, f'blocks.{i}.ln2'), i, f'blocks.{i}.ffn.')
            outs.append(w['head.weight'] @ LN(x, 'ln_out'))
        return T.stack(outs)

    model = GPT(11, 8, 2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-8)
    out = []
    for x, y in zip(idx, targets):
        logits, loss = model(T.tensor(x), T.tensor(y))
        model.zero_grad()
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        out += [logits, loss, _grads(model)]
    with T.no_grad():
        gpt, _ = model(T.tensor(idx[0][:1]))
        rnn = run_rnn(model, idx[0][0])
    out += [gpt[0], rnn, model.state_dict()]
    return out


def test_rwkv4_serial_wkv_token_shift_and_rnn_mode(torch):
    rng = _rng(2)
    sd = rwkv4(torch, None, None, None)
    idx, targets = rng.integers(0, 11, (3, 2, 7)), rng.integers(0, 11, (3, 2, 7))
    ours, theirs = rwkv4(tg, sd, idx, targets), rwkv4(torch, sd, idx, targets)
    _compare(ours, theirs)
    _compare(ours[-3], ours[-2], where="GPT mode vs RNN mode")


# ------------------------------------------------------------------------------------------------------------- Mamba
def selective_scan_ref(T, u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                       return_last_state=False):
    """mamba_ssm.ops.selective_scan_interface.selective_scan_ref (the .float() casts dropped: float64 here; einops'
    rearrange/repeat written as torch calls).
    u: r(B D L), delta: r(B D L), A: c(D N) or r(D N), B: c(D N) or r(B N L) or r(B G N L) or c(B G N L),
    C likewise, D: r(D), z: r(B D L), delta_bias: r(D); out: r(B D L), last_state (optional): r(B D dstate)"""
    F = T.nn.functional
    dtype_in = u.dtype
    if delta_bias is not None:
        delta = delta + delta_bias[..., None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, dstate = u.shape[0], A.shape[0], A.shape[1]
    is_variable_B = B.dim() >= 3
    is_variable_C = C.dim() >= 3
    if A.is_complex():
        if is_variable_B:
            B = T.view_as_complex(B.reshape(*B.shape[:-1], B.shape[-1] // 2, 2))
        if is_variable_C:
            C = T.view_as_complex(C.reshape(*C.shape[:-1], C.shape[-1] // 2, 2))
    x = A.new_zeros((batch, dim, dstate))
    ys = []
    deltaA = T.exp(T.einsum('bdl,dn->bdln', delta, A))
    if not is_variable_B:
        deltaB_u = T.einsum('bdl,dn,bdl->bdln', delta, B, u)
    else:
        if B.dim() == 3:
            deltaB_u = T.einsum('bdl,bnl,bdl->bdln', delta, B, u)
        else:
            B = B.repeat_interleave(dim // B.shape[1], dim=1)
            deltaB_u = T.einsum('bdl,bdnl,bdl->bdln', delta, B, u)
    if is_variable_C and C.dim() == 4:
        C = C.repeat_interleave(dim // C.shape[1], dim=1)
    last_state = None
    for i in range(u.shape[2]):
        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
        if not is_variable_C:
            y = T.einsum('bdn,dn->bd', x, C)
        else:
            if C.dim() == 3:
                y = T.einsum('bdn,bn->bd', x, C[:, :, i])
            else:
                y = T.einsum('bdn,bdn->bd', x, C[:, :, :, i])
        if i == u.shape[2] - 1:
            last_state = x
        if y.is_complex():
            y = y.real * 2
        ys.append(y)
    y = T.stack(ys, dim=2)  # (batch dim L)
    out = y if D is None else y + u * D.reshape(-1, 1)
    if z is not None:
        out = out * F.silu(z)
    out = out.to(dtype=dtype_in)
    return out if not return_last_state else (out, last_state)


def mamba(T, sd, xs, ys):
    """mamba_ssm's Mamba block (mamba_simple.py, the slow path through selective_scan_ref): in_proj by weight @
    x, depthwise causal Conv1d (padding d_conv - 1, sliced to seqlen), SiLU, x_proj split into dt/B/C, dt_proj with
    the inverse-softplus bias init and _no_reinit / _no_weight_decay flags, A = -exp(A_log), D skip, the z gate,
    out_proj; a residual two-layer model with RMS-style pre-norm; AdamW with the no-weight-decay group; then
    step() decoding token by token (conv_state rolled and written in place, ssm_state.copy_) against the scan."""
    nn, F = T.nn, T.nn.functional

    class Mamba(nn.Module):
        def __init__(self, d_model, d_state=4, d_conv=3, expand=2, dt_rank="auto", dt_min=0.001, dt_max=0.1,
                     dt_init="random", dt_scale=1.0, dt_init_floor=1e-4, conv_bias=True, bias=False):
            super().__init__()
            self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
            self.d_inner = int(self.expand * self.d_model)
            self.dt_rank = math.ceil(self.d_model / 16) if dt_rank == "auto" else dt_rank
            self.in_proj = nn.Linear(self.d_model, self.d_inner * 2, bias=bias)
            self.conv1d = nn.Conv1d(in_channels=self.d_inner, out_channels=self.d_inner, bias=conv_bias,
                                    kernel_size=d_conv, groups=self.d_inner, padding=d_conv - 1)
            self.activation = "silu"
            self.act = nn.SiLU()
            self.x_proj = nn.Linear(self.d_inner, self.dt_rank + self.d_state * 2, bias=False)
            self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
            dt_init_std = self.dt_rank**-0.5 * dt_scale
            if dt_init == "constant":
                nn.init.constant_(self.dt_proj.weight, dt_init_std)
            elif dt_init == "random":
                nn.init.uniform_(self.dt_proj.weight, -dt_init_std, dt_init_std)
            dt = T.exp(T.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
                       ).clamp(min=dt_init_floor)
            inv_dt = dt + T.log(-T.expm1(-dt))  # inverse of softplus
            with T.no_grad():
                self.dt_proj.bias.copy_(inv_dt)
            self.dt_proj.bias._no_reinit = True
            A = T.arange(1, self.d_state + 1, dtype=T.float32).repeat(self.d_inner, 1).contiguous()
            A_log = T.log(A).to(T.get_default_dtype())
            self.A_log = nn.Parameter(A_log)
            self.A_log._no_weight_decay = True
            self.D = nn.Parameter(T.ones(self.d_inner))
            self.D._no_weight_decay = True
            self.out_proj = nn.Linear(self.d_inner, self.d_model, bias=bias)

        def forward(self, hidden_states):
            batch, seqlen, dim = hidden_states.shape
            xz = (self.in_proj.weight @ hidden_states.reshape(-1, dim).t())  # d (b l)
            xz = xz.reshape(-1, batch, seqlen).permute(1, 0, 2)  # b d l
            if self.in_proj.bias is not None:
                xz = xz + self.in_proj.bias.to(dtype=xz.dtype).unsqueeze(-1)
            A = -T.exp(self.A_log)  # (d_inner, d_state)
            x, z = xz.chunk(2, dim=1)
            x = self.act(self.conv1d(x)[..., :seqlen])
            x_dbl = self.x_proj(x.permute(0, 2, 1).reshape(batch * seqlen, -1))  # (bl d)
            dt, B, C = T.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
            dt = self.dt_proj.weight @ dt.t()
            dt = dt.reshape(-1, batch, seqlen).permute(1, 0, 2)
            B = B.reshape(batch, seqlen, -1).permute(0, 2, 1).contiguous()
            C = C.reshape(batch, seqlen, -1).permute(0, 2, 1).contiguous()
            y, last_state = selective_scan_ref(T, x, dt, A, B, C, self.D, z=z, delta_bias=self.dt_proj.bias,
                                               delta_softplus=True, return_last_state=True)
            return self.out_proj(y.permute(0, 2, 1)), last_state

        def step(self, hidden_states, conv_state, ssm_state):
            dtype = hidden_states.dtype
            assert hidden_states.shape[1] == 1, "Only support decoding with 1 token at a time for now"
            xz = self.in_proj(hidden_states.squeeze(1))  # (B 2D)
            x, z = xz.chunk(2, dim=-1)  # (B D)
            conv_state.copy_(T.roll(conv_state, shifts=-1, dims=-1))  # Update state (B D W)
            conv_state[:, :, -1] = x
            x = T.sum(conv_state * self.conv1d.weight.squeeze(1), dim=-1)  # (B D)
            if self.conv1d.bias is not None:
                x = x + self.conv1d.bias
            x = self.act(x).to(dtype=dtype)
            x_db = self.x_proj(x)  # (B dt_rank+2*d_state)
            dt, B, C = T.split(x_db, [self.dt_rank, self.d_state, self.d_state], dim=-1)
            dt = F.linear(dt, self.dt_proj.weight)  # (B d_inner)
            A = -T.exp(self.A_log)  # (d_inner, d_state)
            dt = F.softplus(dt + self.dt_proj.bias.to(dtype=dt.dtype))
            dA = T.exp(T.einsum("bd,dn->bdn", dt, A))
            dB = T.einsum("bd,bn->bdn", dt, B)
            ssm_state.copy_(ssm_state * dA + x.unsqueeze(-1) * dB)
            y = T.einsum("bdn,bn->bd", ssm_state.to(dtype), C)
            y = y + self.D.to(dtype) * x
            y = y * self.act(z)  # (B D)
            out = self.out_proj(y)
            return out.unsqueeze(1), conv_state, ssm_state

        def allocate_inference_cache(self, batch_size):
            conv_state = T.zeros(batch_size, self.d_model * self.expand, self.d_conv, dtype=self.conv1d.weight.dtype)
            ssm_state = T.zeros(batch_size, self.d_model * self.expand, self.d_state, dtype=self.dt_proj.weight.dtype)
            return conv_state, ssm_state

    class RMSNorm(nn.Module):
        def __init__(self, d, eps=1e-5):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(T.ones(d))
        def forward(self, x):
            return x * T.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([Mamba(4) for _ in range(2)])
            self.norms = nn.ModuleList([RMSNorm(4) for _ in range(2)])
            self.head = nn.Linear(4, 1)
        def forward(self, x):
            states = []
            for norm, layer in zip(self.norms, self.layers):
                h, s = layer(norm(x))
                x = x + h
                states.append(s)
            return self.head(x).squeeze(-1), states
        def generate_steps(self, x):  # token by token through each layer's step() and its inference cache
            caches = [layer.allocate_inference_cache(x.shape[0]) for layer in self.layers]
            outs = []
            for t in range(x.shape[1]):
                h = x[:, t:t + 1]
                for norm, layer, (conv_state, ssm_state) in zip(self.norms, self.layers, caches):
                    o, _, _ = layer.step(norm(h), conv_state, ssm_state)
                    h = h + o
                outs.append(self.head(h).squeeze(-1))
            return T.cat(outs, dim=1), [ssm_state for _, ssm_state in caches]

    model = Model()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    decay = [p for p in model.parameters() if not getattr(p, "_no_weight_decay", False) and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if getattr(p, "_no_weight_decay", False) or p.dim() < 2]
    opt = T.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=5e-3)
    out = []
    for x, y in zip(xs, ys):
        opt.zero_grad()
        pred, states = model(T.tensor(x))
        loss = F.mse_loss(pred, T.tensor(y))
        loss.backward()
        opt.step()
        out += [pred, states, loss, _grads(model)]
    with T.no_grad():
        out += [model(T.tensor(xs[0])), model.generate_steps(T.tensor(xs[0]))]
    out.append(model.state_dict())
    return out


def test_mamba_block_selective_scan_ref(torch):
    rng = _rng(3)
    sd = mamba(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 6, 4)), rng.standard_normal((3, 2, 6))
    ours = mamba(tg, sd, xs, ys)
    _compare(ours, mamba(torch, sd, xs, ys))
    _compare(ours[-2], ours[-3], where="step() decoding vs the scan (outputs, last states)")


def test_selective_scan_ref_complex_and_grouped(torch):
    """selective_scan_ref's other branches: complex A with variable B/C as interleaved real pairs (view_as_complex),
    grouped B/C of shape (B G N L); values and gradients of every input."""
    rng = _rng(4)
    b, d, n, L = 2, 4, 3, 5
    arrays = dict(u=rng.standard_normal((b, d, L)), delta=rng.standard_normal((b, d, L)),
                  A=-np.exp(rng.standard_normal((d, n))) + 1j * rng.standard_normal((d, n)),
                  B=rng.standard_normal((b, n, 2 * L)), C=rng.standard_normal((b, n, 2 * L)),
                  D=rng.standard_normal(d), z=rng.standard_normal((b, d, L)), delta_bias=rng.standard_normal(d),
                  Bg=rng.standard_normal((b, 2, n, L)), Cg=rng.standard_normal((b, 2, n, L)),
                  Ar=-np.exp(rng.standard_normal((d, n))))
    def run(T):
        t = {k: T.tensor(v, requires_grad=True) for k, v in arrays.items()}
        y1, last = selective_scan_ref(T, t["u"], t["delta"], t["A"], t["B"], t["C"], t["D"], t["z"],
                                      t["delta_bias"], True, True)
        y2 = selective_scan_ref(T, t["u"], t["delta"], t["Ar"], t["Bg"], t["Cg"], t["D"], delta_softplus=True)
        (y1.pow(2).sum() + (last.abs() ** 2).sum() + (y2 * t["u"]).sum()).backward()
        return [y1, last, y2, {k: v.grad for k, v in t.items()}]
    _compare(run(tg), run(torch))


# ---------------------------------------------------------------------------------------------------------- S4D, LRU
def s4d(T, sd, xs, ys):
    """state-spaces/s4's minimal S4D (models/s4/s4d.py and example.py): S4DKernel with C stored by view_as_real of a
    complex randn, A = -exp(log_A_real) + 1j * A_imag, the Vandermonde kernel 2 * einsum('hn, hnl -> hl').real,
    FFT convolution rfft/irfft with n=2L, D skip, GELU, Conv1d + GLU output; the prenorm residual model of example.py
    and its setup_optimizer (AdamW plus one group per distinct _optim dict, the SSM parameters at their own lr
    without weight decay) and CosineAnnealingLR."""
    nn = T.nn

    class S4DKernel(nn.Module):
        def __init__(self, d_model, N=64, dt_min=0.001, dt_max=0.1, lr=None):
            super().__init__()
            H = d_model
            log_dt = T.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
            C = T.randn(H, N // 2, dtype=T.cdouble)
            self.C = nn.Parameter(T.view_as_real(C))
            self.register("log_dt", log_dt, lr)
            log_A_real = T.log(0.5 * T.ones(H, N // 2))
            A_imag = math.pi * T.arange(N // 2).repeat(H, 1)
            self.register("log_A_real", log_A_real, lr)
            self.register("A_imag", A_imag, lr)
        def forward(self, L):
            dt = T.exp(self.log_dt)  # (H)
            C = T.view_as_complex(self.C)  # (H N)
            A = -T.exp(self.log_A_real) + 1j * self.A_imag  # (H N)
            dtA = A * dt.unsqueeze(-1)  # (H N)
            K = dtA.unsqueeze(-1) * T.arange(L, device=A.device)  # (H N L)
            C = C * (T.exp(dtA) - 1.) / A
            K = 2 * T.einsum('hn, hnl -> hl', C, T.exp(K)).real
            return K
        def register(self, name, tensor, lr=None):
            if lr == 0.0:
                self.register_buffer(name, tensor)
            else:
                self.register_parameter(name, nn.Parameter(tensor))
                optim = {"weight_decay": 0.0}
                if lr is not None:
                    optim["lr"] = lr
                setattr(getattr(self, name), "_optim", optim)

    class S4D(nn.Module):
        def __init__(self, d_model, d_state=64, dropout=0.0, transposed=True, **kernel_args):
            super().__init__()
            self.h = d_model
            self.n = d_state
            self.d_output = self.h
            self.transposed = transposed
            self.D = nn.Parameter(T.randn(self.h))
            self.kernel = S4DKernel(self.h, N=self.n, **kernel_args)
            self.activation = nn.GELU()
            self.dropout = nn.Dropout(dropout) if dropout > 0.0 else nn.Identity()
            self.output_linear = nn.Sequential(nn.Conv1d(self.h, 2 * self.h, kernel_size=1), nn.GLU(dim=-2))
        def forward(self, u, **kwargs):
            if not self.transposed:
                u = u.transpose(-1, -2)
            L = u.size(-1)
            k = self.kernel(L=L)  # (H L)
            k_f = T.fft.rfft(k, n=2 * L)  # (H L)
            u_f = T.fft.rfft(u, n=2 * L)  # (B H L)
            y = T.fft.irfft(u_f * k_f, n=2 * L)[..., :L]  # (B H L)
            y = y + u * self.D.unsqueeze(-1)
            y = self.dropout(self.activation(y))
            y = self.output_linear(y)
            if not self.transposed:
                y = y.transpose(-1, -2)
            return y, None

    class S4Model(nn.Module):
        def __init__(self, d_input, d_output=3, d_model=6, n_layers=2, dropout=0.0, prenorm=True, lr=0.001):
            super().__init__()
            self.prenorm = prenorm
            self.encoder = nn.Linear(d_input, d_model)
            self.s4_layers = nn.ModuleList()
            self.norms = nn.ModuleList()
            self.dropouts = nn.ModuleList()
            for _ in range(n_layers):
                self.s4_layers.append(S4D(d_model, d_state=8, dropout=dropout, transposed=True, lr=min(0.001, lr)))
                self.norms.append(nn.LayerNorm(d_model))
                self.dropouts.append(nn.Dropout(dropout))
            self.decoder = nn.Linear(d_model, d_output)
        def forward(self, x):
            x = self.encoder(x)  # (B, L, d_input) -> (B, L, d_model)
            x = x.transpose(-1, -2)  # (B, L, d_model) -> (B, d_model, L)
            for layer, norm, dropout in zip(self.s4_layers, self.norms, self.dropouts):
                z = x
                if self.prenorm:
                    z = norm(z.transpose(-1, -2)).transpose(-1, -2)
                z, _ = layer(z)
                z = dropout(z)
                x = z + x
                if not self.prenorm:
                    x = norm(x.transpose(-1, -2)).transpose(-1, -2)
            x = x.transpose(-1, -2)
            x = x.mean(dim=1)
            return self.decoder(x)

    def setup_optimizer(model, lr, weight_decay, epochs):
        all_parameters = list(model.parameters())
        params = [p for p in all_parameters if not hasattr(p, "_optim")]
        optimizer = T.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        hps = [getattr(p, "_optim") for p in all_parameters if hasattr(p, "_optim")]
        hps = [dict(s) for s in sorted(list(dict.fromkeys(frozenset(hp.items()) for hp in hps)))]
        for hp in hps:
            params = [p for p in all_parameters if getattr(p, "_optim", None) == hp]
            optimizer.add_param_group({"params": params, **hp})
        scheduler = T.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
        return optimizer, scheduler

    model = S4Model(2, lr=0.05)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    assert all(hasattr(getattr(layer.kernel, name), "_optim") for layer in model.s4_layers
               for name in ("log_dt", "log_A_real", "A_imag"))
    criterion = nn.CrossEntropyLoss()
    optimizer, scheduler = setup_optimizer(model, lr=0.05, weight_decay=0.01, epochs=3)
    out = [[g["lr"] for g in optimizer.param_groups]]
    for x, y in zip(xs, ys):
        optimizer.zero_grad()
        outputs = model(T.tensor(x))
        loss = criterion(outputs, T.tensor(y))
        loss.backward()
        optimizer.step()
        scheduler.step()
        out += [outputs, loss, _grads(model), [g["lr"] for g in optimizer.param_groups]]
    out.append(model.state_dict())
    return out


def test_s4d_fft_convolution_and_param_groups(torch):
    rng = _rng(5)
    sd = s4d(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 4, 9, 2)), rng.integers(0, 3, (3, 4))
    _compare(s4d(tg, sd, xs, ys), s4d(torch, sd, xs, ys))


def lru(T, sd, xs, ys):
    """The Linear Recurrent Unit (Orvieto et al. 2023) as its plain-torch ports write it: nu_log / theta_log /
    gamma_log parameters, complex B and C (nn.Parameter of torch.complex), Lambda = exp(-exp(nu_log) + i
    exp(theta_log)), the state loop h = Lambda h + gamma B x with out[i] written into a preallocated output, real
    part of C h plus D x; the diagonal recurrence also by the parallel closed form (powers of Lambda, cumulative
    sums); Adam on the complex parameters."""
    nn, F = T.nn, T.nn.functional

    class LRU(nn.Module):
        def __init__(self, in_features, out_features, state_features, rmin=0.4, rmax=0.9, max_phase=6.283):
            super().__init__()
            self.out_features = out_features
            u1 = T.rand(state_features)
            u2 = T.rand(state_features)
            self.nu_log = nn.Parameter(T.log(-0.5 * T.log(u1 * (rmax + rmin) * (rmax - rmin) + rmin**2)))
            self.theta_log = nn.Parameter(T.log(max_phase * u2))
            Lambda_mod = T.exp(-T.exp(self.nu_log))
            self.gamma_log = nn.Parameter(T.log(T.sqrt(T.ones_like(Lambda_mod) - T.square(Lambda_mod))))
            B_re = T.randn([state_features, in_features]) / math.sqrt(2 * in_features)
            B_im = T.randn([state_features, in_features]) / math.sqrt(2 * in_features)
            self.B = nn.Parameter(T.complex(B_re, B_im))
            C_re = T.randn([out_features, state_features]) / math.sqrt(state_features)
            C_im = T.randn([out_features, state_features]) / math.sqrt(state_features)
            self.C = nn.Parameter(T.complex(C_re, C_im))
            self.D = nn.Parameter(T.randn([out_features, in_features]) / math.sqrt(in_features))
            self.state = T.complex(T.zeros(state_features), T.zeros(state_features))
        def forward(self, input):
            self.state = self.state.to(self.B.device)
            Lambda = T.exp(-T.exp(self.nu_log) + 1j * T.exp(self.theta_log))
            gammas = T.exp(self.gamma_log).unsqueeze(-1).to(self.B.device)
            output = T.empty([i for i in input.shape[:-1]] + [self.out_features], device=self.B.device)
            for i, step in enumerate(input):
                self.state = (Lambda * self.state + gammas * self.B @ step.to(dtype=self.B.dtype))
                out_step = (self.C @ self.state).real + self.D @ step
                output[i] = out_step
            self.state = T.complex(T.zeros_like(self.state.real), T.zeros_like(self.state.real))
            return output
        def parallel(self, input):  # (L, in) -> (L, out): h_k = sum_{j<=k} Lambda^(k-j) gamma B x_j
            Lambda_mod = T.exp(-T.exp(self.nu_log))
            Lambda = T.polar(Lambda_mod, T.exp(self.theta_log))
            Bu = (T.exp(self.gamma_log).unsqueeze(-1) * self.B) @ input.to(self.B.dtype).T  # (N, L)
            L = input.shape[0]
            k = T.arange(L)
            powers = Lambda[:, None, None] ** (k.unsqueeze(1) - k.unsqueeze(0)).clamp(min=0)  # (N, L, L)
            mask = T.tril(T.ones(L, L, dtype=T.bool))
            H = T.einsum('nkj,nj->nk', powers * mask, Bu)
            return (self.C @ H).real.T + input @ self.D.T

    model = nn.ModuleDict({"lru": LRU(2, 3, 4), "head": nn.Linear(3, 1)})
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=0.01)
    out = []
    for x, y in zip(xs, ys):
        x = T.tensor(x)
        opt.zero_grad()
        h = model["lru"](x)
        pred = model["head"](F.gelu(h)).squeeze(-1)
        loss = F.mse_loss(pred, T.tensor(y))
        loss.backward()
        out += [h, model["lru"].parallel(x), pred, loss, _grads(model)]
        opt.step()
    out.append(model.state_dict())
    return out


def test_lru_complex_recurrence_and_complex_adam(torch):
    rng = _rng(6)
    sd = lru(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 7, 2)), rng.standard_normal((3, 7))
    ours, theirs = lru(tg, sd, xs, ys), lru(torch, sd, xs, ys)
    _compare(ours, theirs)
    for k in range(3):
        _compare(ours[5 * k + 1], ours[5 * k], where=f"parallel vs recurrent, step {k}")


# ------------------------------------------------------------------------------------------------------------- xLSTM
def xlstm(T, sd, xs, ys, eps=1e-6):
    """NX-AI/xlstm's reference kernels in plain torch: the vanilla sLSTM pointwise cell (slstm_forward_pointwise:
    unbind of the stacked states and gate pre-activations, the m stabilizer started by iraw while n is all zero,
    exponential input gate, normalizer n) under block-diagonal recurrent weights per head, and the mLSTM backends
    parallel_stabilized_simple (log-sigmoid forget gates cumsum matrix, the causal where by a boolean tril, rowwise
    stabilized D matrix) and recurrent_step_stabilized_simple (in-place squeeze_ of the step slices); AdamW."""
    nn, F = T.nn, T.nn.functional

    def slstm_forward_pointwise(Wx, Ry, b, states):
        raw = Wx + Ry + b
        y, c, n, m = T.unbind(states.view(4, states.shape[1], -1), dim=0)
        iraw, fraw, zraw, oraw = T.unbind(raw.view(raw.shape[0], 4, -1), dim=1)
        logfplusm = m + F.logsigmoid(fraw)
        if T.all(n == 0.0):
            mnew = iraw
        else:
            mnew = T.max(iraw, logfplusm)
        ogate = T.sigmoid(oraw)
        igate = T.exp(iraw - mnew)
        fgate = T.exp(logfplusm - mnew)
        cnew = fgate * c + igate * T.tanh(zraw)
        nnew = fgate * n + igate
        ynew = ogate * cnew / nnew
        return T.stack((ynew, cnew, nnew, mnew), dim=0), T.stack((igate, fgate, zraw, oraw), dim=0)

    def parallel_stabilized_simple(queries, keys, values, igate_preact, fgate_preact, lower_triangular_matrix=None,
                                   stabilize_rowwise=True, eps=1e-6):
        B, NH, S, DH = queries.shape
        _dtype, _device = queries.dtype, queries.device
        log_fgates = F.logsigmoid(fgate_preact)  # (B, NH, S, 1)
        if lower_triangular_matrix is None or S < lower_triangular_matrix.size(-1):
            ltr = T.tril(T.ones((S, S), dtype=T.bool, device=_device))
        else:
            ltr = lower_triangular_matrix
        assert ltr.dtype == T.bool, f"lower_triangular_matrix must be of dtype bool, got {ltr.dtype}"
        log_fgates_cumsum = T.cat([T.zeros((B, NH, 1, 1), dtype=_dtype, device=_device),
                                   T.cumsum(log_fgates, dim=-2)], dim=-2)  # (B, NH, S+1, 1)
        rep_log_fgates_cumsum = log_fgates_cumsum.repeat(1, 1, 1, S + 1)  # (B, NH, S+1, S+1)
        _log_fg_matrix = rep_log_fgates_cumsum - rep_log_fgates_cumsum.transpose(-2, -1)  # (B, NH, S+1, S+1)
        log_fg_matrix = T.where(ltr, _log_fg_matrix[:, :, 1:, 1:], -float("inf"))  # (B, NH, S, S)
        log_D_matrix = log_fg_matrix + igate_preact.transpose(-2, -1)  # (B, NH, S, S)
        if stabilize_rowwise:
            max_log_D, _ = T.max(log_D_matrix, dim=-1, keepdim=True)  # (B, NH, S, 1)
        else:
            max_log_D = T.max(log_D_matrix.view(B, NH, -1), dim=-1, keepdim=True)[0].unsqueeze(-1)
        log_D_matrix_stabilized = log_D_matrix - max_log_D  # (B, NH, S, S)
        D_matrix = T.exp(log_D_matrix_stabilized)  # (B, NH, S, S)
        keys_scaled = keys / math.sqrt(DH)
        qk_matrix = queries @ keys_scaled.transpose(-2, -1)  # (B, NH, S, S)
        C_matrix = qk_matrix * D_matrix  # (B, NH, S, S)
        normalizer = T.maximum(C_matrix.sum(dim=-1, keepdim=True).abs(), T.exp(-max_log_D))  # (B, NH, S, 1)
        C_matrix_normalized = C_matrix / (normalizer + eps)
        return C_matrix_normalized @ values  # (B, NH, S, DH)

    def recurrent_step_stabilized_simple(c_state, n_state, m_state, q, k, v, igate_preact, fgate_preact, eps=1e-6):
        B, NH, S, DH = q.shape
        q, k, v = q.squeeze_(2).unsqueeze(-1), k.squeeze_(2).unsqueeze(-1), v.squeeze_(2).unsqueeze(-1)
        log_fg_act = F.logsigmoid(fgate_preact)  # (B, NH, 1, 1)
        m_state_new = T.max(log_fg_act + m_state, igate_preact)  # (B, NH, 1, 1)
        fg_act = T.exp(log_fg_act + m_state - m_state_new)  # (B, NH, 1, 1)
        ig_act = T.exp(igate_preact - m_state_new)  # (B, NH, 1, 1)
        k_scaled = k / math.sqrt(DH)
        c_state_new = fg_act * c_state + ig_act * (k_scaled @ v.transpose(-1, -2))  # (B, NH, DH, DH)
        n_state_new = fg_act * n_state + ig_act * k_scaled  # (B, NH, DH, 1)
        h_num = q.transpose(-1, -2) @ c_state_new  # (B, NH, 1, DH)
        qn_dotproduct = q.transpose(-1, -2) @ n_state_new  # (B, NH, 1, 1)
        max_val = T.exp(-m_state_new)  # (B, NH, 1, 1)
        h_denom = T.maximum(qn_dotproduct.abs(), max_val) + eps
        h = h_num / h_denom  # (B, NH, 1, DH)
        return h, (c_state_new, n_state_new, m_state_new)

    class sLSTMLayer(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.d, self.heads = d, heads
            self.W = nn.Linear(d, 4 * d, bias=False)
            self.R = nn.Parameter(T.randn(heads, d // heads, 4 * d // heads) / math.sqrt(d // heads))
            self.b = nn.Parameter(T.zeros(4 * d))
            with T.no_grad():  # forget gate bias init (powerlaw-like)
                self.b[d:2 * d] = T.linspace(3.0, 6.0, d)
        def forward(self, x):  # (B, S, d)
            Bn, S, d = x.shape
            Wx = self.W(x)  # (B, S, 4d), gates as [i, f, z, o] blocks
            states = T.zeros(4, Bn, d)
            ys = []
            for t in range(S):
                yh = states[0].view(Bn, self.heads, -1)
                Ry = T.einsum('bhd,hde->bhe', yh, self.R)  # each head: 4 gates of d/heads
                Ry = Ry.view(Bn, self.heads, 4, -1).transpose(1, 2).reshape(Bn, 4 * d)
                states, _ = slstm_forward_pointwise(Wx[:, t], Ry, self.b, states)
                ys.append(states[0])
            return T.stack(ys, dim=1)

    class mLSTMLayer(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.heads = heads
            self.q_proj = nn.Linear(d, d)
            self.k_proj = nn.Linear(d, d)
            self.v_proj = nn.Linear(d, d)
            self.igate = nn.Linear(3 * d, heads)
            self.fgate = nn.Linear(3 * d, heads)
            nn.init.zeros_(self.fgate.weight)
            with T.no_grad():
                self.fgate.bias.copy_(T.linspace(3.0, 6.0, heads))
            self.outnorm = nn.GroupNorm(heads, d)
        def proj(self, x):
            Bn, S, d = x.shape
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
            qkv = T.cat([q, k, v], dim=-1)
            q, k, v = (t.view(Bn, S, self.heads, -1).transpose(1, 2) for t in (q, k, v))  # (B, NH, S, DH)
            i = self.igate(qkv).transpose(-1, -2).unsqueeze(-1)  # (B, NH, S, 1)
            f = self.fgate(qkv).transpose(-1, -2).unsqueeze(-1)
            return q, k, v, i, f
        def norm(self, h):  # (B, NH, S, DH) -> (B, S, d)
            Bn, NH, S, DH = h.shape
            h = h.transpose(1, 2).reshape(Bn * S, NH * DH)
            return self.outnorm(h).view(Bn, S, -1)
        def forward(self, x):
            q, k, v, i, f = self.proj(x)
            return self.norm(parallel_stabilized_simple(q, k, v, i, f, eps=eps))
        def recurrent(self, x):  # step by step, each step's q, k, v projected alone (as xLSTM's step())
            Bn, S, d = x.shape
            NH, DH = self.heads, d // self.heads
            c, n, m = T.zeros(Bn, NH, DH, DH), T.zeros(Bn, NH, DH, 1), T.zeros(Bn, NH, 1, 1)
            hs = []
            for t in range(S):
                q, k, v, i, f = self.proj(x[:, t:t + 1])
                h, (c, n, m) = recurrent_step_stabilized_simple(c, n, m, q, k, v, i, f, eps=eps)
                hs.append(h)
            return self.norm(T.cat(hs, dim=2))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(3, 4)
            self.slstm = sLSTMLayer(4, 2)
            self.mlstm = mLSTMLayer(4, 2)
            self.out = nn.Linear(4, 2)
        def forward(self, x, recurrent=False):
            h = self.slstm(self.inp(x))
            h = self.mlstm.recurrent(h) if recurrent else self.mlstm(h)
            return self.out(h)

    net = Net()
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    opt = T.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.01)
    out = []
    for x, y in zip(xs, ys):
        x = T.tensor(x)
        opt.zero_grad()
        par = net(x)
        loss = F.mse_loss(par, T.tensor(y))
        loss.backward()
        grads = _grads(net)
        opt.zero_grad()
        rec = net(x, recurrent=True)
        F.mse_loss(rec, T.tensor(y)).backward()
        out += [par, rec, loss, grads, _grads(net)]
        opt.zero_grad()
        loss = F.mse_loss(net(x), T.tensor(y))
        loss.backward()
        opt.step()
    out.append(net.state_dict())
    return out


def test_xlstm_slstm_and_mlstm_parallel_vs_recurrent(torch):
    rng = _rng(7)
    sd = xlstm(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 5, 3)), rng.standard_normal((3, 2, 5, 2))
    _compare(xlstm(tg, sd, xs, ys), xlstm(torch, sd, xs, ys))
    ours = xlstm(tg, sd, xs, ys, eps=0.0)  # the two forms agree (eps enters them at different scales)
    for k in range(3):
        _compare(ours[5 * k], ours[5 * k + 1], where=f"parallel vs recurrent, step {k}")
        _compare(ours[5 * k + 3], ours[5 * k + 4], 1e-9, where=f"their gradients, step {k}")


# ------------------------------------------------------------------------------------------------------------ RetNet
def retnet(T, sd, xs, ys):
    """RetNet's multi-scale retention as Jamie-Stirling/RetNet writes it: SimpleRetention with xPos (rotate every
    two, duplicate_interleave, the scale ** position buffer and its downscale), the decay mask D = gamma ** (n - m)
    * (n >= m).float() with its NaN cleanup D[D != D] = 0, heads' gammas 1 - exp(linspace(log 1/32, log 1/512)),
    group norm and the swish gate; the parallel form trained (Adam), the recurrent form S_n = gamma S_{n-1} +
    K^T V run step by step beside it."""
    nn = T.nn

    def fixed_pos_embedding(x):
        seq_len, dim = x.shape
        inv_freq = 1.0 / (10000 ** (T.arange(0, dim) / dim))
        sinusoid_inp = (T.einsum("i , j -> i j", T.arange(0, seq_len, dtype=T.float), inv_freq).to(x))
        return T.sin(sinusoid_inp), T.cos(sinusoid_inp)

    def rotate_every_two(x):
        x1 = x[:, :, ::2]
        x2 = x[:, :, 1::2]
        x = T.stack((-x2, x1), dim=-1)
        return x.flatten(-2)

    def duplicate_interleave(m):
        dim0 = m.shape[0]
        m = m.view(-1, 1)
        m = m.repeat(1, 2)
        m = m.view(dim0, -1)
        return m

    def apply_rotary_pos_emb(x, sin, cos, scale=1):
        sin, cos = map(lambda t: duplicate_interleave(t * scale), (sin, cos))
        return (x * cos) + (rotate_every_two(x) * sin)

    class XPOS(nn.Module):
        def __init__(self, head_dim, scale_base=512):
            super().__init__()
            self.head_dim = head_dim
            self.scale_base = scale_base
            self.register_buffer("scale", (T.arange(0, head_dim, 2) + 0.4 * head_dim) / (1.4 * head_dim))
        def forward(self, x, offset=0, downscale=False):
            length = x.shape[1]
            min_pos = 0
            max_pos = length + offset + min_pos
            scale = self.scale ** T.arange(min_pos, max_pos, 1).to(self.scale).div(self.scale_base)[:, None]
            sin, cos = fixed_pos_embedding(scale)
            if scale.shape[0] > length:
                scale = scale[-length:]
                sin = sin[-length:]
                cos = cos[-length:]
            if downscale:
                scale = 1 / scale
            return apply_rotary_pos_emb(x, sin, cos, scale)

    class SimpleRetention(nn.Module):
        def __init__(self, hidden_size, gamma, head_size=None, double_v_dim=False):
            super().__init__()
            self.hidden_size = hidden_size
            if head_size is None:
                head_size = hidden_size
            self.head_size = head_size
            self.v_dim = head_size * 2 if double_v_dim else head_size
            self.gamma = gamma
            self.W_Q = nn.Parameter(T.randn(hidden_size, head_size) / hidden_size)
            self.W_K = nn.Parameter(T.randn(hidden_size, head_size) / hidden_size)
            self.W_V = nn.Parameter(T.randn(hidden_size, self.v_dim) / hidden_size)
            self.xpos = XPOS(head_size)
        def forward(self, X):
            sequence_length = X.shape[1]
            D = self._get_D(sequence_length).to(self.W_Q.device)
            Q = (X @ self.W_Q)
            K = (X @ self.W_K)
            Q = self.xpos(Q)
            K = self.xpos(K, downscale=True)
            V = X @ self.W_V
            ret = (Q @ K.permute(0, 2, 1)) * D.unsqueeze(0)
            return ret @ V
        def forward_recurrent(self, x_n, s_n_1, n):
            Q = (x_n @ self.W_Q)
            K = (x_n @ self.W_K)
            Q = self.xpos(Q, n + 1)
            K = self.xpos(K, n + 1, downscale=True)
            V = x_n @ self.W_V
            s_n = self.gamma * s_n_1 + (K.transpose(-1, -2) @ V)
            return (Q @ s_n), s_n
        def _get_D(self, sequence_length):
            n = T.arange(sequence_length).unsqueeze(1)
            m = T.arange(sequence_length).unsqueeze(0)
            D = (self.gamma ** (n - m)) * (n >= m).float()  # this results in some NaN when n is much larger than m
            D[D != D] = 0  # fill the NaN with 0
            return D

    class MultiScaleRetention(nn.Module):
        def __init__(self, hidden_size, heads, double_v_dim=False):
            super().__init__()
            self.hidden_size = hidden_size
            self.v_dim = hidden_size * 2 if double_v_dim else hidden_size
            self.heads = heads
            self.head_size = hidden_size // heads
            self.head_v_dim = hidden_size * 2 if double_v_dim else hidden_size
            self.gammas = (1 - T.exp(T.linspace(math.log(1 / 32), math.log(1 / 512), heads))).detach().cpu().tolist()
            self.swish = lambda x: x * T.sigmoid(x)
            self.W_G = nn.Parameter(T.randn(hidden_size, self.v_dim) / hidden_size)
            self.W_O = nn.Parameter(T.randn(self.v_dim, hidden_size) / hidden_size)
            self.group_norm = nn.GroupNorm(heads, self.v_dim)
            self.retentions = nn.ModuleList([SimpleRetention(self.hidden_size, gamma, self.head_size, double_v_dim)
                                             for gamma in self.gammas])
        def forward(self, X):
            Y = []
            for i in range(self.heads):
                Y.append(self.retentions[i](X))
            Y = T.cat(Y, dim=2)
            Y_shape = Y.shape
            Y = self.group_norm(Y.reshape(-1, self.v_dim)).reshape(Y_shape)
            return (self.swish(X @ self.W_G) * Y) @ self.W_O
        def forward_recurrent(self, x_n, s_n_1s, n):
            Y = []
            s_ns = []
            for i in range(self.heads):
                y, s_n = self.retentions[i].forward_recurrent(x_n[:, :, :], s_n_1s[i], n)
                Y.append(y)
                s_ns.append(s_n)
            Y = T.cat(Y, dim=2)
            Y_shape = Y.shape
            Y = self.group_norm(Y.reshape(-1, self.v_dim)).reshape(Y_shape)
            return (self.swish(x_n @ self.W_G) * Y) @ self.W_O, s_ns

    class RetNet(nn.Module):
        def __init__(self, layers, hidden_dim, ffn_size, heads, double_v_dim=False):
            super().__init__()
            self.layers, self.hidden_dim, self.heads = layers, hidden_dim, heads
            self.v_dim = hidden_dim * 2 if double_v_dim else hidden_dim
            self.retentions = nn.ModuleList([MultiScaleRetention(hidden_dim, heads, double_v_dim)
                                             for _ in range(layers)])
            self.ffns = nn.ModuleList([nn.Sequential(nn.Linear(hidden_dim, ffn_size), nn.GELU(),
                                                     nn.Linear(ffn_size, hidden_dim)) for _ in range(layers)])
            self.layer_norms_1 = nn.ModuleList([nn.LayerNorm(hidden_dim) for _ in range(layers)])
            self.layer_norms_2 = nn.ModuleList([nn.LayerNorm(hidden_dim) for _ in range(layers)])
        def forward(self, X):
            for i in range(self.layers):
                Y = self.retentions[i](self.layer_norms_1[i](X)) + X
                X = self.ffns[i](self.layer_norms_2[i](Y)) + Y
            return X
        def forward_recurrent(self, x_n, s_n_1s, n):
            s_ns = []
            for i in range(self.layers):
                o_n, s_n = self.retentions[i].forward_recurrent(self.layer_norms_1[i](x_n), s_n_1s[i], n)
                y_n = o_n + x_n
                s_ns.append(s_n)
                x_n = self.ffns[i](self.layer_norms_2[i](y_n)) + y_n
            return x_n, s_ns

    model = RetNet(2, 4, 8, 2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for x, y in zip(xs, ys):
        X = T.tensor(x)
        opt.zero_grad()
        Y_parallel = model(X)
        loss = T.nn.functional.mse_loss(Y_parallel, T.tensor(y))
        loss.backward()
        out += [Y_parallel, loss, _grads(model)]
        opt.zero_grad()
        s_n_1s = [[T.zeros(model.hidden_dim // model.heads, model.v_dim // model.heads).unsqueeze(0).repeat(
            X.shape[0], 1, 1) for _ in range(model.heads)] for _ in range(model.layers)]
        Y_recurrent = []
        for i in range(X.shape[1]):
            y_n, s_ns = model.forward_recurrent(X[:, i:i + 1, :], s_n_1s, i)
            Y_recurrent.append(y_n)
            s_n_1s = s_ns
        Y_recurrent = T.concat(Y_recurrent, dim=1)
        Y_recurrent.pow(2).sum().backward()
        out += [Y_recurrent, _grads(model)]
        opt.zero_grad()
        T.nn.functional.mse_loss(model(X), T.tensor(y)).backward()
        opt.step()
    out.append(model.state_dict())
    return out


def test_retnet_parallel_and_recurrent_retention(torch):
    rng = _rng(8)
    sd = retnet(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 6, 4)), rng.standard_normal((3, 2, 6, 4))
    ours = retnet(tg, sd, xs, ys)
    _compare(ours, retnet(torch, sd, xs, ys))
    for k in range(3):
        _compare(ours[5 * k + 3], ours[5 * k], where=f"recurrent vs parallel, step {k}")


# ------------------------------------------------------------------------------------------ linear attention, Hyena
def linear_attention(T, sd, xs, ys, eps=1e-6):
    """Katharopoulos et al.'s causal linear attention (idiap/fast-transformers) in plain torch: elu(x) + 1 feature
    maps, the parallel causal form by cumulative sums of the k v^T outer products and of k, and the recurrent form
    (RecurrentLinearAttention: S_i = S_{i-1} + k v^T, Z_i = Z_{i-1} + k) over a transformer layer; SGD with
    momentum and nesterov."""
    nn, F = T.nn, T.nn.functional

    def elu_feature_map(x):
        return F.elu(x) + 1

    def causal_linear(Q, K, V):  # (N, L, H, D), (N, L, H, D), (N, L, H, M)
        KV = T.einsum("nlhd,nlhm->nlhdm", K, V).cumsum(1)
        Z = 1. / (T.einsum("nlhd,nlhd->nlh", Q, K.cumsum(1)) + eps)
        return T.einsum("nlhd,nlhdm,nlh->nlhm", Q, KV, Z)

    def recurrent_linear(q, k, v, state=None):  # (N, H, D), (N, H, D), (N, H, M)
        if state is None:
            Si = q.new_zeros((q.shape[0], q.shape[1], q.shape[2], v.shape[2]))
            Zi = q.new_zeros(q.shape)
        else:
            Si, Zi = state
        Zi = Zi + k
        Si = Si + T.einsum("nhd,nhm->nhdm", k, v)
        Z = 1. / (T.einsum("nhd,nhd->nh", q, Zi) + eps)
        V = T.einsum("nhd,nhdm,nh->nhm", q, Si, Z)
        return V, [Si, Zi]

    class AttentionLayer(nn.Module):
        def __init__(self, d_model, n_heads):
            super().__init__()
            self.query_projection = nn.Linear(d_model, d_model)
            self.key_projection = nn.Linear(d_model, d_model)
            self.value_projection = nn.Linear(d_model, d_model)
            self.out_projection = nn.Linear(d_model, d_model)
            self.n_heads = n_heads
        def forward(self, x, recurrent=False):
            N, L, _ = x.shape
            H = self.n_heads
            q = elu_feature_map(self.query_projection(x).view(N, L, H, -1))
            k = elu_feature_map(self.key_projection(x).view(N, L, H, -1))
            v = self.value_projection(x).view(N, L, H, -1)
            if not recurrent:
                new_values = causal_linear(q, k, v)
            else:
                state, outs = None, []
                for i in range(L):
                    o, state = recurrent_linear(q[:, i], k[:, i], v[:, i], state)
                    outs.append(o)
                new_values = T.stack(outs, dim=1)
            return self.out_projection(new_values.reshape(N, L, -1))

    class Layer(nn.Module):
        def __init__(self, d_model, n_heads):
            super().__init__()
            self.attention = AttentionLayer(d_model, n_heads)
            self.linear1 = nn.Linear(d_model, 2 * d_model)
            self.linear2 = nn.Linear(2 * d_model, d_model)
            self.norm1 = nn.LayerNorm(d_model)
            self.norm2 = nn.LayerNorm(d_model)
        def forward(self, x, recurrent=False):
            x = self.norm1(x + self.attention(x, recurrent))
            return self.norm2(x + self.linear2(F.relu(self.linear1(x))))

    model = Layer(4, 2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    out = []
    for x, y in zip(xs, ys):
        x = T.tensor(x)
        opt.zero_grad()
        with T.no_grad():
            rec = model(x, recurrent=True)
        par = model(x)
        loss = F.mse_loss(par, T.tensor(y))
        loss.backward()
        opt.step()
        out += [par, rec, loss, _grads(model)]
    out.append(model.state_dict())
    return out


def test_causal_linear_attention_parallel_and_recurrent(torch):
    rng = _rng(9)
    sd = linear_attention(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 6, 4)), rng.standard_normal((3, 2, 6, 4))
    ours = linear_attention(tg, sd, xs, ys)
    _compare(ours, linear_attention(torch, sd, xs, ys))
    for k in range(3):
        _compare(ours[4 * k + 1], ours[4 * k], where=f"recurrent vs parallel, step {k}")


def hyena(T, sd, xs, ys):
    """HazyResearch's Hyena operator (safari, standalone_hyena.py): fftconv (rfft of the filter with n=2L divided
    by it, irfft with norm="forward", D bias), the implicit filter (PositionalEmbedding's complex exponential
    features with view_as_real-free real/imag, Sin activation with a learned frequency, ExponentialModulation),
    short depthwise conv1d, the order-2 recurrence of gates; AdamW."""
    nn, F = T.nn, T.nn.functional

    def fftconv(u, k, D):
        seqlen = u.shape[-1]
        fft_size = 2 * seqlen
        k_f = T.fft.rfft(k, n=fft_size) / fft_size
        u_f = T.fft.rfft(u.to(dtype=k.dtype), n=fft_size)
        if len(u.shape) > 3:
            k_f = k_f.unsqueeze(1)
        y = T.fft.irfft(u_f * k_f, n=fft_size, norm="forward")[..., :seqlen]
        out = y + u * D.unsqueeze(-1)
        return out.to(dtype=u.dtype)

    class Sin(nn.Module):
        def __init__(self, dim, w=10, train_freq=True):
            super().__init__()
            self.freq = nn.Parameter(w * T.ones(1, dim)) if train_freq else w * T.ones(1, dim)
        def forward(self, x):
            return T.sin(self.freq * x)

    class PositionalEmbedding(nn.Module):
        def __init__(self, emb_dim, seq_len, lr_pos_emb=1e-5):
            super().__init__()
            self.seq_len = seq_len
            t = T.linspace(0, 1, self.seq_len)[None, :, None]  # 1, L, 1
            if emb_dim > 1:
                bands = (emb_dim - 1) // 2
            t_rescaled = T.linspace(0, seq_len - 1, seq_len)[None, :, None]
            w = 2 * math.pi * t_rescaled / seq_len  # 1, L, 1
            f = T.linspace(1e-4, bands - 1, bands)[None, None]
            z = T.exp(-1j * f * w)
            z = T.cat([t, z.real, z.imag], dim=-1)
            self.register_buffer("z", z)
            self.register_buffer("t", t)
        def forward(self, L):
            return self.z[:, :L], self.t[:, :L]

    class ExponentialModulation(nn.Module):
        def __init__(self, d_model, fast_decay_pct=0.3, slow_decay_pct=1.5, target=1e-2, modulate=True, shift=0.0):
            super().__init__()
            self.modulate = modulate
            self.shift = shift
            max_decay = math.log(target) / fast_decay_pct
            min_decay = math.log(target) / slow_decay_pct
            deltas = T.linspace(min_decay, max_decay, d_model)[None, None]
            self.register_buffer("deltas", deltas)
        def forward(self, t, x):
            if self.modulate:
                decay = T.exp(-t * self.deltas.abs())
                x = x * (decay + self.shift)
            return x

    class HyenaFilter(nn.Module):
        def __init__(self, d_model, emb_dim=3, order=8, seq_len=16, w=1):
            super().__init__()
            self.d_model = d_model
            self.bias = nn.Parameter(T.randn(self.d_model))
            act = Sin(dim=order, w=w)
            self.emb_dim = emb_dim
            self.seq_len = seq_len
            self.pos_emb = PositionalEmbedding(emb_dim, seq_len)
            self.implicit_filter = nn.Sequential(nn.Linear(emb_dim, order), act, nn.Linear(order, order), act,
                                                 nn.Linear(order, d_model, bias=False))
            self.modulation = ExponentialModulation(d_model)
        def filter(self, L):
            z, t = self.pos_emb(L)
            h = self.implicit_filter(z)
            return self.modulation(t, h)
        def forward(self, x, L, k=None, bias=None):
            if k is None:
                k = self.filter(L)
            k = k[0] if type(k) is tuple else k
            return fftconv(x, k, bias)

    class HyenaOperator(nn.Module):
        def __init__(self, d_model, l_max, order=2, filter_order=8):
            super().__init__()
            self.d_model, self.l_max, self.order = d_model, l_max, order
            inner_width = d_model * (order + 1)
            self.in_proj = nn.Linear(d_model, inner_width)
            self.out_proj = nn.Linear(d_model, d_model)
            self.short_filter = nn.Conv1d(inner_width, inner_width, 3, padding=2, groups=inner_width)
            self.filter_fn = HyenaFilter(d_model * (order - 1), order=filter_order, seq_len=l_max)
        def forward(self, u):
            l = u.size(-2)
            l_filter = min(l, self.l_max)
            u = self.in_proj(u)
            u = u.transpose(1, 2)  # b l d -> b d l
            uc = self.short_filter(u)[..., :l_filter]
            *x, v = uc.split(self.d_model, dim=1)
            k = self.filter_fn.filter(l_filter)[0]
            k = k.reshape(l_filter, self.order - 1, self.d_model).permute(1, 2, 0)  # l (o d) -> o d l
            bias = self.filter_fn.bias.reshape(self.order - 1, self.d_model)
            for o, x_i in enumerate(reversed(x[1:])):
                v = v * x_i
                v = self.filter_fn(v, l_filter, k=k[o], bias=bias[o])
            y = (v * x[0]).transpose(1, 2)  # b d l -> b l d
            return self.out_proj(y)

    model = HyenaOperator(d_model=4, l_max=8, order=3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.AdamW(model.parameters(), lr=1e-2)
    out = []
    for x, y in zip(xs, ys):
        opt.zero_grad()
        pred = model(T.tensor(x))
        loss = F.mse_loss(pred, T.tensor(y))
        loss.backward()
        opt.step()
        out += [pred, loss, _grads(model)]
    out.append(model.state_dict())
    return out


def test_hyena_fft_long_convolution(torch):
    rng = _rng(10)
    sd = hyena(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 8, 4)), rng.standard_normal((3, 2, 8, 4))
    _compare(hyena(tg, sd, xs, ys), hyena(torch, sd, xs, ys))


# ----------------------------------------------------------------------------------------------------- Mamba-2 (SSD)
def mamba2_ssd(T, sd, xs, ys, block_len=3):
    """mamba_ssm's ssd_minimal_discrete (Mamba-2's state space duality, the chunked reference): segsum by a
    repeated, tril-masked cumsum with -inf above the diagonal, exp of it, the five-operand einsum of the diagonal
    blocks, chunk states, the inter-chunk recurrence by exp(segsum(F.pad(...))), state-to-output; x * dt and A * dt
    from a softplus dt with its bias as Mamba2's ssd test feeds it; the same SSM by its step-by-step recurrence
    beside it (as selective_scan); Adam."""
    nn, F = T.nn, T.nn.functional

    def segsum(x):
        Tn = x.size(-1)
        x = x[..., None].repeat(*([1] * x.dim()), Tn)  # repeat(x, "... d -> ... d e", e=T)
        mask = T.tril(T.ones(Tn, Tn, device=x.device, dtype=bool), diagonal=-1)
        x = x.masked_fill(~mask, 0)
        x_segsum = T.cumsum(x, dim=-2)
        mask = T.tril(T.ones(Tn, Tn, device=x.device, dtype=bool), diagonal=0)
        x_segsum = x_segsum.masked_fill(~mask, -T.inf)
        return x_segsum

    def chunk(x, l):  # rearrange(x, "b (c l) ... -> b c l ...", l=block_len)
        return x.reshape(x.shape[0], x.shape[1] // l, l, *x.shape[2:])

    def ssd_minimal_discrete(X, A, B, C, block_len, initial_states=None):
        assert X.dtype == A.dtype == B.dtype == C.dtype
        assert X.shape[1] % block_len == 0
        X, A, B, C = [chunk(x, block_len) for x in (X, A, B, C)]
        A = A.permute(0, 3, 1, 2)  # "b c l h -> b h c l"
        A_cumsum = T.cumsum(A, dim=-1)
        L = T.exp(segsum(A))
        Y_diag = T.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, L, X)
        decay_states = T.exp((A_cumsum[:, :, :, -1:] - A_cumsum))
        states = T.einsum("bclhn,bhcl,bclhp->bchpn", B, decay_states, X)
        if initial_states is None:
            initial_states = T.zeros_like(states[:, :1])
        states = T.cat([initial_states, states], dim=1)
        decay_chunk = T.exp(segsum(F.pad(A_cumsum[:, :, :, -1], (1, 0))))
        new_states = T.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
        states, final_state = new_states[:, :-1], new_states[:, -1]
        state_decay_out = T.exp(A_cumsum)
        Y_off = T.einsum('bclhn,bchpn,bhcl->bclhp', C, states, state_decay_out)
        Y = Y_diag + Y_off
        return Y.reshape(Y.shape[0], -1, *Y.shape[3:]), final_state

    def ssd_recurrent(X, A, B, C):
        h = X.new_zeros(X.shape[0], X.shape[2], X.shape[3], B.shape[-1])  # (b h p n)
        ys = []
        for t in range(X.shape[1]):
            h = T.exp(A[:, t])[:, :, None, None] * h + T.einsum("bhn,bhp->bhpn", B[:, t], X[:, t])
            ys.append(T.einsum("bhpn,bhn->bhp", h, C[:, t]))
        return T.stack(ys, dim=1), h

    class SSD(nn.Module):
        def __init__(self, d_model=4, nheads=2, headdim=2, d_state=3):
            super().__init__()
            self.nheads, self.headdim, self.d_state = nheads, headdim, d_state
            self.in_proj = nn.Linear(d_model, nheads * headdim + 2 * nheads * d_state + nheads)
            self.A_log = nn.Parameter(T.log(T.empty(nheads).uniform_(1, 16)))
            dt = T.exp(T.rand(nheads) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
            self.dt_bias = nn.Parameter(dt + T.log(-T.expm1(-dt)))
            self.out_proj = nn.Linear(nheads * headdim, d_model)
        def forward(self, u, recurrent=False):
            b, l, _ = u.shape
            H, P, N = self.nheads, self.headdim, self.d_state
            x, B, C, dt = T.split(self.in_proj(u), [H * P, H * N, H * N, H], dim=-1)
            x, B, C = x.reshape(b, l, H, P), B.reshape(b, l, H, N), C.reshape(b, l, H, N)
            dt = F.softplus(dt + self.dt_bias)  # (b, l, H)
            A = -T.exp(self.A_log)
            if recurrent:
                y, state = ssd_recurrent(x * dt.unsqueeze(-1), A * dt, B, C)
            else:
                y, state = ssd_minimal_discrete(x * dt.unsqueeze(-1), A * dt, B, C, block_len)
            return self.out_proj(y.reshape(b, l, H * P)), state

    model = SSD()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for x, y in zip(xs, ys):
        u = T.tensor(x)
        opt.zero_grad()
        pred, state = model(u)
        loss = F.mse_loss(pred, T.tensor(y)) + state.pow(2).mean()
        loss.backward()
        grads = _grads(model)
        opt.zero_grad()
        pred_r, state_r = model(u, recurrent=True)
        (F.mse_loss(pred_r, T.tensor(y)) + state_r.pow(2).mean()).backward()
        out += [pred, pred_r, state, state_r, loss, grads, _grads(model)]
        opt.step()
    out.append(model.state_dict())
    return out


def test_mamba2_ssd_minimal_discrete_chunked_vs_recurrent(torch):
    rng = _rng(11)
    sd = mamba2_ssd(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 6, 4)), rng.standard_normal((3, 2, 6, 4))
    ours = mamba2_ssd(tg, sd, xs, ys)
    _compare(ours, mamba2_ssd(torch, sd, xs, ys))
    for k in range(3):
        for i in (0, 2, 5):  # chunked and recurrent: outputs, final states, gradients
            _compare(ours[7 * k + i + 1], ours[7 * k + i], where=f"ssd forms, step {k}, item {i}")


def heinsen_scan(T, sd, xs, ys):
    """Heinsen's "Efficient parallelization of a ubiquitous sequential computation" (glassroom/heinsen_sequence):
    x_t = a_t x_{t-1} + b_t for any signs, in log space with complex logs (complex_log: log|x| + i pi [x < 0]),
    a_star by a padded cumsum, logcumsumexp of complex log values, the real part of the exp; here the gates of a
    small gated linear RNN (a = sigmoid, b = tanh, signed), checked against the loop; RMSprop."""
    nn, F = T.nn, T.nn.functional

    def complex_log(float_input, eps=1e-6):
        eps = float_input.new_tensor(eps)
        real = float_input.abs().maximum(eps).log()
        imag = (float_input < 0).to(float_input.dtype) * T.pi
        return T.complex(real, imag)

    def scan(log_coeffs, log_values):  # (..., t), (..., t + 1): log_values[..., 0] is log x0
        a_star = F.pad(log_coeffs.cumsum(dim=-1), (1, 0))
        log_x0_plus_b_star = T.logcumsumexp(log_values - a_star, dim=-1)
        log_x = a_star + log_x0_plus_b_star
        return T.exp(log_x).real[..., 1:]

    class GatedLinearRNN(nn.Module):
        def __init__(self, d_in, d_hidden):
            super().__init__()
            self.gate = nn.Linear(d_in, d_hidden)
            self.value = nn.Linear(d_in, d_hidden)
            self.x0 = nn.Parameter(T.randn(d_hidden) * 0.5)
            self.head = nn.Linear(d_hidden, 1)
        def forward(self, u, loop=False):  # (b, t, d_in)
            a = T.sigmoid(self.gate(u)).transpose(1, 2)  # (b, d, t)
            b = T.tanh(self.value(u)).transpose(1, 2)
            x0 = self.x0.expand(u.shape[0], -1).unsqueeze(-1)
            if loop:
                x, hs = x0[..., 0], []
                for t in range(u.shape[1]):
                    x = a[..., t] * x + b[..., t]
                    hs.append(x)
                h = T.stack(hs, dim=-1)
            else:
                h = scan(complex_log(a), complex_log(T.cat([x0, b], dim=-1)))
            return self.head(h.transpose(1, 2)).squeeze(-1)

    model = GatedLinearRNN(3, 5)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.9)
    out = []
    for x, y in zip(xs, ys):
        u = T.tensor(x)
        opt.zero_grad()
        pred = model(u)
        loss = F.mse_loss(pred, T.tensor(y))
        loss.backward()
        grads = _grads(model)
        opt.zero_grad()
        pred_loop = model(u, loop=True)
        F.mse_loss(pred_loop, T.tensor(y)).backward()
        out += [pred, pred_loop, loss, grads, _grads(model)]
        opt.step()
    out.append(model.state_dict())
    return out


def test_heinsen_complex_log_scan(torch):
    rng = _rng(12)
    sd = heinsen_scan(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 7, 3)), rng.standard_normal((3, 2, 7))
    ours = heinsen_scan(tg, sd, xs, ys)
    _compare(ours, heinsen_scan(torch, sd, xs, ys))
    for k in range(3):  # the scan and the loop (eps = 1e-6 in complex_log only bounds |b| away from 0)
        _compare(ours[5 * k], ours[5 * k + 1], 1e-8, where=f"scan vs loop, step {k}")
        _compare(ours[5 * k + 3], ours[5 * k + 4], 1e-8, where=f"their gradients, step {k}")


# ------------------------------------------------------------------------------------------------------------ RWKV-6
def rwkv6(T, sd, xs, ys):
    """RWKV-6's time mixing (RWKV-LM RWKV-v5/src/model.py, RWKV_Tmix_x060) with the CUDA WKV6 kernel replaced by
    its naive serial form (matrix-valued state per head, w = exp(-exp(w)), the bonus u = time_faaaa): the
    data-dependent token shift (tanh LoRA, view(B*T, 5, -1).transpose(0, 1), bmm, unbind), the decay LoRA, SiLU gate,
    GroupNorm ln_x with eps (1e-5) * head_size_divisor ** 2; a residual block with the x060 channel mixing; AdamW
    with betas (0.9, 0.99)."""
    nn, F = T.nn, T.nn.functional

    class Args:
        n_embd = dim_att = 8
        head_size_a = 4
        head_size_divisor = 8
        n_layer = 2
        dim_ffn = 16

    def naive_wkv6(r, k, v, w, u):  # (B, T, H, N) each; u: (H, N)
        B, Tn, H, N = r.shape
        w = T.exp(-T.exp(w))
        state = T.zeros(B, H, N, N)
        ys = []
        for t in range(Tn):
            kv = k[:, t, :, :, None] * v[:, t, :, None, :]  # (B, H, N, N)
            ys.append((r[:, t, :, None, :] @ (u[..., None] * kv + state)).squeeze(-2))
            state = w[:, t, :, :, None] * state + kv
        return T.stack(ys, dim=1).reshape(B, Tn, H * N)

    class RWKV_Tmix_x060(nn.Module):
        def __init__(self, args, layer_id):
            super().__init__()
            self.args = args
            self.layer_id = layer_id
            self.head_size = args.head_size_a
            self.n_head = args.dim_att // self.head_size
            assert args.dim_att % self.n_head == 0
            with T.no_grad():
                ratio_0_to_1 = layer_id / (args.n_layer - 1)  # 0 to 1
                ratio_1_to_almost0 = 1.0 - (layer_id / args.n_layer)  # 1 to ~0
                ddd = T.ones(1, 1, args.n_embd)
                for i in range(args.n_embd):
                    ddd[0, 0, i] = i / args.n_embd
                self.time_maa_x = nn.Parameter(1.0 - T.pow(ddd, ratio_1_to_almost0))
                self.time_maa_w = nn.Parameter(1.0 - T.pow(ddd, ratio_1_to_almost0))
                self.time_maa_k = nn.Parameter(1.0 - T.pow(ddd, ratio_1_to_almost0))
                self.time_maa_v = nn.Parameter(1.0 - (T.pow(ddd, ratio_1_to_almost0) + 0.3 * ratio_0_to_1))
                self.time_maa_r = nn.Parameter(1.0 - T.pow(ddd, 0.5 * ratio_1_to_almost0))
                self.time_maa_g = nn.Parameter(1.0 - T.pow(ddd, 0.5 * ratio_1_to_almost0))
                D_MIX_LORA = 32
                self.time_maa_w1 = nn.Parameter(T.zeros(args.n_embd, D_MIX_LORA * 5))
                self.time_maa_w2 = nn.Parameter(T.zeros(5, D_MIX_LORA, args.n_embd).uniform_(-0.01, 0.01))
                decay_speed = T.ones(args.dim_att)
                for n in range(args.dim_att):
                    decay_speed[n] = -6 + 5 * (n / (args.dim_att - 1)) ** (0.7 + 1.3 * ratio_0_to_1)
                self.time_decay = nn.Parameter(decay_speed.reshape(1, 1, args.dim_att))
                D_DECAY_LORA = 64
                self.time_decay_w1 = nn.Parameter(T.zeros(args.n_embd, D_DECAY_LORA))
                self.time_decay_w2 = nn.Parameter(T.zeros(D_DECAY_LORA, args.dim_att).uniform_(-0.01, 0.01))
                tmp = T.zeros(args.dim_att)
                for n in range(args.dim_att):
                    zigzag = ((n + 1) % 3 - 1) * 0.1
                    tmp[n] = ratio_0_to_1 * (1 - (n / (args.dim_att - 1))) + zigzag
                self.time_faaaa = nn.Parameter(tmp.reshape(self.n_head, self.head_size))
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            self.receptance = nn.Linear(args.n_embd, args.dim_att, bias=False)
            self.key = nn.Linear(args.n_embd, args.dim_att, bias=False)
            self.value = nn.Linear(args.n_embd, args.dim_att, bias=False)
            self.output = nn.Linear(args.dim_att, args.n_embd, bias=False)
            self.gate = nn.Linear(args.n_embd, args.dim_att, bias=False)
            self.ln_x = nn.GroupNorm(self.n_head, args.dim_att, eps=(1e-5) * (args.head_size_divisor ** 2))

        def jit_func(self, x):
            B, Tn, C = x.size()
            xx = self.time_shift(x) - x
            xxx = x + xx * self.time_maa_x
            xxx = T.tanh(xxx @ self.time_maa_w1).view(B * Tn, 5, -1).transpose(0, 1)
            xxx = T.bmm(xxx, self.time_maa_w2).view(5, B, Tn, -1)
            mw, mk, mv, mr, mg = xxx.unbind(dim=0)
            xw = x + xx * (self.time_maa_w + mw)
            xk = x + xx * (self.time_maa_k + mk)
            xv = x + xx * (self.time_maa_v + mv)
            xr = x + xx * (self.time_maa_r + mr)
            xg = x + xx * (self.time_maa_g + mg)
            r = self.receptance(xr)
            k = self.key(xk)
            v = self.value(xv)
            g = F.silu(self.gate(xg))
            ww = T.tanh(xw @ self.time_decay_w1) @ self.time_decay_w2
            w = self.time_decay + ww
            return r, k, v, g, w

        def jit_func_2(self, x, g):
            B, Tn, C = x.size()
            x = x.view(B * Tn, C)
            x = self.ln_x(x).view(B, Tn, C)
            return self.output(x * g)

        def forward(self, x):
            B, Tn, C = x.size()
            H = self.n_head
            r, k, v, g, w = self.jit_func(x)
            x = naive_wkv6(*(t.view(B, Tn, H, -1) for t in (r, k, v, w)), self.time_faaaa)
            return self.jit_func_2(x, g)

    class RWKV_CMix_x060(nn.Module):
        def __init__(self, args, layer_id):
            super().__init__()
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            with T.no_grad():
                ratio_1_to_almost0 = 1.0 - (layer_id / args.n_layer)
                ddd = T.ones(1, 1, args.n_embd)
                for i in range(args.n_embd):
                    ddd[0, 0, i] = i / args.n_embd
                self.time_maa_k = nn.Parameter(1.0 - T.pow(ddd, ratio_1_to_almost0))
                self.time_maa_r = nn.Parameter(1.0 - T.pow(ddd, ratio_1_to_almost0))
            self.key = nn.Linear(args.n_embd, args.dim_ffn, bias=False)
            self.receptance = nn.Linear(args.n_embd, args.n_embd, bias=False)
            self.value = nn.Linear(args.dim_ffn, args.n_embd, bias=False)

        def forward(self, x):
            xx = self.time_shift(x) - x
            xk = x + xx * self.time_maa_k
            xr = x + xx * self.time_maa_r
            k = self.key(xk)
            k = T.relu(k) ** 2
            kv = self.value(k)
            return T.sigmoid(self.receptance(xr)) * kv

    class Block(nn.Module):
        def __init__(self, args, layer_id):
            super().__init__()
            self.ln1 = nn.LayerNorm(args.n_embd)
            self.ln2 = nn.LayerNorm(args.n_embd)
            self.att = RWKV_Tmix_x060(args, layer_id)
            self.ffn = RWKV_CMix_x060(args, layer_id)
        def forward(self, x):
            x = x + self.att(self.ln1(x))
            return x + self.ffn(self.ln2(x))

    model = nn.Sequential(Block(Args, 0), Block(Args, 1), nn.LayerNorm(Args.n_embd))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-18, weight_decay=0.0)
    out = []
    for x, y in zip(xs, ys):
        opt.zero_grad()
        pred = model(T.tensor(x))
        loss = F.mse_loss(pred, T.tensor(y))
        loss.backward()
        opt.step()
        out += [pred, loss, _grads(model)]
    out.append(model.state_dict())
    return out


def test_rwkv6_data_dependent_decay_and_serial_wkv6(torch):
    rng = _rng(13)
    sd = rwkv6(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 5, 8)), rng.standard_normal((3, 2, 5, 8))
    _compare(rwkv6(tg, sd, xs, ys), rwkv6(torch, sd, xs, ys))


# ---------------------------------------------------------------------------------------------------------- DeltaNet
def deltanet(T, sd, xs, ys, chunk_size=3):
    """DeltaNet's delta rule as flash-linear-attention's naive references write it (fla/ops/delta_rule/naive.py):
    delta_rule_recurrence (S.clone() updates, o[:, :, i] written into zeros_like(v)) and delta_rule_chunkwise (the
    (I - tril(diag(beta) K K^T))^-1 by the in-place row loop attn[..., i, :i] = ... + (....clone() * ....clone()),
    masked_fill_ on each chunk's scores, o[:, :, i] writes), with L2-normalized keys and sigmoid betas as the
    DeltaNet layer feeds them; the two forms agree; Adam."""
    nn, F = T.nn, T.nn.functional

    def chunk(x, c):  # rearrange(x, 'b h (n c) d -> b h n c d', c=chunk_size)
        return x.reshape(*x.shape[:2], x.shape[2] // c, c, x.shape[3])

    def delta_rule_recurrence(q, k, v, beta):
        b, h, l, d_k = q.shape
        d_v = v.shape[-1]
        o = T.zeros_like(v)
        S = T.zeros(b, h, d_k, d_v).to(v)
        q = q * (d_k ** -0.5)
        for i in range(l):
            _k = k[:, :, i]
            _q = q[:, :, i]
            _v = v[:, :, i].clone()
            beta_i = beta[:, :, i]
            _v = _v - (S.clone() * _k[..., None]).sum(-2)
            _v = _v * beta_i[..., None]
            S = S.clone() + _k.unsqueeze(-1) * _v.unsqueeze(-2)
            o[:, :, i] = T.einsum('bhd,bhdm->bhm', _q, S)
        return o

    def delta_rule_chunkwise(q, k, v, beta, chunk_size=32):
        b, h, l, d_k = q.shape
        q = q * (d_k ** -0.5)
        v = v * beta[..., None]
        k_beta = k * beta[..., None]
        assert l % chunk_size == 0
        mask = T.triu(T.ones(chunk_size, chunk_size, dtype=T.bool, device=q.device), diagonal=0)
        q, k, v, k_beta = map(lambda x: chunk(x, chunk_size), [q, k, v, k_beta])
        attn = -(k_beta @ k.transpose(-1, -2)).masked_fill(mask, 0)
        for i in range(1, chunk_size):
            attn[..., i, :i] = attn[..., i, :i] + (attn[..., i, :, None].clone() * attn[..., :, :i].clone()).sum(-2)
        attn = attn + T.eye(chunk_size, dtype=T.float, device=q.device)
        u = attn @ v
        w = attn @ k_beta
        S = k.new_zeros(b, h, d_k, v.shape[-1])
        o = T.zeros_like(v)
        mask = T.triu(T.ones(chunk_size, chunk_size, dtype=T.bool, device=q.device), diagonal=1)
        for i in range(0, l // chunk_size):
            q_i, k_i = q[:, :, i], k[:, :, i]
            attn = (q_i @ k_i.transpose(-1, -2)).masked_fill_(mask, 0)
            u_i = u[:, :, i] - w[:, :, i] @ S
            o_inter = q_i @ S
            o[:, :, i] = o_inter + attn @ u_i
            S = S + k_i.transpose(-1, -2) @ u_i
        return o.reshape(b, h, l, -1)

    class DeltaNet(nn.Module):
        def __init__(self, d_model=4, num_heads=2):
            super().__init__()
            self.num_heads = num_heads
            self.q_proj = nn.Linear(d_model, d_model, bias=False)
            self.k_proj = nn.Linear(d_model, d_model, bias=False)
            self.v_proj = nn.Linear(d_model, d_model, bias=False)
            self.b_proj = nn.Linear(d_model, num_heads, bias=False)
            self.o_proj = nn.Linear(d_model, d_model, bias=False)
        def forward(self, x, mode="chunk"):
            b, l, d = x.shape
            q, k, v = (p(x).view(b, l, self.num_heads, -1).transpose(1, 2) for p in (self.q_proj, self.k_proj,
                                                                                    self.v_proj))
            q, k = F.silu(q), F.normalize(F.silu(k), p=2, dim=-1)
            beta = self.b_proj(x).sigmoid().transpose(1, 2)  # (b, h, l)
            if mode == "chunk":
                o = delta_rule_chunkwise(q, k, v, beta, chunk_size)
            else:
                o = delta_rule_recurrence(q, k, v, beta)
            return self.o_proj(o.transpose(1, 2).reshape(b, l, d))

    model = DeltaNet()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for x, y in zip(xs, ys):
        x = T.tensor(x)
        opt.zero_grad()
        rec = model(x, mode="recurrent")
        F.mse_loss(rec, T.tensor(y)).backward()
        grads = _grads(model)
        opt.zero_grad()
        pred = model(x)
        loss = F.mse_loss(pred, T.tensor(y))
        loss.backward()
        out += [pred, rec, loss, _grads(model), grads]
        opt.step()
    out.append(model.state_dict())
    return out


def test_deltanet_chunkwise_and_recurrent_delta_rule(torch):
    rng = _rng(14)
    sd = deltanet(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 6, 4)), rng.standard_normal((3, 2, 6, 4))
    ours = deltanet(tg, sd, xs, ys)
    _compare(ours, deltanet(torch, sd, xs, ys))
    for k in range(3):
        _compare(ours[5 * k], ours[5 * k + 1], where=f"chunkwise vs recurrent, step {k}")
        _compare(ours[5 * k + 3], ours[5 * k + 4], where=f"their gradients, step {k}")


def rwkv4_wkv_function(T, sd, xs, ys, custom=True):
    """RWKV-4's WKV as RWKV-LM wraps its CUDA kernel, a torch.autograd.Function (forward(ctx, B, T, C, w, u, k, v)
    with ctx attributes, w = -exp(w) made contiguous, save_for_backward, the output written into torch.empty;
    backward returning (None, None, None, gw, gu, gk, gv) with the per-batch gw, gu summed over the batch), its
    kernels written in plain torch: the forward the serial (aa, bb, pp) recurrence, the backward by recomputation
    under enable_grad and torch.autograd.grad; against plain backprop through the recurrence (custom=False)."""
    nn, F = T.nn, T.nn.functional

    def wkv_forward(w, u, k, v, y):  # w already -exp(time_decay); (C,), (C,), (B, T, C) x 2; y (B, T, C) filled
        B, Tn, C = k.shape
        aa, bb, pp = k.new_zeros(B, C), k.new_zeros(B, C), k.new_full((B, C), -1e38)
        for t in range(Tn):
            kk, vv = k[:, t], v[:, t]
            ww = u + kk
            p = T.maximum(pp, ww)
            e1, e2 = T.exp(pp - p), T.exp(ww - p)
            y[:, t] = (e1 * aa + e2 * vv) / (e1 * bb + e2)
            ww = w + pp
            p = T.maximum(ww, kk)
            e1, e2 = T.exp(ww - p), T.exp(kk - p)
            aa, bb, pp = e1 * aa + e2 * vv, e1 * bb + e2, p
        return y

    class WKV(T.autograd.Function):
        @staticmethod
        def forward(ctx, B, Tn, C, w, u, k, v):
            ctx.B, ctx.T, ctx.C = B, Tn, C
            w = -T.exp(w.contiguous())
            u, k, v = u.contiguous(), k.contiguous(), v.contiguous()
            ctx.save_for_backward(w, u, k, v)
            y = T.empty((B, Tn, C), device=k.device, memory_format=T.contiguous_format)
            return wkv_forward(w, u, k, v, y)

        @staticmethod
        def backward(ctx, gy):
            B, Tn, C = ctx.B, ctx.T, ctx.C
            w, u, k, v = ctx.saved_tensors
            with T.enable_grad():
                log_w = T.log(-w).detach().unsqueeze(0).repeat(B, 1).requires_grad_()  # per batch, as the kernel
                u_b = u.detach().unsqueeze(0).repeat(B, 1).requires_grad_()
                k_, v_ = k.detach().requires_grad_(), v.detach().requires_grad_()
                ys = [wkv_forward(-T.exp(log_w[b]), u_b[b], k_[b:b + 1], v_[b:b + 1], T.empty(1, Tn, C))
                      for b in range(B)]
                gw, gu, gk, gv = T.autograd.grad(T.cat(ys), (log_w, u_b, k_, v_), gy.contiguous())
            gw = T.sum(gw, dim=0)
            gu = T.sum(gu, dim=0)
            return (None, None, None, gw, gu, gk, gv)

    class TimeMix(nn.Module):
        def __init__(self, C):
            super().__init__()
            self.time_decay = nn.Parameter(T.linspace(-2, 1, C))
            self.time_first = nn.Parameter(T.ones(C) * math.log(0.3))
            self.key = nn.Linear(C, C, bias=False)
            self.value = nn.Linear(C, C, bias=False)
            self.output = nn.Linear(C, C, bias=False)
        def forward(self, x):
            B, Tn, C = x.size()
            k, v = self.key(x), self.value(x)
            if custom:
                wkv = WKV.apply(B, Tn, C, self.time_decay, self.time_first, k, v)
            else:
                wkv = wkv_forward(-T.exp(self.time_decay), self.time_first, k, v, T.empty(B, Tn, C))
            return self.output(wkv)

    model = TimeMix(4)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for x, y in zip(xs, ys):
        opt.zero_grad()
        pred = model(T.tensor(x))
        loss = F.mse_loss(pred, T.tensor(y))
        loss.backward()
        opt.step()
        out += [pred, loss, _grads(model)]
    out.append(model.state_dict())
    return out


def test_rwkv4_wkv_as_custom_autograd_function(torch):
    rng = _rng(15)
    sd = rwkv4_wkv_function(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 5, 4)), rng.standard_normal((3, 2, 5, 4))
    ours = rwkv4_wkv_function(tg, sd, xs, ys)
    _compare(ours, rwkv4_wkv_function(torch, sd, xs, ys))
    _compare(ours, rwkv4_wkv_function(tg, sd, xs, ys, custom=False), where="custom Function vs plain backprop")


# -------------------------------------------------------------------------------------------- Griffin's RG-LRU (Hawk)
def griffin(T, sd, xs, ys, segs):
    """google-deepmind/recurrentgemma's torch RG-LRU and recurrent block: rnn_param_init's in-place chain on the
    parameter (uniform_, log_, mul_, neg_, exp_, sub_, log_ under no_grad), BlockDiagonalLinear by einsum
    "... h i, h i j -> ... h j", log_a = -8 gate_a softplus(a_param), SqrtBoundDerivative (a custom Function with a
    clipped gradient), the reset mask from segment_pos == 0 (reset + ~reset * multiplier), rnn_scan writing
    y[:, t]; the recurrent block (gelu(linear_y) * rg_lru(conv1d(linear_x))); the Conv1D's own temporal weights with
    document masks; AdamW, grad clipping."""
    nn, F = T.nn, T.nn.functional
    _MAX_SQRT_GRADIENT = 1000.0

    def rnn_param_init(tensor, min_rad, max_rad, transform="softplus", eps=1e-8):
        with T.no_grad():
            tensor.uniform_(min_rad ** 2 + eps, max_rad ** 2 + eps)
            tensor.log_().mul_(0.5)
            if transform == "softplus":
                return tensor.neg_().exp_().sub_(1.0).log_()
            return tensor

    class SqrtBoundDerivative(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return T.sqrt(x)
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            clipped_x_times_4 = T.clip(4.0 * x, min=_MAX_SQRT_GRADIENT**-2)
            return grad_output / T.sqrt(clipped_x_times_4)

    def rnn_scan(x, a, reset, h0):
        assert x.ndim == 3 and a.shape == x.shape[-a.ndim:] and a.dtype == x.dtype and reset.dtype == T.bool
        h_t = h0
        y = T.zeros_like(x)
        for t in range(x.shape[1]):
            a_t = a[:, t]
            if h_t is not None:
                a_t = a_t * ~reset[:, t]
                h_t = a_t * h_t + x[:, t]
            else:
                h_t = x[:, t]
            y[:, t] = h_t
        return y, h_t

    class BlockDiagonalLinear(nn.Module):
        def __init__(self, width, num_blocks, w_init_variance_scale=1.0):
            super().__init__()
            self.width, self.num_blocks = width, num_blocks
            self.block_width = width // num_blocks
            self.w = nn.Parameter(T.empty([num_blocks, self.block_width, self.block_width]))
            self.b = nn.Parameter(T.empty([num_blocks, self.block_width]))
            std = math.sqrt(w_init_variance_scale / self.block_width)
            nn.init.normal_(self.w, mean=0.0, std=std)
            nn.init.zeros_(self.b)
        def forward(self, x):
            x = x.reshape(*x.shape[:-1], self.num_blocks, self.block_width)  # "... (h i) -> ... h i"
            y = T.einsum("... h i, h i j -> ... h j", x, self.w) + self.b
            return y.reshape(*y.shape[:-2], self.width)

    class RGLRU(nn.Module):
        def __init__(self, width, num_heads):
            super().__init__()
            self.a_param = nn.Parameter(T.empty([width]))
            self.input_gate = BlockDiagonalLinear(width, num_heads)
            self.a_gate = BlockDiagonalLinear(width, num_heads)
            rnn_param_init(self.a_param, min_rad=0.9, max_rad=0.999)
        def forward(self, x, segment_pos, prev_h=None):
            reset = segment_pos[:, :, None] == 0
            gate_x = T.sigmoid(self.input_gate(x))
            gate_a = T.sigmoid(self.a_gate(x))
            log_a = -8.0 * gate_a * F.softplus(self.a_param)
            a = T.exp(log_a)
            a_square = T.exp(2 * log_a)
            gated_x = x * gate_x
            multiplier = SqrtBoundDerivative.apply(1 - a_square)
            multiplier = reset + ~reset * multiplier
            normalized_x = gated_x * multiplier.type(x.dtype)
            return rnn_scan(normalized_x, a, reset, prev_h)

    class Conv1D(nn.Module):
        def __init__(self, width, temporal_width):
            super().__init__()
            self.temporal_width = temporal_width
            self.w = nn.Parameter(T.empty([temporal_width, width]).normal_(0, math.sqrt(0.01 / width)))
            self.b = nn.Parameter(T.zeros([width]))
        def forward(self, x, segment_pos):  # the prefill branch: a window back in time, masked at documents' starts
            output_len = x.shape[1]
            conv_output = 0.0
            for shift in range(self.temporal_width):
                start_idx, end_idx = self._window(shift, output_len)
                x_window = x[:, start_idx:end_idx]
                mask = self._document_mask(segment_pos, start_idx, end_idx, shift)
                x_window *= mask[:, :, None]
                x_window = F.pad(x_window, (0, 0, output_len - x_window.shape[1], 0))
                conv_output += x_window * self.w[self.temporal_width - shift - 1]
            return conv_output + self.b
        def _window(self, shift, output_len):
            return max(0, -shift), output_len - shift
        def _document_mask(self, segment_pos, start_idx, end_idx, shift):
            not_boundary = T.ones_like(segment_pos[:, start_idx:end_idx], dtype=T.bool)
            for s in range(shift):
                not_boundary &= segment_pos[:, start_idx + s + 1:end_idx + s + 1] != 0
            return not_boundary

    class RecurrentBlock(nn.Module):
        def __init__(self, width, num_heads, conv1d_temporal_width=3):
            super().__init__()
            self.linear_y = nn.Linear(width, width)
            self.linear_x = nn.Linear(width, width)
            self.linear_out = nn.Linear(width, width)
            self.conv_1d = Conv1D(width, conv1d_temporal_width)
            self.rg_lru = RGLRU(width, num_heads)
        def forward(self, x, segment_pos):
            y = F.gelu(self.linear_y(x), approximate="tanh")
            x = self.linear_x(x)
            x = self.conv_1d(x, segment_pos)
            x, last_h = self.rg_lru(x, segment_pos)
            return self.linear_out(x * y), last_h

    model = RecurrentBlock(4, 2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    out = []
    for x, y, seg in zip(xs, ys, segs):
        opt.zero_grad()
        pred, last_h = model(T.tensor(x), T.tensor(seg))
        loss = F.mse_loss(pred, T.tensor(y))
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        out += [pred, last_h, loss, norm, _grads(model)]
    out.append(model.state_dict())
    return out


def test_griffin_rg_lru_recurrent_block(torch):
    rng = _rng(16)
    sd = griffin(torch, None, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 7, 4)), rng.standard_normal((3, 2, 7, 4))
    segs = np.array([[[0, 1, 2, 3, 0, 1, 2], [0, 1, 0, 1, 2, 3, 4]]] * 3)  # (documents packed in a row)
    _compare(griffin(tg, sd, xs, ys, segs), griffin(torch, sd, xs, ys, segs))


# ------------------------------------------------------------------------------------------ Titans' neural memory
def titans_memory(T, sd, xs, ys, chunk=2):
    """Titans' neural long-term memory (after lucidrains/titans-pytorch): an MLP memory whose weights are updated
    at test time per sequence, chunk by chunk, by per-sample gradients of its associative loss ||M(k) - v||^2
    (torch.func.vmap of torch.func.grad of a functional_call), with data-dependent learning rate, momentum
    (surprise S = eta S - theta grad) and weight decay (M = (1 - alpha) M + S), retrieval by vmap of
    functional_call; the outer model trained through the inner updates (second order), Adam."""
    nn, F = T.nn, T.nn.functional
    from_func = T.func

    def bcast(s, t):  # a per-sample scalar (b,) against a batched parameter (b, ...)
        return s.view(-1, *([1] * (t.ndim - 1)))

    class NeuralMemory(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.memory_model = nn.Sequential(nn.Linear(dim, 2 * dim), nn.SiLU(), nn.Linear(2 * dim, dim))
            self.to_queries = nn.Linear(dim, dim, bias=False)
            self.to_keys = nn.Linear(dim, dim, bias=False)
            self.to_values = nn.Linear(dim, dim, bias=False)
            self.to_adaptive_step = nn.Linear(dim, 1)
            self.to_momentum = nn.Linear(dim, 1)
            self.to_decay_factor = nn.Linear(dim, 1)

            def forward_and_loss(params, inputs, loss_weights, target):
                pred = from_func.functional_call(self.memory_model, params, (inputs,))
                loss = ((pred - target) ** 2).mean(dim=-1)  # (chunk,)
                return (loss * loss_weights).sum()

            self.per_sample_grad_fn = from_func.vmap(from_func.grad(forward_and_loss), in_dims=(0, 0, 0, 0))
            self.retrieve_fn = from_func.vmap(lambda p, x: from_func.functional_call(self.memory_model, p, (x,)))

        def forward(self, seq):
            b, n, d = seq.shape
            params = {k: p.unsqueeze(0).expand(b, *p.shape) for k, p in self.memory_model.named_parameters()}
            surprise = {k: T.zeros_like(p) for k, p in params.items()}
            keys, values, queries = self.to_keys(seq), self.to_values(seq), self.to_queries(seq)
            theta = T.sigmoid(self.to_adaptive_step(seq)).squeeze(-1) * 0.1  # (b, n)
            retrieved = []
            for c in range(0, n, chunk):
                sl = slice(c, c + chunk)
                retrieved.append(self.retrieve_fn(params, queries[:, sl]))  # (read before this chunk's write)
                grads = self.per_sample_grad_fn(params, keys[:, sl], theta[:, sl], values[:, sl])
                eta = T.sigmoid(self.to_momentum(seq[:, sl]).mean(dim=(1, 2)))  # (b,)
                alpha = T.sigmoid(self.to_decay_factor(seq[:, sl]).mean(dim=(1, 2))) * 0.1
                surprise = {k: bcast(eta, s) * s - grads[k] for k, s in surprise.items()}
                params = {k: bcast(1 - alpha, p) * p + surprise[k] for k, p in params.items()}
            return T.cat(retrieved, dim=1), params

    model = NeuralMemory(3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for x, y in zip(xs, ys):
        opt.zero_grad()
        pred, memories = model(T.tensor(x))
        loss = F.mse_loss(pred, T.tensor(y))
        loss.backward()
        opt.step()
        out += [pred, memories, loss, _grads(model)]
    out.append(model.state_dict())
    return out


def test_titans_neural_memory_vmap_grad_inner_updates(torch):
    rng = _rng(17)
    sd = titans_memory(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 6, 3)), rng.standard_normal((3, 2, 6, 3))
    _compare(titans_memory(tg, sd, xs, ys), titans_memory(torch, sd, xs, ys))

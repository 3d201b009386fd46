"""Audio, speech and time-series programs written as their authors write them in PyTorch, run unchanged on torch
and on tinygrad_rnn (each program takes the framework as T: T.nn, T.nn.functional, T.optim ...), from the same
initial weights (torch's, loaded into ours) for a few optimizer + scheduler steps in float64: the losses, the
outputs and the parameters' gradients agree to ~1e-10.

Programs: WaveNet (causal dilated convolutions, gated units, skip connections, mu-law targets + cross entropy),
torchaudio's speech-commands M5, a TCN (weight_norm'd Conv1d + Chomp1d), Autoformer's series decomposition and
auto-correlation, LSTNet, N-BEATS, DA-RNN, Tacotron-2's location-sensitive attention with a stop token, a
DeepSpeech2-like conv + packed bidirectional GRU + CTC model, Parallel WaveGAN's multi-resolution STFT loss, a
quantile (pinball) loss forecaster, a teacher-forced GRU seq2seq forecaster, HiFi-GAN (weight/spectral norm, MPD,
MSD, feature matching), torchaudio's mel filterbank / amplitude_to_DB / MFCC features feeding a GRU, Conv-TasNet
with a permutation-invariant SI-SNR loss, PatchTST (RevIN, unfold patches, a Transformer encoder), parts of the
Temporal Fusion Transformer (GRN, GLU, variable selection, masked MultiheadAttention), Informer (ProbSparse
attention, circular token convolution, distilling), DeepAR (Gaussian and negative binomial likelihoods),
wav2vec 2.0's pre-training loss (conv feature encoder, weight-normed positional convolution, quantizer,
contrastive logits over negatives) and an ESPnet-style Transformer ASR (Conv2d subsampling, nn.Transformer with
causal and padding masks, joint CTC + label-smoothed attention loss, Noam schedule).
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, load as _load, plain as _plain, state as _state

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.usefixtures("float64_default"),
              pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning"),
              pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask:UserWarning"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning"),
              pytest.mark.filterwarnings("ignore:To copy construct from a tensor:UserWarning")]  # (Conv-TasNet's)
TOL = dict(rtol=1e-9, atol=1e-10)


def _run(build, data, step_fn, steps=3, opt=None, sched=None, check_grads=True, clip=None):
    """build(T) -> model; data(T) -> batch; step_fn(T, model, batch) -> (loss, outputs). Runs both frameworks from
    torch's initial weights, `steps` optimizer steps each, comparing losses, outputs and gradients every step.
    clip: the max norm of clip_grad_norm_ between backward and step (its total norm is compared too)."""
    torch.manual_seed(0)
    tm = build(torch).double()
    gm = _load(tg, build(tg).double(), _state(tm))
    runs = []
    for T, m in ((torch, tm), (tg, gm)):
        o = (opt or (lambda T, p: T.optim.Adam(p, lr=1e-2)))(T, m.parameters())
        s = sched(T, o) if sched else None
        runs.append((T, m, o, s, data(T)))
    for step in range(steps):
        res = []
        for T, m, o, s, batch in runs:
            o.zero_grad()
            loss, outs = step_fn(T, m, batch)
            loss.backward()
            if clip is not None:
                outs = [*outs, T.nn.utils.clip_grad_norm_(m.parameters(), clip)]
            grads = {k: p.grad for k, p in m.named_parameters() if p.grad is not None}
            res.append((loss, outs, grads))
            o.step()
            if isinstance(s, T.optim.lr_scheduler.ReduceLROnPlateau):
                s.step(loss.item())
            elif s is not None:
                s.step()
        (tl, to, tgr), (gl, go, ggr) = res
        _compare(gl, tl, TOL["atol"], f"loss, step {step}", rtol=TOL["rtol"])
        for i, (a, b) in enumerate(zip(to, go)):
            _compare(b, a, TOL["atol"], f"output {i}, step {step}", rtol=TOL["rtol"])
        if check_grads:
            assert set(ggr) == set(tgr)
            for k in tgr:
                _compare(ggr[k], tgr[k], TOL["atol"], f"grad {k}, step {step}", rtol=TOL["rtol"])
    for (k, a), (_, b) in zip(runs[0][1].state_dict().items(), runs[1][1].state_dict().items()):
        # (atol 1e-9: Adam turns a gradient that is 0 but for rounding, such as a key bias's under softmax, into
        # lr-sized steps of the rounding noise's sign)
        _compare(b, a, 1e-9, f"state {k} after training", rtol=TOL["rtol"])
    return runs


# ----------------------------------------------------------------------------- WaveNet
def _wavenet(T):
    nn, F = T.nn, T.nn.functional

    class CausalConv1d(nn.Conv1d):
        def __init__(self, cin, cout, kernel_size, dilation=1):
            super().__init__(cin, cout, kernel_size, padding=0, dilation=dilation)
            self.left = (kernel_size - 1) * dilation

        def forward(self, x):
            return super().forward(F.pad(x, (self.left, 0)))

    class ResidualBlock(nn.Module):
        def __init__(self, res, skip, dilation):
            super().__init__()
            self.filter = CausalConv1d(res, res, 2, dilation)
            self.gate = CausalConv1d(res, res, 2, dilation)
            self.res = nn.Conv1d(res, res, 1)
            self.skip = nn.Conv1d(res, skip, 1)

        def forward(self, x):
            z = T.tanh(self.filter(x)) * T.sigmoid(self.gate(x))
            return x + self.res(z), self.skip(z)

    class WaveNet(nn.Module):
        def __init__(self, classes=16, res=6, skip=5, dilations=(1, 2, 4, 8, 1, 2)):
            super().__init__()
            self.classes = classes
            self.start = CausalConv1d(classes, res, 2)
            self.blocks = nn.ModuleList([ResidualBlock(res, skip, d) for d in dilations])
            self.end1 = nn.Conv1d(skip, skip, 1)
            self.end2 = nn.Conv1d(skip, classes, 1)
            self.receptive_field = sum(dilations) + 2

        def forward(self, x):
            x = F.one_hot(x, self.classes).to(self.start.weight.dtype).transpose(1, 2)
            x = self.start(x)
            skips = 0
            for b in self.blocks:
                x, s = b(x)
                skips = skips + s
            return self.end2(F.relu(self.end1(F.relu(skips))))

    return WaveNet()


def _mu_law_encoding(T, x, quantization_channels):
    """torchaudio.functional.mu_law_encoding."""
    mu = quantization_channels - 1.0
    if not x.is_floating_point():
        x = x.to(T.get_default_dtype())
    mu = T.tensor(mu, dtype=x.dtype)
    x_mu = T.sign(x) * T.log1p(mu * T.abs(x)) / T.log1p(mu)
    x_mu = ((x_mu + 1) / 2 * mu + 0.5).to(T.int64)
    return x_mu


def _mu_law_decoding(T, x_mu, quantization_channels):
    mu = quantization_channels - 1.0
    if not x_mu.is_floating_point():
        x_mu = x_mu.to(T.get_default_dtype())
    mu = T.tensor(mu, dtype=x_mu.dtype)
    x = ((x_mu) / mu) * 2 - 1.0
    x = T.sign(x) * (T.exp(T.abs(x) * T.log1p(mu)) - 1.0) / mu
    return x


def test_wavenet_mu_law():
    t = np.linspace(0, 1, 48)
    audio = np.stack([0.8 * np.sin(2 * np.pi * 5 * t), 0.5 * np.sin(2 * np.pi * 3 * t + 1) ** 3])

    def data(T):
        q = _mu_law_encoding(T, T.tensor(audio), 16)
        return q[:, :-1], q[:, 1:]

    def step(T, m, batch):
        x, y = batch
        logits = m(x)
        loss = T.nn.functional.cross_entropy(logits[:, :, m.receptive_field:], y[:, m.receptive_field:])
        return loss, [logits, _mu_law_decoding(T, logits.argmax(1), 16)]

    runs = _run(_wavenet, data, step, steps=4,
                sched=lambda T, o: T.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5))
    assert _plain(runs[1][4][0]).dtype == np.int64


# ----------------------------------------------------------------------------- torchaudio's M5
def _m5(T, n_input=1, n_output=5, stride=4, n_channel=4):
    nn, F = T.nn, T.nn.functional

    class M5(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=20, stride=stride)
            self.bn1 = nn.BatchNorm1d(n_channel)
            self.pool1 = nn.MaxPool1d(4)
            self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
            self.bn2 = nn.BatchNorm1d(n_channel)
            self.pool2 = nn.MaxPool1d(4)
            self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
            self.bn3 = nn.BatchNorm1d(2 * n_channel)
            self.pool3 = nn.MaxPool1d(2)
            self.fc1 = nn.Linear(2 * n_channel, n_output)

        def forward(self, x):
            x = self.pool1(F.relu(self.bn1(self.conv1(x))))
            x = self.pool2(F.relu(self.bn2(self.conv2(x))))
            x = self.pool3(F.relu(self.bn3(self.conv3(x))))
            x = F.avg_pool1d(x, x.shape[-1])
            x = x.permute(0, 2, 1)
            x = self.fc1(x)
            return F.log_softmax(x, dim=2)

    return M5()


def test_m5_speech_commands():
    rng = np.random.default_rng(1)
    wave = rng.standard_normal((6, 1, 600))
    labels = np.array([0, 3, 1, 4, 2, 3])

    def data(T):
        return T.tensor(wave), T.tensor(labels)

    def step(T, m, batch):
        x, y = batch
        m.train()
        out = m(x)
        loss = T.nn.functional.nll_loss(out.squeeze(), y)
        m.eval()
        with T.no_grad():
            pred = m(x).argmax(dim=-1)
        m.train()
        return loss, [out, pred, m.bn2.running_var, m.bn3.num_batches_tracked]

    _run(_m5, data, step, steps=3,
         opt=lambda T, p: T.optim.Adam(p, lr=0.01, weight_decay=0.0001),
         sched=lambda T, o: T.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.1))


# ----------------------------------------------------------------------------- TCN (Bai et al.)
def _tcn(T, num_inputs=3, num_channels=(4, 4, 5), kernel_size=3):
    nn = T.nn
    weight_norm = nn.utils.weight_norm

    class Chomp1d(nn.Module):
        def __init__(self, chomp_size):
            super().__init__()
            self.chomp_size = chomp_size

        def forward(self, x):
            return x[:, :, :-self.chomp_size].contiguous()

    class TemporalBlock(nn.Module):
        def __init__(self, n_inputs, n_outputs, kernel_size, stride, dilation, padding, dropout=0.0):
            super().__init__()
            self.conv1 = weight_norm(nn.Conv1d(n_inputs, n_outputs, kernel_size,
                                               stride=stride, padding=padding, dilation=dilation))
            self.chomp1 = Chomp1d(padding)
            self.relu1 = nn.ReLU()
            self.dropout1 = nn.Dropout(dropout)
            self.conv2 = weight_norm(nn.Conv1d(n_outputs, n_outputs, kernel_size,
                                               stride=stride, padding=padding, dilation=dilation))
            self.chomp2 = Chomp1d(padding)
            self.relu2 = nn.ReLU()
            self.dropout2 = nn.Dropout(dropout)
            self.net = nn.Sequential(self.conv1, self.chomp1, self.relu1, self.dropout1,
                                     self.conv2, self.chomp2, self.relu2, self.dropout2)
            self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None
            self.relu = nn.ReLU()
            self.init_weights()

        def init_weights(self):
            self.conv1.weight.data.normal_(0, 0.01)
            self.conv2.weight.data.normal_(0, 0.01)
            if self.downsample is not None:
                self.downsample.weight.data.normal_(0, 0.01)

        def forward(self, x):
            out = self.net(x)
            res = x if self.downsample is None else self.downsample(x)
            return self.relu(out + res)

    class TCN(nn.Module):
        def __init__(self):
            super().__init__()
            layers = []
            for i in range(len(num_channels)):
                dilation_size = 2 ** i
                in_channels = num_inputs if i == 0 else num_channels[i - 1]
                layers += [TemporalBlock(in_channels, num_channels[i], kernel_size, stride=1,
                                         dilation=dilation_size, padding=(kernel_size - 1) * dilation_size)]
            self.network = nn.Sequential(*layers)
            self.linear = nn.Linear(num_channels[-1], 1)

        def forward(self, x):
            y1 = self.network(x)
            return self.linear(y1[:, :, -1])

    return TCN()


def test_tcn_weight_norm():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 20))
    y = x[:, 0, -5:].sum(-1, keepdims=True)

    def data(T):
        return T.tensor(x), T.tensor(y)

    def step(T, m, batch):
        out = m(batch[0])
        loss = T.nn.functional.mse_loss(out, batch[1])
        return loss, [out]

    def opt(T, p):
        return T.optim.Adam(p, lr=2e-3)

    def sched(T, o):
        return T.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5)


    runs = _run(_tcn, data, step, steps=3, opt=opt, sched=sched, clip=0.2)
    names = [k for k, _ in runs[1][1].named_parameters()]
    assert names == [k for k, _ in runs[0][1].named_parameters()]


# ----------------------------------------------------------------------------- Autoformer
def _autoformer(T, seq_len=24, pred_len=8, d_model=6, kernel=5):
    nn = T.nn

    class moving_avg(nn.Module):
        def __init__(self, kernel_size, stride):
            super().__init__()
            self.kernel_size = kernel_size
            self.avg = nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)

        def forward(self, x):
            front = x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)
            end = x[:, -1:, :].repeat(1, (self.kernel_size - 1) // 2, 1)
            x = T.cat([front, x, end], dim=1)
            x = self.avg(x.permute(0, 2, 1))
            x = x.permute(0, 2, 1)
            return x

    class series_decomp(nn.Module):
        def __init__(self, kernel_size):
            super().__init__()
            self.moving_avg = moving_avg(kernel_size, stride=1)

        def forward(self, x):
            moving_mean = self.moving_avg(x)
            res = x - moving_mean
            return res, moving_mean

    class AutoCorrelation(nn.Module):
        def __init__(self, factor=1):
            super().__init__()
            self.factor = factor

        def time_delay_agg_training(self, values, corr):
            head = values.shape[1]
            channel = values.shape[2]
            length = values.shape[3]
            top_k = int(self.factor * math.log(length))
            mean_value = T.mean(T.mean(corr, dim=1), dim=1)
            index = T.topk(T.mean(mean_value, dim=0), top_k, dim=-1)[1]
            weights = T.stack([mean_value[:, index[i]] for i in range(top_k)], dim=-1)
            tmp_corr = T.softmax(weights, dim=-1)
            tmp_values = values
            delays_agg = T.zeros_like(values)
            for i in range(top_k):
                pattern = T.roll(tmp_values, -int(index[i]), -1)
                delays_agg = delays_agg + pattern * \
                    (tmp_corr[:, i].unsqueeze(1).unsqueeze(1).unsqueeze(1).repeat(1, head, channel, length))
            return delays_agg

        def forward(self, queries, keys, values):
            B, L, H, E = queries.shape
            q_fft = T.fft.rfft(queries.permute(0, 2, 3, 1).contiguous(), dim=-1)
            k_fft = T.fft.rfft(keys.permute(0, 2, 3, 1).contiguous(), dim=-1)
            res = q_fft * T.conj(k_fft)
            corr = T.fft.irfft(res, n=L, dim=-1)
            V = self.time_delay_agg_training(values.permute(0, 2, 3, 1).contiguous(), corr).permute(0, 3, 1, 2)
            return V.contiguous(), corr.permute(0, 3, 1, 2)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.decomp = series_decomp(kernel)
            self.embed = nn.Linear(2, d_model)
            self.q = nn.Linear(d_model, d_model)
            self.k = nn.Linear(d_model, d_model)
            self.v = nn.Linear(d_model, d_model)
            self.attn = AutoCorrelation()
            self.trend_proj = nn.Linear(seq_len, pred_len)
            self.season_proj = nn.Linear(seq_len, pred_len)
            self.out = nn.Linear(d_model, 2)

        def forward(self, x):
            seasonal, trend = self.decomp(x)
            h = self.embed(seasonal)
            B, L, _ = h.shape
            v, corr = self.attn(self.q(h).view(B, L, 2, -1), self.k(h).view(B, L, 2, -1), self.v(h).view(B, L, 2, -1))
            s = self.out(v.view(B, L, -1) + h)
            s = self.season_proj(s.transpose(1, 2)).transpose(1, 2)
            t = self.trend_proj(trend.transpose(1, 2)).transpose(1, 2)
            return s + t, trend

    return Model()


def test_autoformer_decomposition_and_autocorrelation():
    rng = np.random.default_rng(3)
    t = np.arange(32)[None, :, None]
    series = np.concatenate([np.sin(t / 3.0 + rng.uniform(0, 3, (3, 1, 1))),
                             0.05 * t + rng.standard_normal((3, 32, 1)) * 0.1], axis=-1)

    def data(T):
        s = T.tensor(series)
        return s[:, :24], s[:, 24:]

    def step(T, m, batch):
        pred, trend = m(batch[0])
        loss = T.nn.MSELoss()(pred, batch[1])
        return loss, [pred, trend]

    _run(_autoformer, data, step, steps=3,
         sched=lambda T, o: T.optim.lr_scheduler.LambdaLR(o, lambda e: 0.5 ** ((e - 1) // 1)))


# ----------------------------------------------------------------------------- LSTNet
def _lstnet(T, window=24, m=3, hidR=5, hidC=4, hidS=3, Ck=4, skip=4, hw=6):
    nn, F = T.nn, T.nn.functional

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.P = window
            self.m = m
            self.hidR, self.hidC, self.hidS = hidR, hidC, hidS
            self.Ck = Ck
            self.skip = skip
            self.pt = (self.P - self.Ck) // self.skip
            self.hw = hw
            self.conv1 = nn.Conv2d(1, self.hidC, kernel_size=(self.Ck, self.m))
            self.GRU1 = nn.GRU(self.hidC, self.hidR)
            self.dropout = nn.Dropout(p=0.0)
            self.GRUskip = nn.GRU(self.hidC, self.hidS)
            self.linear1 = nn.Linear(self.hidR + self.skip * self.hidS, self.m)
            self.highway = nn.Linear(self.hw, 1)
            self.output = F.sigmoid

        def forward(self, x):
            batch_size = x.size(0)
            c = x.view(-1, 1, self.P, self.m)
            c = F.relu(self.conv1(c))
            c = self.dropout(c)
            c = T.squeeze(c, 3)
            r = c.permute(2, 0, 1).contiguous()
            _, r = self.GRU1(r)
            r = self.dropout(T.squeeze(r, 0))
            s = c[:, :, int(-self.pt * self.skip):].contiguous()
            s = s.view(batch_size, self.hidC, self.pt, self.skip)
            s = s.permute(2, 0, 3, 1).contiguous()
            s = s.view(self.pt, batch_size * self.skip, self.hidC)
            _, s = self.GRUskip(s)
            s = s.view(batch_size, self.skip * self.hidS)
            s = self.dropout(s)
            r = T.cat((r, s), 1)
            res = self.linear1(r)
            z = x[:, -self.hw:, :]
            z = z.permute(0, 2, 1).contiguous().view(-1, self.hw)
            z = self.highway(z)
            z = z.view(-1, self.m)
            res = res + z
            return self.output(res)

    return Model()


def test_lstnet():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (5, 24, 3))
    y = rng.uniform(0.2, 0.8, (5, 3))

    def data(T):
        return T.tensor(x), T.tensor(y)

    def step(T, m, batch):
        out = m(batch[0])
        loss = T.nn.L1Loss(reduction="sum")(out, batch[1]) / batch[1].size(0)
        return loss, [out]

    def opt(T, p):
        return T.optim.Adam(p, lr=1e-3)


    _run(_lstnet, data, step, steps=3, opt=opt, clip=10.0)


# ----------------------------------------------------------------------------- N-BEATS
def _nbeats(T, backcast=12, forecast=4, units=16, degree=2):
    nn, F = T.nn, T.nn.functional

    def linspace(backcast_length, forecast_length):
        lin_space = np.linspace(-backcast_length, forecast_length, backcast_length + forecast_length)
        return lin_space[:backcast_length] / backcast_length, lin_space[backcast_length:] / backcast_length

    def trend_model(thetas, t):
        p = thetas.size()[-1]
        assert p <= 4, 'thetas_dim is too big.'
        tt = T.tensor(np.array([t ** i for i in range(p)])).to(thetas.dtype)
        return thetas.mm(tt)

    def seasonality_model(thetas, t):
        p = thetas.size()[-1]
        p1, p2 = (p // 2, p // 2) if p % 2 == 0 else (p // 2, p // 2 + 1)
        s1 = T.tensor(np.array([np.cos(2 * np.pi * i * t) for i in range(p1)])).to(thetas.dtype)
        s2 = T.tensor(np.array([np.sin(2 * np.pi * i * t) for i in range(p2)])).to(thetas.dtype)
        S = T.cat([s1, s2])
        return thetas.mm(S)

    class Block(nn.Module):
        def __init__(self, thetas_dim, share_thetas=False):
            super().__init__()
            self.fc1 = nn.Linear(backcast, units)
            self.fc2 = nn.Linear(units, units)
            self.fc3 = nn.Linear(units, units)
            self.fc4 = nn.Linear(units, units)
            self.share_thetas = share_thetas
            if share_thetas:
                self.theta_f_fc = self.theta_b_fc = nn.Linear(units, thetas_dim, bias=False)
            else:
                self.theta_b_fc = nn.Linear(units, thetas_dim, bias=False)
                self.theta_f_fc = nn.Linear(units, thetas_dim, bias=False)
            self.backcast_linspace, self.forecast_linspace = linspace(backcast, forecast)

        def forward(self, x):
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = F.relu(self.fc3(x))
            return F.relu(self.fc4(x))

    class TrendBlock(Block):
        def __init__(self):
            super().__init__(degree + 1, share_thetas=True)

        def forward(self, x):
            x = super().forward(x)
            return (trend_model(self.theta_b_fc(x), self.backcast_linspace),
                    trend_model(self.theta_f_fc(x), self.forecast_linspace))

    class SeasonalityBlock(Block):
        def __init__(self):
            super().__init__(forecast, share_thetas=True)

        def forward(self, x):
            x = super().forward(x)
            return (seasonality_model(self.theta_b_fc(x), self.backcast_linspace),
                    seasonality_model(self.theta_f_fc(x), self.forecast_linspace))

    class GenericBlock(Block):
        def __init__(self):
            super().__init__(8)
            self.backcast_fc = nn.Linear(8, backcast)
            self.forecast_fc = nn.Linear(8, forecast)

        def forward(self, x):
            x = super().forward(x)
            theta_b = self.theta_b_fc(x)
            theta_f = self.theta_f_fc(x)
            return self.backcast_fc(theta_b), self.forecast_fc(theta_f)

    class NBeatsNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stacks = nn.ModuleList([nn.ModuleList([TrendBlock(), TrendBlock()]),
                                         nn.ModuleList([SeasonalityBlock()]), nn.ModuleList([GenericBlock()])])
            self.parameters_ = nn.ParameterList(list(self.parameters()))

        def forward(self, backcast_):
            forecast_ = T.zeros(size=(backcast_.size()[0], forecast,), dtype=backcast_.dtype)
            for stack in self.stacks:
                for block in stack:
                    b, f = block(backcast_)
                    backcast_ = backcast_ - b
                    forecast_ = forecast_ + f
            return backcast_, forecast_

    return NBeatsNet()


def test_nbeats():
    t = np.arange(16 * 6).reshape(6, 16) / 7.0
    series = np.sin(t) + 0.01 * t ** 1.5

    def data(T):
        s = T.tensor(series)
        return s[:, :12], s[:, 12:]

    def step(T, m, batch):
        b, f = m(batch[0])
        loss = F_smape(T, f, batch[1]) + T.nn.functional.mse_loss(b, T.zeros_like(b))
        return loss, [b, f]

    def F_smape(T, pred, true):
        return 200 * T.mean(T.abs(pred - true) / (T.abs(pred) + T.abs(true)).clamp(min=1e-8))

    runs = _run(_nbeats, data, step, steps=3,
                opt=lambda T, p: T.optim.Adam(p, lr=1e-3, amsgrad=True),
                sched=lambda T, o: T.optim.lr_scheduler.MultiStepLR(o, milestones=[1, 2], gamma=0.3))
    # shared theta layer: one parameter, two names in the state dict as torch
    assert list(runs[1][1].state_dict()) == list(runs[0][1].state_dict())


# ----------------------------------------------------------------------------- DA-RNN
def _darnn(T, T_=10, n=4, m=5, p=5):
    nn, F = T.nn, T.nn.functional

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_size, self.hidden_size, self.T = n, m, T_
            self.lstm_layer = nn.LSTM(input_size=n, hidden_size=m, num_layers=1)
            self.attn_linear = nn.Linear(in_features=2 * m + T_ - 1, out_features=1)

        def forward(self, input_data):
            input_weighted = T.zeros(input_data.size(0), self.T - 1, self.input_size, dtype=input_data.dtype)
            input_encoded = T.zeros(input_data.size(0), self.T - 1, self.hidden_size, dtype=input_data.dtype)
            hidden = input_data.new_zeros(1, input_data.size(0), self.hidden_size)
            cell = input_data.new_zeros(1, input_data.size(0), self.hidden_size)
            for t in range(self.T - 1):
                x = T.cat((hidden.repeat(self.input_size, 1, 1).permute(1, 0, 2),
                           cell.repeat(self.input_size, 1, 1).permute(1, 0, 2),
                           input_data.permute(0, 2, 1)), dim=2)
                x = self.attn_linear(x.view(-1, self.hidden_size * 2 + self.T - 1))
                attn_weights = F.softmax(x.view(-1, self.input_size), dim=1)
                weighted_input = T.mul(attn_weights, input_data[:, t, :])
                self.lstm_layer.flatten_parameters()
                _, lstm_states = self.lstm_layer(weighted_input.unsqueeze(0), (hidden, cell))
                hidden = lstm_states[0]
                cell = lstm_states[1]
                input_weighted[:, t, :] = weighted_input
                input_encoded[:, t, :] = hidden
            return input_weighted, input_encoded

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.T, self.encoder_hidden_size, self.decoder_hidden_size = T_, m, p
            self.attn_layer = nn.Sequential(nn.Linear(2 * p + m, m), nn.Tanh(), nn.Linear(m, 1))
            self.lstm_layer = nn.LSTM(input_size=1, hidden_size=p)
            self.fc = nn.Linear(m + 1, 1)
            self.fc_final = nn.Linear(p + m, 1)
            self.fc.weight.data.normal_()

        def forward(self, input_encoded, y_history):
            hidden = input_encoded.new_zeros(1, input_encoded.size(0), self.decoder_hidden_size)
            cell = input_encoded.new_zeros(1, input_encoded.size(0), self.decoder_hidden_size)
            context = input_encoded.new_zeros(input_encoded.size(0), self.encoder_hidden_size)
            for t in range(self.T - 1):
                x = T.cat((hidden.repeat(self.T - 1, 1, 1).permute(1, 0, 2),
                           cell.repeat(self.T - 1, 1, 1).permute(1, 0, 2), input_encoded), dim=2)
                x = F.softmax(self.attn_layer(x.view(-1, 2 * self.decoder_hidden_size + self.encoder_hidden_size))
                              .view(-1, self.T - 1), dim=1)
                context = T.bmm(x.unsqueeze(1), input_encoded)[:, 0, :]
                y_tilde = self.fc(T.cat((context, y_history[:, t].unsqueeze(1)), dim=1))
                self.lstm_layer.flatten_parameters()
                _, lstm_output = self.lstm_layer(y_tilde.unsqueeze(0), (hidden, cell))
                hidden = lstm_output[0]
                cell = lstm_output[1]
            return self.fc_final(T.cat((hidden[0], context), dim=1))

    class DARNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.decoder = Decoder()

        def forward(self, X, y_history):
            _, input_encoded = self.encoder(X)
            return self.decoder(input_encoded, y_history)

    return DARNN()


def test_darnn_dual_stage_attention():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 9, 4))
    yh = rng.standard_normal((3, 9))
    y = rng.standard_normal((3, 1))

    def data(T):
        return T.tensor(X), T.tensor(yh), T.tensor(y)

    def step(T, m, batch):
        out = m(batch[0], batch[1])
        return T.nn.MSELoss()(out, batch[2]), [out]

    def opt(T, p):
        p = list(p)
        return T.optim.Adam([{"params": p[:6]}, {"params": p[6:], "lr": 3e-3}], lr=1e-2)

    _run(_darnn, data, step, steps=3, opt=opt,
         sched=lambda T, o: T.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.9))


# ----------------------------------------------------------------------------- Tacotron 2 attention + decoder
def _tacotron(T, n_mel=5, enc_dim=6, attn_rnn=8, attn_dim=4, n_filters=3, kernel=5, dec_rnn=8, prenet=4):
    nn, F = T.nn, T.nn.functional

    class LinearNorm(nn.Module):
        def __init__(self, in_dim, out_dim, bias=True, w_init_gain='linear'):
            super().__init__()
            self.linear_layer = nn.Linear(in_dim, out_dim, bias=bias)
            nn.init.xavier_uniform_(self.linear_layer.weight, gain=nn.init.calculate_gain(w_init_gain))

        def forward(self, x):
            return self.linear_layer(x)

    class ConvNorm(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, padding=None, dilation=1, bias=True,
                     w_init_gain='linear'):
            super().__init__()
            if padding is None:
                assert kernel_size % 2 == 1
                padding = int(dilation * (kernel_size - 1) / 2)
            self.conv = nn.Conv1d(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                                  padding=padding, dilation=dilation, bias=bias)
            nn.init.xavier_uniform_(self.conv.weight, gain=nn.init.calculate_gain(w_init_gain))

        def forward(self, signal):
            return self.conv(signal)

    class LocationLayer(nn.Module):
        def __init__(self):
            super().__init__()
            padding = int((kernel - 1) / 2)
            self.location_conv = ConvNorm(2, n_filters, kernel_size=kernel, padding=padding, bias=False)
            self.location_dense = LinearNorm(n_filters, attn_dim, bias=False, w_init_gain='tanh')

        def forward(self, attention_weights_cat):
            processed_attention = self.location_conv(attention_weights_cat)
            processed_attention = processed_attention.transpose(1, 2)
            return self.location_dense(processed_attention)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query_layer = LinearNorm(attn_rnn, attn_dim, bias=False, w_init_gain='tanh')
            self.memory_layer = LinearNorm(enc_dim, attn_dim, bias=False, w_init_gain='tanh')
            self.v = LinearNorm(attn_dim, 1, bias=False)
            self.location_layer = LocationLayer()
            self.score_mask_value = -float("inf")

        def get_alignment_energies(self, query, processed_memory, attention_weights_cat):
            processed_query = self.query_layer(query.unsqueeze(1))
            processed_attention_weights = self.location_layer(attention_weights_cat)
            energies = self.v(T.tanh(processed_query + processed_attention_weights + processed_memory))
            return energies.squeeze(-1)

        def forward(self, attention_hidden_state, memory, processed_memory, attention_weights_cat, mask):
            alignment = self.get_alignment_energies(attention_hidden_state, processed_memory, attention_weights_cat)
            if mask is not None:
                alignment.data.masked_fill_(mask, self.score_mask_value)
            attention_weights = F.softmax(alignment, dim=1)
            attention_context = T.bmm(attention_weights.unsqueeze(1), memory)
            attention_context = attention_context.squeeze(1)
            return attention_context, attention_weights

    class Prenet(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([LinearNorm(n_mel, prenet, bias=False), LinearNorm(prenet, prenet, bias=False)])

        def forward(self, x):
            for linear in self.layers:
                x = F.dropout(F.relu(linear(x)), p=0.5, training=False)
            return x

    def get_mask_from_lengths(lengths):
        max_len = T.max(lengths).item()
        ids = T.arange(0, max_len, out=T.LongTensor(max_len))
        return (ids < lengths.unsqueeze(1)).bool()

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.prenet = Prenet()
            self.attention_rnn = nn.LSTMCell(prenet + enc_dim, attn_rnn)
            self.attention_layer = Attention()
            self.decoder_rnn = nn.LSTMCell(attn_rnn + enc_dim, dec_rnn, 1)
            self.linear_projection = LinearNorm(dec_rnn + enc_dim, n_mel)
            self.gate_layer = LinearNorm(dec_rnn + enc_dim, 1, bias=True, w_init_gain='sigmoid')

        def get_go_frame(self, memory):
            B = memory.size(0)
            return memory.new(B, n_mel).zero_()

        def initialize_decoder_states(self, memory, mask):
            B = memory.size(0)
            MAX_TIME = memory.size(1)
            self.attention_hidden = memory.new(B, attn_rnn).zero_()
            self.attention_cell = memory.new(B, attn_rnn).zero_()
            self.decoder_hidden = memory.new(B, dec_rnn).zero_()
            self.decoder_cell = memory.new(B, dec_rnn).zero_()
            self.attention_weights = memory.new(B, MAX_TIME).zero_()
            self.attention_weights_cum = memory.new(B, MAX_TIME).zero_()
            self.attention_context = memory.new(B, enc_dim).zero_()
            self.memory = memory
            self.processed_memory = self.attention_layer.memory_layer(memory)
            self.mask = mask

        def parse_decoder_inputs(self, decoder_inputs):
            decoder_inputs = decoder_inputs.transpose(1, 2)
            decoder_inputs = decoder_inputs.transpose(0, 1)
            return decoder_inputs

        def parse_decoder_outputs(self, mel_outputs, gate_outputs, alignments):
            alignments = T.stack(alignments).transpose(0, 1)
            gate_outputs = T.stack(gate_outputs).transpose(0, 1)
            gate_outputs = gate_outputs.contiguous()
            mel_outputs = T.stack(mel_outputs).transpose(0, 1).contiguous()
            mel_outputs = mel_outputs.transpose(1, 2)
            return mel_outputs, gate_outputs, alignments

        def decode(self, decoder_input):
            cell_input = T.cat((decoder_input, self.attention_context), -1)
            self.attention_hidden, self.attention_cell = self.attention_rnn(
                cell_input, (self.attention_hidden, self.attention_cell))
            attention_weights_cat = T.cat((self.attention_weights.unsqueeze(1),
                                           self.attention_weights_cum.unsqueeze(1)), dim=1)
            self.attention_context, self.attention_weights = self.attention_layer(
                self.attention_hidden, self.memory, self.processed_memory, attention_weights_cat, self.mask)
            self.attention_weights_cum += self.attention_weights
            decoder_input = T.cat((self.attention_hidden, self.attention_context), -1)
            self.decoder_hidden, self.decoder_cell = self.decoder_rnn(
                decoder_input, (self.decoder_hidden, self.decoder_cell))
            decoder_hidden_attention_context = T.cat((self.decoder_hidden, self.attention_context), dim=1)
            decoder_output = self.linear_projection(decoder_hidden_attention_context)
            gate_prediction = self.gate_layer(decoder_hidden_attention_context)
            return decoder_output, gate_prediction, self.attention_weights

        def forward(self, memory, decoder_inputs, memory_lengths):
            decoder_input = self.get_go_frame(memory).unsqueeze(0)
            decoder_inputs = self.parse_decoder_inputs(decoder_inputs)
            decoder_inputs = T.cat((decoder_input, decoder_inputs), dim=0)
            decoder_inputs = self.prenet(decoder_inputs)
            self.initialize_decoder_states(memory, mask=~get_mask_from_lengths(memory_lengths))
            mel_outputs, gate_outputs, alignments = [], [], []
            while len(mel_outputs) < decoder_inputs.size(0) - 1:
                decoder_input = decoder_inputs[len(mel_outputs)]
                mel_output, gate_output, attention_weights = self.decode(decoder_input)
                mel_outputs += [mel_output.squeeze(1)]
                gate_outputs += [gate_output.squeeze(1)]
                alignments += [attention_weights]
            return self.parse_decoder_outputs(mel_outputs, gate_outputs, alignments)

    class Tacotron2Loss(nn.Module):
        def forward(self, model_output, targets):
            mel_target, gate_target = targets[0], targets[1]
            mel_target.requires_grad = False
            gate_target.requires_grad = False
            gate_target = gate_target.view(-1, 1)
            mel_out, gate_out, _ = model_output
            gate_out = gate_out.view(-1, 1)
            mel_loss = nn.MSELoss()(mel_out, mel_target)
            gate_loss = nn.BCEWithLogitsLoss(pos_weight=T.tensor([3.0]))(gate_out, gate_target)
            return mel_loss + gate_loss

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(7, enc_dim)
            self.decoder = Decoder()
            self.criterion = Tacotron2Loss()

        def forward(self, text, text_lengths, mels):
            memory = self.embedding(text)
            return self.decoder(memory, mels, memory_lengths=text_lengths)

    return Model()


def test_tacotron2_location_sensitive_attention():
    rng = np.random.default_rng(6)
    text = np.array([[1, 2, 3, 4, 5, 6], [3, 1, 4, 0, 0, 0]])
    lengths = np.array([6, 3])
    mels = rng.standard_normal((2, 5, 7))
    gate = np.zeros((2, 7))
    gate[0, 6:] = 1
    gate[1, 4:] = 1

    def data(T):
        return T.tensor(text), T.tensor(lengths), T.tensor(mels), T.tensor(gate)

    def step(T, m, batch):
        text, lengths, mels, gate = batch
        out = m(text, lengths, mels)
        loss = m.criterion(out, (mels, gate))
        return loss, list(out)

    def opt(T, p):
        return T.optim.Adam(p, lr=1e-3, weight_decay=1e-6)


    runs = _run(_tacotron, data, step, steps=3, opt=opt, clip=1.0,
                sched=lambda T, o: T.optim.lr_scheduler.ExponentialLR(o, gamma=0.9))
    # masked encoder steps get no attention
    assert (_plain(runs[1][1].decoder.attention_weights)[1, 3:] == 0).all()


# ----------------------------------------------------------------------------- DeepSpeech2-like
def _deepspeech(T, n_feats=9, n_class=6, rnn_dim=5, hidden=4):
    nn, F = T.nn, T.nn.functional

    class MaskConv(nn.Module):
        """deepspeech.pytorch's: zero the padded frames after each module."""
        def __init__(self, seq_module):
            super().__init__()
            self.seq_module = seq_module

        def forward(self, x, lengths):
            for module in self.seq_module:
                x = module(x)
                mask = T.BoolTensor(x.size()).fill_(0)
                if x.is_cuda:
                    mask = mask.cuda()
                for i, length in enumerate(lengths):
                    length = length.item()
                    if (mask[i].size(2) - length) > 0:
                        mask[i].narrow(2, length, mask[i].size(2) - length).fill_(1)
                x = x.masked_fill(mask, 0)
            return x, lengths

    class BatchRNN(nn.Module):
        def __init__(self, input_size, hidden_size, batch_norm=True):
            super().__init__()
            self.batch_norm = nn.BatchNorm1d(input_size) if batch_norm else None
            self.rnn = nn.GRU(input_size=input_size, hidden_size=hidden_size, bidirectional=True, bias=True)

        def forward(self, x, output_lengths, h=None):
            if self.batch_norm is not None:
                t, n = x.size(0), x.size(1)
                x = self.batch_norm(x.view(t * n, -1)).view(t, n, -1)
            x = nn.utils.rnn.pack_padded_sequence(x, output_lengths.cpu(), enforce_sorted=False)
            x, h = self.rnn(x, h)
            x, _ = nn.utils.rnn.pad_packed_sequence(x)
            x = x.view(x.size(0), x.size(1), 2, -1).sum(2).view(x.size(0), x.size(1), -1)
            return x, h

    class DeepSpeech(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = MaskConv(nn.Sequential(
                nn.Conv2d(1, 3, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2)),
                nn.BatchNorm2d(3),
                nn.Hardtanh(0, 20, inplace=True),
                nn.Conv2d(3, 3, kernel_size=(3, 3), stride=(2, 1), padding=(1, 1)),
                nn.BatchNorm2d(3),
                nn.Hardtanh(0, 20, inplace=True)))
            rnn_input_size = int(math.floor(n_feats + 2 * 1 - 3) / 2 + 1)
            rnn_input_size = int(math.floor(rnn_input_size + 2 * 1 - 3) / 2 + 1)
            rnn_input_size *= 3
            self.rnns = nn.Sequential(BatchRNN(rnn_input_size, rnn_dim, batch_norm=False),
                                      BatchRNN(rnn_dim, rnn_dim))
            self.fc = nn.Sequential(nn.BatchNorm1d(rnn_dim), nn.Linear(rnn_dim, n_class, bias=False))

        def get_seq_lens(self, input_length):
            seq_len = input_length
            for m in self.conv.modules():
                if type(m) == nn.modules.conv.Conv2d:
                    seq_len = ((seq_len + 2 * m.padding[1] - m.dilation[1] * (m.kernel_size[1] - 1) - 1)
                               // m.stride[1] + 1)
            return seq_len.int()

        def forward(self, x, lengths):
            output_lengths = self.get_seq_lens(lengths.cpu())
            x, _ = self.conv(x, output_lengths)
            sizes = x.size()
            x = x.view(sizes[0], sizes[1] * sizes[2], sizes[3])
            x = x.transpose(1, 2).transpose(0, 1).contiguous()
            for rnn in self.rnns:
                x, _ = rnn(x, output_lengths)
            t, n = x.size(0), x.size(1)
            x = self.fc(x.view(t * n, -1)).view(t, n, -1)
            x = x.transpose(0, 1)
            x = F.log_softmax(x, dim=-1)
            return x, output_lengths

    return DeepSpeech()


def test_deepspeech2_spectrogram_packed_gru_ctc():
    rng = np.random.default_rng(7)
    audio = rng.standard_normal((3, 200)) * 0.3
    audio_lengths = np.array([200, 150, 120])
    targets = np.array([1, 2, 3, 2, 4, 5, 1, 1, 3])
    target_lengths = np.array([4, 3, 2])

    def data(T):
        wav = T.tensor(audio)
        window = T.hamming_window(16)
        spect = T.stft(wav, n_fft=16, hop_length=8, win_length=16, window=window, center=True, pad_mode="reflect",
                       return_complex=True)
        spect = T.log1p(spect.abs())
        mean, std = spect.mean(), spect.std()
        spect = ((spect - mean) / std).unsqueeze(1)
        lengths = T.tensor(audio_lengths) // 8 + 1
        return spect, lengths, T.IntTensor(targets), T.tensor(target_lengths)

    def step(T, m, batch):
        spect, lengths, targets, target_lengths = batch
        out, out_lengths = m(spect, lengths)
        out = out.transpose(0, 1)
        loss = T.nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)(out, targets, out_lengths,
                                                                             target_lengths)
        return loss, [out, out_lengths, spect]

    def opt(T, p):
        return T.optim.AdamW(p, lr=1e-3, weight_decay=1e-2)

    def sched(T, o):
        return T.optim.lr_scheduler.OneCycleLR(o, max_lr=5e-3, total_steps=10, anneal_strategy="linear")

    _run(_deepspeech, data, step, steps=3, opt=opt, sched=sched)


# ----------------------------------------------------------------------------- Parallel WaveGAN's MR-STFT loss
def _stft_mag(T, x, fft_size, hop_size, win_length, window):
    x_stft = T.stft(x, fft_size, hop_size, win_length, window, return_complex=True)
    real = x_stft.real
    imag = x_stft.imag
    return T.sqrt(T.clamp(real ** 2 + imag ** 2, min=1e-7)).transpose(2, 1)


def _mr_stft_generator(T, fft_sizes=(32, 64, 16), hop_sizes=(8, 16, 4), win_lengths=(24, 48, 12)):
    nn, F = T.nn, T.nn.functional

    class SpectralConvergengeLoss(nn.Module):
        def forward(self, x_mag, y_mag):
            return T.norm(y_mag - x_mag, p="fro") / T.norm(y_mag, p="fro")

    class LogSTFTMagnitudeLoss(nn.Module):
        def forward(self, x_mag, y_mag):
            return F.l1_loss(T.log(y_mag), T.log(x_mag))

    class STFTLoss(nn.Module):
        def __init__(self, fft_size, shift_size, win_length, window="hann_window"):
            super().__init__()
            self.fft_size, self.shift_size, self.win_length = fft_size, shift_size, win_length
            self.register_buffer("window", getattr(T, window)(win_length))
            self.spectral_convergenge_loss = SpectralConvergengeLoss()
            self.log_stft_magnitude_loss = LogSTFTMagnitudeLoss()

        def forward(self, x, y):
            x_mag = _stft_mag(T, x, self.fft_size, self.shift_size, self.win_length, self.window)
            y_mag = _stft_mag(T, y, self.fft_size, self.shift_size, self.win_length, self.window)
            return self.spectral_convergenge_loss(x_mag, y_mag), self.log_stft_magnitude_loss(x_mag, y_mag)

    class MultiResolutionSTFTLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.stft_losses = nn.ModuleList()
            for fs, ss, wl, w in zip(fft_sizes, hop_sizes, win_lengths,
                                     ("hann_window", "hamming_window", "blackman_window")):
                self.stft_losses += [STFTLoss(fs, ss, wl, w)]

        def forward(self, x, y):
            if len(x.shape) == 3:
                x = x.view(-1, x.size(2))
                y = y.view(-1, y.size(2))
            sc_loss = 0.0
            mag_loss = 0.0
            for f in self.stft_losses:
                sc_l, mag_l = f(x, y)
                sc_loss += sc_l
                mag_loss += mag_l
            sc_loss /= len(self.stft_losses)
            mag_loss /= len(self.stft_losses)
            return sc_loss, mag_loss

    class Generator(nn.Module):
        """A small upsampling generator (mel -> waveform), as the vocoders trained with this loss."""
        def __init__(self):
            super().__init__()
            self.pre = nn.Conv1d(4, 6, 3, padding=1)
            self.up = nn.ConvTranspose1d(6, 4, 8, stride=4, padding=2)
            self.post = nn.Conv1d(4, 1, 7, padding=3, padding_mode="reflect")
            self.criterion = MultiResolutionSTFTLoss()

        def forward(self, c):
            x = F.leaky_relu(self.pre(c), 0.2)
            x = F.leaky_relu(self.up(x), 0.2)
            return T.tanh(self.post(x))

    return Generator()


def test_parallel_wavegan_multi_resolution_stft_loss():
    rng = np.random.default_rng(8)
    mel = rng.standard_normal((2, 4, 40))
    t = np.arange(160) / 160
    wave = (0.5 * np.sin(2 * np.pi * 12 * t) * np.array([[1.0], [0.6]]))[:, None, :]

    def data(T):
        return T.tensor(mel), T.tensor(wave)

    def step(T, m, batch):
        y_ = m(batch[0])
        sc, mag = m.criterion(y_.squeeze(1), batch[1].squeeze(1))
        loss = sc + mag
        return loss, [y_, sc, mag]

    def opt(T, p):
        return T.optim.RAdam(p, lr=1e-3, eps=1e-6, weight_decay=0.0)

    _run(_mr_stft_generator, data, step, steps=3, opt=opt,
         sched=lambda T, o: T.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5))


# ----------------------------------------------------------------------------- quantile forecaster (pinball loss)
class _QuantileLoss:
    """pytorch-forecasting's QuantileLoss.loss, as a callable."""
    def __init__(self, T, quantiles):
        self.T, self.quantiles = T, quantiles

    def __call__(self, y_pred, target):
        losses = []
        for i, q in enumerate(self.quantiles):
            errors = target - y_pred[..., i]
            losses.append(self.T.max((q - 1) * errors, q * errors).unsqueeze(-1))
        return 2 * self.T.cat(losses, dim=2)


def _quantile_mlp(T, lookback=12, horizon=4, quantiles=(0.1, 0.5, 0.9)):
    nn = T.nn

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(lookback, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 16),
                                     nn.SiLU(), nn.Linear(16, horizon * len(quantiles)))
            self.quantiles = quantiles

        def forward(self, x):
            loc = x.mean(dim=1, keepdim=True)
            scale = x.std(dim=1, keepdim=True, unbiased=True) + 1e-6
            y = self.net((x - loc) / scale).view(x.size(0), horizon, len(self.quantiles))
            y = y * scale.unsqueeze(-1) + loc.unsqueeze(-1)
            # quantiles must not cross: sort along the last dimension
            return T.sort(y, dim=-1).values

    return Forecaster()


def test_quantile_forecaster_pinball_loss():
    rng = np.random.default_rng(9)
    series = np.cumsum(rng.standard_normal((5, 16)), axis=1)

    def data(T):
        s = T.tensor(series)
        return s[:, :12], s[:, 12:]

    def step(T, m, batch):
        pred = m(batch[0])
        losses = _QuantileLoss(T, m.quantiles)(pred, batch[1])
        loss = losses.mean()
        coverage = (batch[1] <= pred[..., 2]).float().mean()
        return loss, [pred, losses, coverage]

    def opt(T, p):
        return T.optim.Adam(p, lr=3e-3)

    def sched(T, o):
        return T.optim.lr_scheduler.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=0)

    runs = _run(_quantile_mlp, data, step, steps=4, opt=opt, sched=sched)
    assert runs[1][2].param_groups[0]["lr"] == runs[0][2].param_groups[0]["lr"]


# ----------------------------------------------------------------------------- GRU seq2seq with teacher forcing
def _seq2seq(T, input_size=2, hidden=6, horizon=5):
    nn = T.nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(input_size, hidden, num_layers=2, batch_first=True, dropout=0.0)

        def forward(self, x):
            _, h = self.gru(x)
            return h

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, hidden, num_layers=2, batch_first=True)
            self.out = nn.Linear(hidden, 1)

        def forward(self, y_prev, h):
            o, h = self.gru(y_prev.unsqueeze(1), h)
            return self.out(o.squeeze(1)), h

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.decoder = Decoder()

        def forward(self, x, target=None, teacher_forcing=None):
            h = self.encoder(x)
            y_prev = x[:, -1, :1]
            outputs = []
            for t in range(horizon):
                y, h = self.decoder(y_prev, h)
                outputs.append(y)
                use_teacher = teacher_forcing is not None and bool(teacher_forcing[t])
                y_prev = target[:, t].unsqueeze(-1) if use_teacher and target is not None else y.detach()
            return T.cat(outputs, dim=1)

    return Seq2Seq()


def test_gru_seq2seq_teacher_forcing():
    rng = np.random.default_rng(10)
    t = np.arange(20) / 3
    x = np.stack([np.sin(t + p) for p in rng.uniform(0, 6, 4)])
    inputs = np.stack([x[:, :15], np.cos(t[:15])[None].repeat(4, 0)], axis=-1)
    target = x[:, 15:]
    teacher = [[1, 0, 1, 1, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]]

    def data(T):
        return T.tensor(inputs), T.tensor(target)

    def make_step():
        calls = {}

        def step(T, m, batch):
            k = calls[T.__name__] = calls.get(T.__name__, -1) + 1
            pred = m(batch[0], batch[1], teacher_forcing=teacher[k])
            loss = T.nn.functional.huber_loss(pred, batch[1], delta=0.5)
            return loss, [pred]
        return step

    def opt(T, p):
        return T.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)

    def sched(T, o):
        return T.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=1e-3)

    _run(_seq2seq, data, make_step(), steps=3, opt=opt, sched=sched)


# ----------------------------------------------------------------------------- HiFi-GAN
def _hifigan(T):
    nn, F = T.nn, T.nn.functional
    weight_norm, spectral_norm, remove_weight_norm = nn.utils.weight_norm, nn.utils.spectral_norm, \
        nn.utils.remove_weight_norm
    LRELU_SLOPE = 0.1

    def init_weights(m, mean=0.0, std=0.01):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            m.weight.data.normal_(mean, std)

    def get_padding(kernel_size, dilation=1):
        return int((kernel_size * dilation - dilation) / 2)

    class ResBlock2(nn.Module):
        def __init__(self, channels, kernel_size=3, dilation=(1, 3)):
            super().__init__()
            self.convs = nn.ModuleList([
                weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=dilation[0],
                                      padding=get_padding(kernel_size, dilation[0]))),
                weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=dilation[1],
                                      padding=get_padding(kernel_size, dilation[1])))])
            self.convs.apply(init_weights)

        def forward(self, x):
            for c in self.convs:
                xt = F.leaky_relu(x, LRELU_SLOPE)
                xt = c(xt)
                x = xt + x
            return x

        def remove_weight_norm(self):
            for layer in self.convs:
                remove_weight_norm(layer)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv_pre = weight_norm(nn.Conv1d(4, 8, 7, 1, padding=3))
            self.ups = nn.ModuleList([weight_norm(nn.ConvTranspose1d(8, 4, 4, 2, padding=1)),
                                      weight_norm(nn.ConvTranspose1d(4, 2, 4, 2, padding=1))])
            self.resblocks = nn.ModuleList([ResBlock2(4), ResBlock2(2, 3, (1, 2))])
            self.conv_post = weight_norm(nn.Conv1d(2, 1, 7, 1, padding=3))
            self.ups.apply(init_weights)
            self.conv_post.apply(init_weights)

        def forward(self, x):
            x = self.conv_pre(x)
            for i in range(len(self.ups)):
                x = F.leaky_relu(x, LRELU_SLOPE)
                x = self.ups[i](x)
                x = self.resblocks[i](x)
            x = F.leaky_relu(x)
            x = self.conv_post(x)
            return T.tanh(x)

    class DiscriminatorP(nn.Module):
        def __init__(self, period, kernel_size=5, stride=3, use_spectral_norm=False):
            super().__init__()
            self.period = period
            norm_f = weight_norm if not use_spectral_norm else spectral_norm
            self.convs = nn.ModuleList([
                norm_f(nn.Conv2d(1, 4, (kernel_size, 1), (stride, 1), padding=(get_padding(5, 1), 0))),
                norm_f(nn.Conv2d(4, 4, (kernel_size, 1), 1, padding=(2, 0)))])
            self.conv_post = norm_f(nn.Conv2d(4, 1, (3, 1), 1, padding=(1, 0)))

        def forward(self, x):
            fmap = []
            b, c, t = x.shape
            if t % self.period != 0:
                n_pad = self.period - (t % self.period)
                x = F.pad(x, (0, n_pad), "reflect")
                t = t + n_pad
            x = x.view(b, c, t // self.period, self.period)
            for layer in self.convs:
                x = layer(x)
                x = F.leaky_relu(x, LRELU_SLOPE)
                fmap.append(x)
            x = self.conv_post(x)
            fmap.append(x)
            x = T.flatten(x, 1, -1)
            return x, fmap

    class DiscriminatorS(nn.Module):
        def __init__(self, use_spectral_norm=False):
            super().__init__()
            norm_f = weight_norm if not use_spectral_norm else spectral_norm
            self.convs = nn.ModuleList([norm_f(nn.Conv1d(1, 4, 15, 1, padding=7)),
                                        norm_f(nn.Conv1d(4, 4, 41, 2, groups=2, padding=20))])
            self.conv_post = norm_f(nn.Conv1d(4, 1, 3, 1, padding=1))

        def forward(self, x):
            fmap = []
            for layer in self.convs:
                x = layer(x)
                x = F.leaky_relu(x, LRELU_SLOPE)
                fmap.append(x)
            x = self.conv_post(x)
            fmap.append(x)
            return T.flatten(x, 1, -1), fmap

    class MultiScaleDiscriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.discriminators = nn.ModuleList([DiscriminatorS(use_spectral_norm=True), DiscriminatorS()])
            self.meanpools = nn.ModuleList([nn.AvgPool1d(4, 2, padding=2)])

        def forward(self, y, y_hat):
            y_d_rs, y_d_gs, fmap_rs, fmap_gs = [], [], [], []
            for i, d in enumerate(self.discriminators):
                if i != 0:
                    y = self.meanpools[i - 1](y)
                    y_hat = self.meanpools[i - 1](y_hat)
                y_d_r, fmap_r = d(y)
                y_d_g, fmap_g = d(y_hat)
                y_d_rs.append(y_d_r)
                fmap_rs.append(fmap_r)
                y_d_gs.append(y_d_g)
                fmap_gs.append(fmap_g)
            return y_d_rs, y_d_gs, fmap_rs, fmap_gs

    class HiFiGAN(nn.Module):
        def __init__(self):
            super().__init__()
            self.generator = Generator()
            self.mpd = nn.ModuleList([DiscriminatorP(2), DiscriminatorP(3, use_spectral_norm=True)])
            self.msd = MultiScaleDiscriminator()

    return HiFiGAN()


def _feature_loss(T, fmap_r, fmap_g):
    loss = 0
    for dr, dg in zip(fmap_r, fmap_g):
        for rl, gl in zip(dr, dg):
            loss += T.mean(T.abs(rl - gl))
    return loss * 2


def _generator_loss(T, disc_outputs):
    loss = 0
    for dg in disc_outputs:
        loss += T.mean((1 - dg) ** 2)
    return loss


def _discriminator_loss(T, disc_real_outputs, disc_generated_outputs):
    loss = 0
    for dr, dg in zip(disc_real_outputs, disc_generated_outputs):
        loss += T.mean((1 - dr) ** 2) + T.mean(dg ** 2)
    return loss


def test_hifigan_weight_and_spectral_norm_gan_step():
    """One generator + discriminator step a training iteration (spectral_norm's power iteration runs in train mode:
    its u/v buffers must follow torch's too), then remove_weight_norm for inference."""
    rng = np.random.default_rng(11)
    mel = rng.standard_normal((2, 4, 10))
    wave = np.tanh(rng.standard_normal((2, 1, 40)))

    def data(T):
        return T.tensor(mel), T.tensor(wave)

    def opt(T, p):
        return T.optim.AdamW(p, 2e-4, betas=(0.8, 0.99))

    def step(T, m, batch):
        x, y = batch
        y_g_hat = m.generator(x)
        mel_l1 = F_l1(T, y_g_hat, y)
        d_loss = 0
        for d in m.mpd:
            y_r, _ = d(y)
            y_g, _ = d(y_g_hat.detach())
            d_loss = d_loss + _discriminator_loss(T, [y_r], [y_g])
        y_ds_r, y_ds_g, _, _ = m.msd(y, y_g_hat.detach())
        d_loss = d_loss + _discriminator_loss(T, y_ds_r, y_ds_g)
        g_loss = 0
        for d in m.mpd:
            _, fr = d(y)
            yg, fg = d(y_g_hat)
            g_loss = g_loss + _generator_loss(T, [yg]) + _feature_loss(T, [fr], [fg])
        _, y_ds_hat_g, fmap_s_r, fmap_s_g = m.msd(y, y_g_hat)
        g_loss = g_loss + _generator_loss(T, y_ds_hat_g) + _feature_loss(T, fmap_s_r, fmap_s_g) + 45 * mel_l1
        return d_loss + g_loss, [y_g_hat, d_loss, g_loss, m.mpd[1].conv_post.weight_u]

    def F_l1(T, a, b):
        return T.nn.functional.l1_loss(a, b)

    runs = _run(_hifigan, data, step, steps=2, opt=opt,
                sched=lambda T, o: T.optim.lr_scheduler.ExponentialLR(o, gamma=0.999))
    outs = []
    for T, m, *_ in runs:
        g = m.generator
        g.eval()
        for layer in g.ups:
            T.nn.utils.remove_weight_norm(layer)
        for layer in g.resblocks:
            layer.remove_weight_norm()
        T.nn.utils.remove_weight_norm(g.conv_pre)
        T.nn.utils.remove_weight_norm(g.conv_post)
        assert "conv_pre.weight" in g.state_dict() and "conv_pre.weight_g" not in g.state_dict()
        with T.no_grad():
            outs.append(_plain(g(T.tensor(mel))))
    np.testing.assert_allclose(outs[1], outs[0], **TOL)


# ----------------------------------------------------------------------------- torchaudio's features: mel, dB, MFCC
def _hz_to_mel(freq):
    return 2595.0 * math.log10(1.0 + (freq / 700.0))


def _melscale_fbanks(T, n_freqs, f_min, f_max, n_mels, sample_rate):
    """torchaudio.functional.melscale_fbanks (htk scale, no norm)."""
    all_freqs = T.linspace(0, sample_rate // 2, n_freqs)
    m_min = _hz_to_mel(f_min)
    m_max = _hz_to_mel(f_max)
    m_pts = T.linspace(m_min, m_max, n_mels + 2)
    f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    zero = T.zeros(1)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    fb = T.max(zero, T.min(down_slopes, up_slopes))
    return fb


def _amplitude_to_DB(T, x, multiplier, amin, db_multiplier, top_db=None):
    x_db = multiplier * T.log10(T.clamp(x, min=amin))
    x_db -= multiplier * db_multiplier
    if top_db is not None:
        shape = x_db.size()
        packed_channels = shape[-3] if x_db.dim() > 2 else 1
        x_db = x_db.reshape(-1, packed_channels, shape[-2], shape[-1])
        x_db = T.max(x_db, (x_db.amax(dim=(-3, -2, -1)) - top_db).view(-1, 1, 1, 1))
        x_db = x_db.reshape(shape)
    return x_db


def _create_dct(T, n_mfcc, n_mels, norm="ortho"):
    n = T.arange(float(n_mels))
    k = T.arange(float(n_mfcc)).unsqueeze(1)
    dct = T.cos(math.pi / float(n_mels) * (n + 0.5) * k)
    if norm is None:
        dct *= 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct *= math.sqrt(2.0 / float(n_mels))
    return dct.t()


def _mfcc_classifier(T, sample_rate=800, n_fft=32, hop=8, n_mels=8, n_mfcc=6):
    nn, F = T.nn, T.nn.functional

    class MFCC(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("window", T.hann_window(n_fft))
            self.register_buffer("fb", _melscale_fbanks(T, n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate))
            self.register_buffer("dct_mat", _create_dct(T, n_mfcc, n_mels))

        def forward(self, waveform):
            spec = T.stft(waveform, n_fft, hop, n_fft, self.window, center=True, pad_mode="reflect",
                          normalized=False, onesided=True, return_complex=True).abs().pow(2.0)
            mel = T.matmul(spec.transpose(-1, -2), self.fb).transpose(-1, -2)
            mel = _amplitude_to_DB(T, mel, 10.0, 1e-10, math.log10(max(1e-10, 1.0)), top_db=80.0)
            return T.matmul(mel.transpose(-1, -2), self.dct_mat).transpose(-1, -2)

    class SpecAugmentClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.mfcc = MFCC()
            self.norm = nn.InstanceNorm1d(n_mfcc, affine=True, track_running_stats=True)
            self.gru = nn.GRU(n_mfcc, 6, batch_first=True, bidirectional=True)
            self.head = nn.Linear(12, 3)

        def forward(self, wav, freq_mask=None, time_mask=None):
            feats = self.mfcc(wav)
            if freq_mask is not None:  # SpecAugment with fixed masks (torchaudio's mask_along_axis, not drawn)
                feats = feats.masked_fill(freq_mask[:, :, None], 0.0)
                feats = feats.masked_fill(time_mask[:, None, :], feats.mean())
            x = self.norm(feats).transpose(1, 2)
            out, h = self.gru(x)
            pooled = T.cat([h[0], h[1]], dim=-1) + out.max(dim=1).values
            return F.log_softmax(self.head(pooled), dim=-1), feats

    return SpecAugmentClassifier()


def test_mfcc_specaugment_gru_classifier():
    rng = np.random.default_rng(12)
    t = np.arange(400) / 800
    wav = np.stack([np.sin(2 * np.pi * f * t) for f in (50, 120, 300)]) + 0.05 * rng.standard_normal((3, 400))
    labels = np.array([0, 1, 2])
    fmask = np.zeros((3, 6), bool)
    fmask[0, 2:4] = True
    tmask = np.zeros((3, 51), bool)
    tmask[1, 10:15] = True

    def data(T):
        return T.tensor(wav), T.tensor(labels), T.tensor(fmask), T.tensor(tmask)

    def step(T, m, batch):
        logp, feats = m(batch[0], batch[2], batch[3])
        loss = T.nn.functional.cross_entropy(logp, batch[1], label_smoothing=0.1)
        return loss, [logp, feats, m.norm.running_mean]

    def opt(T, p):
        return T.optim.Adagrad(p, lr=0.05, lr_decay=0.01)

    _run(_mfcc_classifier, data, step, steps=3, opt=opt,
         sched=lambda T, o: T.optim.lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=2))


# ----------------------------------------------------------------------------- Conv-TasNet + PIT SI-SNR
def _overlap_and_add(T, signal, frame_step):
    """Conv-TasNet's (kaituoxu) overlap_and_add, with index_add_."""
    outer_dimensions = signal.size()[:-2]
    frames, frame_length = signal.size()[-2:]
    subframe_length = math.gcd(frame_length, frame_step)
    subframe_step = frame_step // subframe_length
    subframes_per_frame = frame_length // subframe_length
    output_size = frame_step * (frames - 1) + frame_length
    output_subframes = output_size // subframe_length
    subframe_signal = signal.view(*outer_dimensions, -1, subframe_length)
    frame = T.arange(0, output_subframes).unfold(0, subframes_per_frame, subframe_step)
    frame = signal.new_tensor(frame).long()
    frame = frame.contiguous().view(-1)
    result = signal.new_zeros(*outer_dimensions, output_subframes, subframe_length)
    result.index_add_(-2, frame, subframe_signal)
    result = result.view(*outer_dimensions, -1)
    return result


def _conv_tasnet(T, N=6, L=4, B=4, H=6, P=3, X=2, R=1, C=2):
    nn, F = T.nn, T.nn.functional
    EPS = 1e-8

    class ChannelwiseLayerNorm(nn.Module):
        def __init__(self, channel_size):
            super().__init__()
            self.gamma = nn.Parameter(T.Tensor(1, channel_size, 1))
            self.beta = nn.Parameter(T.Tensor(1, channel_size, 1))
            self.reset_parameters()

        def reset_parameters(self):
            self.gamma.data.fill_(1)
            self.beta.data.zero_()

        def forward(self, y):
            mean = T.mean(y, dim=1, keepdim=True)
            var = T.var(y, dim=1, keepdim=True, unbiased=False)
            return self.gamma * (y - mean) / T.pow(var + EPS, 0.5) + self.beta

    class GlobalLayerNorm(ChannelwiseLayerNorm):
        def forward(self, y):
            mean = y.mean(dim=1, keepdim=True).mean(dim=2, keepdim=True)
            var = (T.pow(y - mean, 2)).mean(dim=1, keepdim=True).mean(dim=2, keepdim=True)
            return self.gamma * (y - mean) / T.pow(var + EPS, 0.5) + self.beta

    class DepthwiseSeparableConv(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation):
            super().__init__()
            depthwise_conv = nn.Conv1d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                                       dilation=dilation, groups=in_channels, bias=False)
            prelu = nn.PReLU()
            norm = GlobalLayerNorm(in_channels)
            pointwise_conv = nn.Conv1d(in_channels, out_channels, 1, bias=False)
            self.net = nn.Sequential(depthwise_conv, prelu, norm, pointwise_conv)

        def forward(self, x):
            return self.net(x)

    class TemporalBlock(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation):
            super().__init__()
            conv1x1 = nn.Conv1d(in_channels, out_channels, 1, bias=False)
            prelu = nn.PReLU(num_parameters=out_channels, init=0.2)
            norm = nn.GroupNorm(1, out_channels, eps=1e-8)
            dsconv = DepthwiseSeparableConv(out_channels, in_channels, kernel_size, stride, padding, dilation)
            self.net = nn.Sequential(conv1x1, prelu, norm, dsconv)

        def forward(self, x):
            return self.net(x) + x

    class ConvTasNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.L, self.N, self.C = L, N, C
            self.conv1d_U = nn.Conv1d(1, N, kernel_size=L, stride=L // 2, bias=False)
            blocks = []
            for r in range(R):
                for x in range(X):
                    dilation = 2 ** x
                    padding = (P - 1) * dilation // 2
                    blocks += [TemporalBlock(B, H, P, stride=1, padding=padding, dilation=dilation)]
            self.separator = nn.Sequential(ChannelwiseLayerNorm(N), nn.Conv1d(N, B, 1, bias=False),
                                           nn.Sequential(*blocks), nn.Conv1d(B, C * N, 1, bias=False))
            self.basis_signals = nn.Linear(N, L, bias=False)
            for p in self.parameters():
                if p.dim() > 1:
                    nn.init.xavier_normal_(p)

        def forward(self, mixture):
            mixture = T.unsqueeze(mixture, 1)
            mixture_w = F.relu(self.conv1d_U(mixture))
            M, N, K = mixture_w.size()
            score = self.separator(mixture_w).view(M, self.C, N, K)
            est_mask = F.softmax(score, dim=1)
            source_w = T.unsqueeze(mixture_w, 1) * est_mask
            source_w = T.transpose(source_w, 2, 3)
            est_source = self.basis_signals(source_w)
            est_source = _overlap_and_add(T, est_source, self.L // 2)
            T_origin = mixture.size(-1)
            T_conv = est_source.size(-1)
            return F.pad(est_source, (0, T_origin - T_conv))

    return ConvTasNet()


def _cal_si_snr_with_pit(T, source, estimate_source, source_lengths):
    """kaituoxu/Conv-TasNet's pit_criterion.cal_si_snr_with_pit."""
    from itertools import permutations
    EPS = 1e-8
    B, C, _ = source.size()
    mask = _get_mask(T, source, source_lengths)
    estimate_source = estimate_source * mask
    num_samples = source_lengths.view(-1, 1, 1).to(source.dtype)
    mean_target = T.sum(source, dim=2, keepdim=True) / num_samples
    mean_estimate = T.sum(estimate_source, dim=2, keepdim=True) / num_samples
    zero_mean_target = source - mean_target
    zero_mean_estimate = estimate_source - mean_estimate
    zero_mean_target *= mask
    zero_mean_estimate *= mask
    s_target = T.unsqueeze(zero_mean_target, dim=1)
    s_estimate = T.unsqueeze(zero_mean_estimate, dim=2)
    pair_wise_dot = T.sum(s_estimate * s_target, dim=3, keepdim=True)
    s_target_energy = T.sum(s_target ** 2, dim=3, keepdim=True) + EPS
    pair_wise_proj = pair_wise_dot * s_target / s_target_energy
    e_noise = s_estimate - pair_wise_proj
    pair_wise_si_snr = T.sum(pair_wise_proj ** 2, dim=3) / (T.sum(e_noise ** 2, dim=3) + EPS)
    pair_wise_si_snr = 10 * T.log10(pair_wise_si_snr + EPS)
    perms = source.new_tensor(list(permutations(range(C))), dtype=T.long)
    index = T.unsqueeze(perms, 2)
    perms_one_hot = source.new_zeros((*perms.size(), C)).scatter_(2, index, 1)
    snr_set = T.einsum('bij,pij->bp', [pair_wise_si_snr, perms_one_hot])
    max_snr_idx = T.argmax(snr_set, dim=1)
    max_snr, _ = T.max(snr_set, dim=1, keepdim=True)
    max_snr /= C
    return max_snr, perms, max_snr_idx


def _get_mask(T, source, source_lengths):
    B, _, Tn = source.size()
    mask = source.new_ones((B, 1, Tn))
    for i in range(B):
        mask[i, :, source_lengths[i]:] = 0
    return mask


def test_conv_tasnet_pit_si_snr():
    rng = np.random.default_rng(13)
    t = np.arange(64) / 64
    src = np.stack([np.stack([np.sin(2 * np.pi * 3 * t + p), np.sign(np.sin(2 * np.pi * 7 * t + p))])
                    for p in rng.uniform(0, 6, 2)])
    lengths = np.array([64, 50])

    def data(T):
        s = T.tensor(src)
        return s.sum(1), s, T.tensor(lengths)

    def step(T, m, batch):
        mixture, source, lengths = batch
        est = m(mixture)
        max_snr, perms, idx = _cal_si_snr_with_pit(T, source, est, lengths)
        loss = 0 - T.mean(max_snr)
        return loss, [est, max_snr, idx]

    def opt(T, p):
        return T.optim.Adam(p, lr=1e-3)


    _run(_conv_tasnet, data, step, steps=3, opt=opt, clip=5.0,
         sched=lambda T, o: T.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=0))


# ----------------------------------------------------------------------------- PatchTST (RevIN + patching)
def _patchtst(T, c_in=2, context=24, target=6, patch_len=6, stride=3, d_model=8, n_heads=2):
    nn = T.nn

    class RevIN(nn.Module):
        def __init__(self, num_features, eps=1e-5, affine=True, subtract_last=False):
            super().__init__()
            self.num_features, self.eps, self.affine, self.subtract_last = num_features, eps, affine, subtract_last
            if self.affine:
                self.affine_weight = nn.Parameter(T.ones(self.num_features))
                self.affine_bias = nn.Parameter(T.zeros(self.num_features))

        def forward(self, x, mode):
            if mode == 'norm':
                self._get_statistics(x)
                x = self._normalize(x)
            elif mode == 'denorm':
                x = self._denormalize(x)
            else:
                raise NotImplementedError
            return x

        def _get_statistics(self, x):
            dim2reduce = tuple(range(1, x.ndim - 1))
            if self.subtract_last:
                self.last = x[:, -1, :].unsqueeze(1)
            else:
                self.mean = T.mean(x, dim=dim2reduce, keepdim=True).detach()
            self.stdev = T.sqrt(T.var(x, dim=dim2reduce, keepdim=True, unbiased=False) + self.eps).detach()

        def _normalize(self, x):
            x = x - (self.last if self.subtract_last else self.mean)
            x = x / self.stdev
            if self.affine:
                x = x * self.affine_weight + self.affine_bias
            return x

        def _denormalize(self, x):
            if self.affine:
                x = x - self.affine_bias
                x = x / (self.affine_weight + self.eps * self.eps)
            x = x * self.stdev
            return x + (self.last if self.subtract_last else self.mean)

    class Transpose(nn.Module):
        def __init__(self, *dims, contiguous=False):
            super().__init__()
            self.dims, self.contiguous = dims, contiguous

        def forward(self, x):
            return x.transpose(*self.dims).contiguous() if self.contiguous else x.transpose(*self.dims)

    class PatchTST(nn.Module):
        def __init__(self):
            super().__init__()
            self.revin_layer = RevIN(c_in, subtract_last=False)
            self.padding_patch_layer = nn.ReplicationPad1d((0, stride))
            patch_num = int((context - patch_len) / stride + 1) + 1
            self.W_P = nn.Linear(patch_len, d_model)
            self.W_pos = nn.Parameter(T.empty(patch_num, d_model).uniform_(-0.02, 0.02))
            layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=16, dropout=0.0,
                                               activation="gelu", batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
            self.bn = nn.Sequential(Transpose(1, 2), nn.BatchNorm1d(d_model), Transpose(1, 2))
            self.flatten = nn.Flatten(start_dim=-2)
            self.head = nn.Linear(d_model * patch_num, target)

        def forward(self, z):  # z: [bs, seq_len, nvars]
            z = self.revin_layer(z, 'norm')
            z = z.permute(0, 2, 1)
            z = self.padding_patch_layer(z)
            z = z.unfold(dimension=-1, size=patch_len, step=stride)  # [bs, nvars, patch_num, patch_len]
            n_vars = z.shape[1]
            u = T.reshape(z, (z.shape[0] * z.shape[1], z.shape[2], z.shape[3]))
            u = self.W_P(u) + self.W_pos
            u = self.bn(self.encoder(u))
            zz = T.reshape(u, (-1, n_vars, u.shape[-2], u.shape[-1]))
            out = self.head(self.flatten(zz))  # [bs, nvars, target]
            return self.revin_layer(out.permute(0, 2, 1), 'denorm')

    return PatchTST()


def test_patchtst_revin_unfold_transformer():
    rng = np.random.default_rng(14)
    t = np.arange(30)[None, :, None]
    series = np.concatenate([np.sin(t / 2.0 + rng.uniform(0, 3, (4, 1, 1))) * 3 + 5,
                             0.2 * t + rng.standard_normal((4, 30, 1))], axis=-1)

    def data(T):
        s = T.tensor(series)
        return s[:, :24], s[:, 24:]

    def step(T, m, batch):
        pred = m(batch[0])
        return T.nn.functional.smooth_l1_loss(pred, batch[1], beta=0.5), [pred]

    def opt(T, p):
        return T.optim.Adam(p, lr=1e-3)

    def sched(T, o):
        return T.optim.lr_scheduler.OneCycleLR(o, max_lr=1e-2, steps_per_epoch=2, epochs=3, pct_start=0.3)

    _run(_patchtst, data, step, steps=3, opt=opt, sched=sched)


# ----------------------------------------------------------------------------- Temporal Fusion Transformer parts
def _tft(T, n_vars=3, hidden=8, heads=2, enc_len=8, dec_len=3):
    nn, F = T.nn, T.nn.functional

    class GatedLinearUnit(nn.Module):
        def __init__(self, input_size, hidden_size=None, dropout=None):
            super().__init__()
            self.dropout = nn.Dropout(dropout) if dropout is not None else dropout
            self.hidden_size = hidden_size or input_size
            self.fc = nn.Linear(input_size, self.hidden_size * 2)
            for n, p in self.named_parameters():
                if "bias" in n:
                    T.nn.init.zeros_(p)
                elif "fc" in n:
                    T.nn.init.xavier_uniform_(p)

        def forward(self, x):
            if self.dropout is not None:
                x = self.dropout(x)
            x = self.fc(x)
            return F.glu(x, dim=-1)

    class GateAddNorm(nn.Module):
        def __init__(self, input_size, hidden_size=None):
            super().__init__()
            hidden_size = hidden_size or input_size
            self.glu = GatedLinearUnit(input_size, hidden_size=hidden_size, dropout=0.0)
            self.norm = nn.LayerNorm(hidden_size)

        def forward(self, x, skip):
            return self.norm(self.glu(x) + skip)

    class GatedResidualNetwork(nn.Module):
        def __init__(self, input_size, hidden_size, output_size, context_size=None):
            super().__init__()
            self.resample = nn.Linear(input_size, output_size) if input_size != output_size else None
            self.fc1 = nn.Linear(input_size, hidden_size)
            self.elu = nn.ELU()
            if context_size is not None:
                self.context = nn.Linear(context_size, hidden_size, bias=False)
            self.fc2 = nn.Linear(hidden_size, hidden_size)
            self.gate_norm = GateAddNorm(hidden_size, output_size)
            for name, p in self.named_parameters():
                if "bias" in name:
                    T.nn.init.zeros_(p)
                elif "fc1" in name or "fc2" in name:
                    T.nn.init.kaiming_normal_(p, a=0, mode="fan_in", nonlinearity="leaky_relu")
                elif "context" in name:
                    T.nn.init.xavier_uniform_(p)

        def forward(self, x, context=None):
            residual = self.resample(x) if self.resample is not None else x
            x = self.fc1(x)
            if context is not None:
                x = x + self.context(context)
            x = self.elu(x)
            x = self.fc2(x)
            return self.gate_norm(x, residual)

    class VariableSelectionNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flattened_grn = GatedResidualNetwork(n_vars * hidden, hidden, n_vars)
            self.single_variable_grns = nn.ModuleDict({str(i): GatedResidualNetwork(1, hidden, hidden)
                                                       for i in range(n_vars)})
            self.softmax = nn.Softmax(dim=-1)

        def forward(self, x):
            var_outputs, embs = [], []
            for i in range(n_vars):
                emb = x[..., i:i + 1]
                embs.append(emb.expand(*emb.shape[:-1], hidden))
                var_outputs.append(self.single_variable_grns[str(i)](emb))
            var_outputs = T.stack(var_outputs, dim=-1)
            flat = T.cat(embs, dim=-1)
            sparse_weights = self.softmax(self.flattened_grn(flat)).unsqueeze(-2)
            return (var_outputs * sparse_weights).sum(dim=-1), sparse_weights

    class TFT(nn.Module):
        def __init__(self):
            super().__init__()
            self.vsn = VariableSelectionNetwork()
            self.lstm_encoder = nn.LSTM(hidden, hidden, batch_first=True)
            self.lstm_decoder = nn.LSTM(hidden, hidden, batch_first=True)
            self.post_lstm = GateAddNorm(hidden)
            self.attn = nn.MultiheadAttention(hidden, heads, dropout=0.0, batch_first=True)
            self.post_attn = GateAddNorm(hidden)
            self.pos_wise_ff = GatedResidualNetwork(hidden, hidden, hidden)
            self.output_layer = nn.Linear(hidden, 3)

        def forward(self, x):
            emb, w = self.vsn(x)
            enc, (h, c) = self.lstm_encoder(emb[:, :enc_len])
            dec, _ = self.lstm_decoder(emb[:, enc_len:], (h, c))
            lstm_out = self.post_lstm(T.cat([enc, dec], dim=1), emb)
            L = lstm_out.size(1)
            mask = T.triu(T.ones(L, L, dtype=T.bool), diagonal=1)
            attn_out, attn_w = self.attn(lstm_out[:, enc_len:], lstm_out, lstm_out, attn_mask=mask[enc_len:],
                                         average_attn_weights=False)
            out = self.post_attn(attn_out, lstm_out[:, enc_len:])
            out = self.pos_wise_ff(out)
            return self.output_layer(out), attn_w, w

    return TFT()


def test_temporal_fusion_transformer():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((4, 11, 3))
    y = rng.standard_normal((4, 3))

    def data(T):
        return T.tensor(x), T.tensor(y)

    def step(T, m, batch):
        pred, attn_w, w = m(batch[0])
        q = T.tensor([0.1, 0.5, 0.9])
        errors = batch[1].unsqueeze(-1) - pred
        loss = T.max((q - 1) * errors, q * errors).mean()
        return loss, [pred, attn_w, w]

    def opt(T, p):
        return T.optim.Adam(p, lr=3e-3)


    _run(_tft, data, step, steps=3, opt=opt, clip=0.1)


# ----------------------------------------------------------------------------- Informer
def _informer(T, c_in=3, d_model=8, n_heads=2, factor=2, seq_len=16, out_len=4, d_ff=12):
    nn, F = T.nn, T.nn.functional
    draws = np.random.default_rng(16)  # (torch.randint's draws of the sampled keys, shared by both frameworks)

    class PositionalEmbedding(nn.Module):
        def __init__(self, d_model, max_len=64):
            super().__init__()
            pe = T.zeros(max_len, d_model).float()
            pe.require_grad = False
            position = T.arange(0, max_len).float().unsqueeze(1)
            div_term = (T.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
            pe[:, 0::2] = T.sin(position * div_term)
            pe[:, 1::2] = T.cos(position * div_term)
            pe = pe.unsqueeze(0)
            self.register_buffer('pe', pe)

        def forward(self, x):
            return self.pe[:, :x.size(1)]

    class TokenEmbedding(nn.Module):
        def __init__(self, c_in, d_model):
            super().__init__()
            padding = 1  # (Informer's: 1 if torch.__version__ >= '1.5.0' else 2)
            self.tokenConv = nn.Conv1d(in_channels=c_in, out_channels=d_model, kernel_size=3, padding=padding,
                                       padding_mode='circular')
            for m in self.modules():
                if isinstance(m, nn.Conv1d):
                    nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='leaky_relu')

        def forward(self, x):
            return self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)

    class FixedEmbedding(nn.Module):
        def __init__(self, c_in, d_model):
            super().__init__()
            w = T.zeros(c_in, d_model).float()
            w.require_grad = False
            position = T.arange(0, c_in).float().unsqueeze(1)
            div_term = (T.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
            w[:, 0::2] = T.sin(position * div_term)
            w[:, 1::2] = T.cos(position * div_term)
            self.emb = nn.Embedding(c_in, d_model)
            self.emb.weight = nn.Parameter(w, requires_grad=False)

        def forward(self, x):
            return self.emb(x).detach()

    class DataEmbedding(nn.Module):
        def __init__(self):
            super().__init__()
            self.value_embedding = TokenEmbedding(c_in, d_model)
            self.position_embedding = PositionalEmbedding(d_model)
            self.hour_embed = FixedEmbedding(24, d_model)
            self.dropout = nn.Dropout(p=0.0)

        def forward(self, x, x_mark):
            x = self.value_embedding(x) + self.position_embedding(x) + self.hour_embed(x_mark[:, :, 0])
            return self.dropout(x)

    class ProbMask():
        def __init__(self, B, H, L, index, scores, device="cpu"):
            _mask = T.ones(L, scores.shape[-1], dtype=T.bool).to(device).triu(1)
            _mask_ex = _mask[None, None, :].expand(B, H, L, scores.shape[-1])
            indicator = _mask_ex[T.arange(B)[:, None, None], T.arange(H)[None, :, None], index, :].to(device)
            self._mask = indicator.view(scores.shape).to(device)

        @property
        def mask(self):
            return self._mask

    class ProbAttention(nn.Module):
        def __init__(self, mask_flag=True, factor=5, scale=None):
            super().__init__()
            self.factor, self.scale, self.mask_flag = factor, scale, mask_flag

        def _prob_QK(self, Q, K, sample_k, n_top):
            B, H, L_K, E = K.shape
            _, _, L_Q, _ = Q.shape
            K_expand = K.unsqueeze(-3).expand(B, H, L_Q, L_K, E)
            index_sample = T.tensor(draws.integers(0, L_K, (L_Q, sample_k)))
            K_sample = K_expand[:, :, T.arange(L_Q).unsqueeze(1), index_sample, :]
            Q_K_sample = T.matmul(Q.unsqueeze(-2), K_sample.transpose(-2, -1)).squeeze(-2)
            M = Q_K_sample.max(-1)[0] - T.div(Q_K_sample.sum(-1), L_K)
            M_top = M.topk(n_top, sorted=False)[1]
            Q_reduce = Q[T.arange(B)[:, None, None], T.arange(H)[None, :, None], M_top, :]
            Q_K = T.matmul(Q_reduce, K.transpose(-2, -1))
            return Q_K, M_top

        def _get_initial_context(self, V, L_Q):
            B, H, L_V, D = V.shape
            if not self.mask_flag:
                V_sum = V.mean(dim=-2)
                contex = V_sum.unsqueeze(-2).expand(B, H, L_Q, V_sum.shape[-1]).clone()
            else:
                assert L_Q == L_V
                contex = V.cumsum(dim=-2)
            return contex

        def _update_context(self, context_in, V, scores, index, L_Q):
            B, H, L_V, D = V.shape
            if self.mask_flag:
                attn_mask = ProbMask(B, H, L_Q, index, scores, device=V.device)
                scores.masked_fill_(attn_mask.mask, -np.inf)
            attn = T.softmax(scores, dim=-1)
            context_in[T.arange(B)[:, None, None], T.arange(H)[None, :, None], index, :] = \
                T.matmul(attn, V).type_as(context_in)
            return context_in

        def forward(self, queries, keys, values):
            B, L_Q, H, D = queries.shape
            _, L_K, _, _ = keys.shape
            queries = queries.transpose(2, 1)
            keys = keys.transpose(2, 1)
            values = values.transpose(2, 1)
            U_part = self.factor * np.ceil(np.log(L_K)).astype('int').item()
            u = self.factor * np.ceil(np.log(L_Q)).astype('int').item()
            U_part = U_part if U_part < L_K else L_K
            u = u if u < L_Q else L_Q
            scores_top, index = self._prob_QK(queries, keys, sample_k=U_part, n_top=u)
            scale = self.scale or 1. / math.sqrt(D)
            if scale is not None:
                scores_top = scores_top * scale
            context = self._get_initial_context(values, L_Q)
            context = self._update_context(context, values, scores_top, index, L_Q)
            return context.transpose(2, 1).contiguous()

    class AttentionLayer(nn.Module):
        def __init__(self, attention, mask_flag):
            super().__init__()
            d_keys = d_model // n_heads
            self.inner_attention = attention
            self.query_projection = nn.Linear(d_model, d_keys * n_heads)
            self.key_projection = nn.Linear(d_model, d_keys * n_heads)
            self.value_projection = nn.Linear(d_model, d_keys * n_heads)
            self.out_projection = nn.Linear(d_keys * n_heads, d_model)
            self.n_heads = n_heads

        def forward(self, queries, keys, values):
            B, L, _ = queries.shape
            _, S, _ = keys.shape
            H = self.n_heads
            queries = self.query_projection(queries).view(B, L, H, -1)
            keys = self.key_projection(keys).view(B, S, H, -1)
            values = self.value_projection(values).view(B, S, H, -1)
            out = self.inner_attention(queries, keys, values)
            return self.out_projection(out.view(B, L, -1))

    class ConvLayer(nn.Module):
        def __init__(self, c_in):
            super().__init__()
            self.downConv = nn.Conv1d(in_channels=c_in, out_channels=c_in, kernel_size=3, padding=1,
                                      padding_mode='circular')
            self.norm = nn.BatchNorm1d(c_in)
            self.activation = nn.ELU()
            self.maxPool = nn.MaxPool1d(kernel_size=3, stride=2, padding=1)

        def forward(self, x):
            x = self.downConv(x.permute(0, 2, 1))
            x = self.norm(x)
            x = self.activation(x)
            x = self.maxPool(x)
            return x.transpose(1, 2)

    class EncoderLayer(nn.Module):
        def __init__(self, attention):
            super().__init__()
            self.attention = attention
            self.conv1 = nn.Conv1d(in_channels=d_model, out_channels=d_ff, kernel_size=1)
            self.conv2 = nn.Conv1d(in_channels=d_ff, out_channels=d_model, kernel_size=1)
            self.norm1 = nn.LayerNorm(d_model)
            self.norm2 = nn.LayerNorm(d_model)
            self.activation = F.gelu

        def forward(self, x):
            x = x + self.attention(x, x, x)
            y = x = self.norm1(x)
            y = self.activation(self.conv1(y.transpose(-1, 1)))
            y = self.conv2(y).transpose(-1, 1)
            return self.norm2(x + y)

    class Informer(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc_embedding = DataEmbedding()
            self.layers = nn.ModuleList([EncoderLayer(AttentionLayer(ProbAttention(False, factor), False)),
                                         EncoderLayer(AttentionLayer(ProbAttention(False, factor), False))])
            self.conv_layers = nn.ModuleList([ConvLayer(d_model)])
            self.dec_attn = AttentionLayer(ProbAttention(True, factor), True)
            self.norm = nn.LayerNorm(d_model)
            self.projection = nn.Linear(d_model, c_in, bias=True)

        def forward(self, x_enc, x_mark_enc):
            x = self.enc_embedding(x_enc, x_mark_enc)
            x = self.conv_layers[0](self.layers[0](x))
            x = self.norm(self.layers[1](x))
            x = x + self.dec_attn(x, x, x)
            return self.projection(x)[:, -out_len:, :]

    return Informer()


def test_informer_probsparse_attention():
    rng = np.random.default_rng(17)
    x = rng.standard_normal((3, 16, 3))
    hours = (np.arange(16)[None, :, None] + np.array([0, 5, 9])[:, None, None]) % 24
    y = rng.standard_normal((3, 4, 3))

    def data(T):
        return T.tensor(x), T.tensor(hours), T.tensor(y)

    def step(T, m, batch):
        out = m(batch[0], batch[1])
        return T.nn.MSELoss()(out, batch[2]), [out]

    def opt(T, p):
        return T.optim.Adam(p, lr=1e-4)

    def sched(T, o):
        return T.optim.lr_scheduler.LambdaLR(o, lambda epoch: 0.5 ** ((epoch - 1) // 1))

    _run(_informer, data, step, steps=3, opt=opt, sched=sched)


# ----------------------------------------------------------------------------- DeepAR (likelihood heads)
def _deepar(T, n_cov=2, hidden=6, emb=3, n_series=4):
    nn, F = T.nn, T.nn.functional

    class DeepAR(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(n_series, emb)
            self.lstm = nn.LSTM(input_size=1 + n_cov + emb, hidden_size=hidden, num_layers=2, bias=True,
                                batch_first=False, dropout=0.0)
            for names in self.lstm._all_weights:
                for name in filter(lambda n: "bias" in n, names):
                    bias = getattr(self.lstm, name)
                    n = bias.size(0)
                    start, end = n // 4, n // 2
                    bias.data[start:end].fill_(1.)
            self.distribution_mu = nn.Linear(hidden * 2, 1)
            self.distribution_presigma = nn.Linear(hidden * 2, 1)
            self.distribution_sigma = nn.Softplus()
            self.nb_mu = nn.Linear(hidden * 2, 1)
            self.nb_alpha = nn.Linear(hidden * 2, 1)

        def forward(self, x, idx, hidden, cell):
            onehot_embed = self.embedding(idx)
            lstm_input = T.cat((x, onehot_embed), dim=2)
            output, (hidden, cell) = self.lstm(lstm_input, (hidden, cell))
            hidden_permute = hidden.permute(1, 2, 0).contiguous().view(hidden.shape[1], -1)
            pre_sigma = self.distribution_presigma(hidden_permute)
            mu = self.distribution_mu(hidden_permute)
            sigma = self.distribution_sigma(pre_sigma)
            nb_mu = F.softplus(self.nb_mu(hidden_permute))
            alpha = F.softplus(self.nb_alpha(hidden_permute)) + 1e-3
            return T.squeeze(mu), T.squeeze(sigma), nb_mu.squeeze(-1), alpha.squeeze(-1), hidden, cell

    return DeepAR()


def test_deepar_gaussian_and_negative_binomial_likelihoods():
    rng = np.random.default_rng(18)
    steps, batch = 6, 4
    z = np.abs(np.cumsum(rng.standard_normal((steps, batch)), 0)) + 0.5
    counts = np.floor(z * 2)
    cov = rng.standard_normal((steps, batch, 2))
    idx = np.arange(4)

    def data(T):
        return T.tensor(z), T.tensor(counts), T.tensor(cov), T.tensor(idx)

    def step(T, m, batch_):
        z, counts, cov, idx = batch_
        D = T.distributions
        hidden = T.zeros(2, z.shape[1], 6)
        cell = T.zeros(2, z.shape[1], 6)
        loss = T.zeros(1)
        outs = []
        for t in range(1, z.shape[0]):
            x = T.cat([z[t - 1].view(1, -1, 1), cov[t].unsqueeze(0)], dim=2)
            mu, sigma, nb_mu, alpha, hidden, cell = m(x, idx.unsqueeze(0), hidden, cell)
            zero_index = (z[t] != 0)
            normal = D.normal.Normal(mu[zero_index], sigma[zero_index])
            loss = loss - T.mean(normal.log_prob(z[t][zero_index]))
            # negative binomial as pytorch-forecasting's: total_count 1/alpha, probs mu alpha / (1 + mu alpha)
            r = 1.0 / alpha
            p = nb_mu * alpha / (1.0 + nb_mu * alpha)
            nb = D.NegativeBinomial(total_count=r, probs=p)
            loss = loss - nb.log_prob(counts[t]).mean()
            outs += [mu, sigma, normal.cdf(z[t]), nb.mean, nb.variance]
        return loss.squeeze(), outs

    def opt(T, p):
        return T.optim.Adam(p, lr=1e-3)

    def sched(T, o):
        warm = T.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=2)
        decay = T.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)
        return T.optim.lr_scheduler.SequentialLR(o, [warm, decay], milestones=[2])

    _run(_deepar, data, step, steps=4, opt=opt, sched=sched)


# ----------------------------------------------------------------------------- wav2vec 2.0 (pre-training loss)
def _wav2vec2(T, dim=8, codebook=4, groups=2, final=6):
    nn, F = T.nn, T.nn.functional
    # (fairseq's .float() casts, for half-precision training, are .double() here: float32 rounds differently in
    # the two frameworks, ~1e-7, and the comparison is in float64)

    class Fp32GroupNorm(nn.GroupNorm):
        def forward(self, input):
            output = F.group_norm(input.double(), self.num_groups, self.weight.double() if self.weight is not None
                                  else None, self.bias.double() if self.bias is not None else None, self.eps)
            return output.type_as(input)

    class ConvFeatureExtractionModel(nn.Module):
        def __init__(self, conv_layers=((6, 5, 3), (6, 3, 2), (dim, 2, 2))):
            super().__init__()

            def block(n_in, n_out, k, stride, is_group_norm=False):
                conv = nn.Conv1d(n_in, n_out, k, stride=stride, bias=False)
                nn.init.kaiming_normal_(conv.weight)
                if is_group_norm:
                    return nn.Sequential(conv, nn.Dropout(p=0.0), Fp32GroupNorm(n_out, n_out, affine=True),
                                         nn.GELU())
                return nn.Sequential(conv, nn.Dropout(p=0.0), nn.GELU())
            in_d = 1
            self.conv_layers = nn.ModuleList()
            for i, (d, k, s) in enumerate(conv_layers):
                self.conv_layers.append(block(in_d, d, k, s, is_group_norm=i == 0))
                in_d = d

        def forward(self, x):
            x = x.unsqueeze(1)
            for conv in self.conv_layers:
                x = conv(x)
            return x

    class SamePad(nn.Module):
        def __init__(self, kernel_size):
            super().__init__()
            self.remove = 1 if kernel_size % 2 == 0 else 0

        def forward(self, x):
            if self.remove > 0:
                x = x[:, :, : -self.remove]
            return x

    class GumbelVectorQuantizer(nn.Module):
        def __init__(self):
            super().__init__()
            self.groups, self.num_vars = groups, codebook
            var_dim = final // groups
            self.vars = nn.Parameter(T.FloatTensor(1, groups * codebook, var_dim))
            nn.init.uniform_(self.vars)
            self.weight_proj = nn.Linear(dim, groups * codebook)
            nn.init.normal_(self.weight_proj.weight, mean=0, std=1)
            nn.init.zeros_(self.weight_proj.bias)
            self.curr_temp = 2.0

        def forward(self, x):
            bsz, tsz, fsz = x.shape
            x = x.reshape(-1, fsz)
            x = self.weight_proj(x)
            x = x.view(bsz * tsz * self.groups, -1)
            _, k = x.max(-1)
            hard_x = x.new_zeros(*x.shape).scatter_(-1, k.view(-1, 1), 1.0).view(bsz * tsz, self.groups, -1)
            hard_probs = T.mean(hard_x.double(), dim=0)
            code_perplexity = T.exp(-T.sum(hard_probs * T.log(hard_probs + 1e-7), dim=-1)).sum()
            avg_probs = T.softmax(x.view(bsz * tsz, self.groups, -1).double(), dim=-1).mean(dim=0)
            prob_perplexity = T.exp(-T.sum(avg_probs * T.log(avg_probs + 1e-7), dim=-1)).sum()
            # (training: gumbel_softmax(hard=True); eval's deterministic straight-through stand-in here)
            x = hard_x.view(bsz * tsz, -1) + x.view(bsz * tsz, -1).softmax(-1) - \
                x.view(bsz * tsz, -1).softmax(-1).detach()
            x = x.unsqueeze(-1) * self.vars
            x = x.view(bsz * tsz, self.groups, self.num_vars, -1)
            x = x.sum(-2)
            return x.view(bsz, tsz, -1), code_perplexity, prob_perplexity

    class Wav2Vec2(nn.Module):
        def __init__(self):
            super().__init__()
            self.feature_extractor = ConvFeatureExtractionModel()
            self.layer_norm = nn.LayerNorm(dim)
            self.mask_emb = nn.Parameter(T.FloatTensor(dim).uniform_())
            pos_conv = nn.Conv1d(dim, dim, kernel_size=4, padding=2, groups=2)
            nn.init.normal_(pos_conv.weight, mean=0, std=math.sqrt(4 / (4 * dim)))
            nn.init.constant_(pos_conv.bias, 0)
            pos_conv = nn.utils.parametrizations.weight_norm(pos_conv, name="weight", dim=2)
            self.pos_conv = nn.Sequential(pos_conv, SamePad(4), nn.GELU())
            layer = nn.TransformerEncoderLayer(dim, 2, 16, dropout=0.0, activation="gelu", batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
            self.quantizer = GumbelVectorQuantizer()
            self.project_q = nn.Linear(final, final)
            self.final_proj = nn.Linear(dim, final)
            self.logit_temp = 0.1

        def compute_preds(self, x, y, negatives):
            neg_is_pos = (y == negatives).all(-1)
            y = y.unsqueeze(0)
            targets = T.cat([y, negatives], dim=0)
            logits = T.cosine_similarity(x.double(), targets.double(), dim=-1)
            logits = logits / self.logit_temp
            logits = logits.type_as(x)
            if neg_is_pos.any():
                logits[1:][neg_is_pos] = float("-inf")
            return logits

        def forward(self, source, mask_indices, neg_idxs):
            features = self.feature_extractor(source)
            features_pen = features.double().pow(2).mean()
            features = features.transpose(1, 2)
            features = self.layer_norm(features)
            unmasked_features = features.clone()
            x = features.clone()
            x[mask_indices] = self.mask_emb.to(x.dtype)
            x_conv = self.pos_conv(x.transpose(1, 2)).transpose(1, 2)
            x = self.encoder(x + x_conv)
            y = unmasked_features[mask_indices].view(unmasked_features.size(0), -1, unmasked_features.size(-1))
            q, code_ppl, prob_ppl = self.quantizer(y)
            y = self.project_q(q)
            bsz, num, fsz = y.shape
            negs = y.view(-1, fsz)[neg_idxs.view(-1)].view(bsz, num, -1, fsz).permute(2, 0, 1, 3)
            x = x[mask_indices].view(x.size(0), -1, x.size(-1))
            x = self.final_proj(x)
            logits = self.compute_preds(x, y, negs)
            return logits, features_pen, code_ppl, prob_ppl

    return Wav2Vec2()


def test_wav2vec2_contrastive_loss():
    rng = np.random.default_rng(19)
    wav = rng.standard_normal((2, 60))
    mask = np.zeros((2, 4), bool)  # (60 samples -> 4 frames)
    mask[:, [1, 3]] = True
    neg = np.array([[[1, 2], [0, 3]], [[3, 0], [2, 1]]])  # (bsz, num, n_negatives) indices into the 4 targets

    def data(T):
        return T.tensor(wav), T.tensor(mask), T.tensor(neg)

    def step(T, m, batch):
        logits, pen, code_ppl, prob_ppl = m(*batch)
        logits_ = logits.transpose(0, 2).reshape(-1, logits.size(0))
        target = logits_.new_zeros(logits_.size(0), dtype=T.long)
        loss = T.nn.functional.cross_entropy(logits_, target, reduction="sum")
        diversity = (m.quantizer.groups * m.quantizer.num_vars - prob_ppl) / (m.quantizer.groups *
                                                                             m.quantizer.num_vars)
        loss = loss + 0.1 * diversity * target.numel() + 10 * pen
        return loss, [logits, code_ppl, prob_ppl]

    def opt(T, p):
        return T.optim.AdamW(p, lr=5e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)

    def sched(T, o):
        return T.optim.lr_scheduler.PolynomialLR(o, total_iters=5, power=1.0)

    _run(_wav2vec2, data, step, steps=3, opt=opt, sched=sched)


# ----------------------------------------------------------------------------- Transformer TTS / ASR (ESPnet style)
def _transformer_asr(T, idim=9, odim=7, d_model=8, heads=2):
    nn, F = T.nn, T.nn.functional

    class Conv2dSubsampling(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.ReLU(), nn.Conv2d(2, 2, 3, 2), nn.ReLU())
            self.out = nn.Linear(2 * (((idim - 1) // 2 - 1) // 2), d_model)

        def forward(self, x, x_mask):
            x = x.unsqueeze(1)
            x = self.conv(x)
            b, c, t, f = x.size()
            x = self.out(x.transpose(1, 2).contiguous().view(b, t, c * f))
            return x * math.sqrt(d_model), x_mask[:, :, :-2:2][:, :, :-2:2]

    class ASR(nn.Module):
        def __init__(self):
            super().__init__()
            self.subsample = Conv2dSubsampling()
            self.embed = nn.Embedding(odim, d_model, padding_idx=0)
            self.transformer = nn.Transformer(d_model, heads, num_encoder_layers=1, num_decoder_layers=1,
                                              dim_feedforward=12, dropout=0.0, batch_first=True, norm_first=True)
            self.ctc_lo = nn.Linear(d_model, odim)
            self.output = nn.Linear(d_model, odim)

        def forward(self, xs, x_mask, ys_in, ys_pad_mask):
            h, h_mask = self.subsample(xs, x_mask)
            src_kpm = ~h_mask.squeeze(1)
            L = ys_in.size(1)
            tgt_mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=h.dtype)
            out = self.transformer(h, self.embed(ys_in), tgt_mask=tgt_mask, src_key_padding_mask=src_kpm,
                                   tgt_key_padding_mask=ys_pad_mask, memory_key_padding_mask=src_kpm,
                                   tgt_is_causal=True)
            memory = self.transformer.encoder(h, src_key_padding_mask=src_kpm)
            return self.output(out), F.log_softmax(self.ctc_lo(memory), dim=-1), (~src_kpm).sum(1)

    return ASR()


class _LabelSmoothingLoss:
    """ESPnet's LabelSmoothingLoss (KL divergence against a smoothed one-hot, padding ignored)."""
    def __init__(self, T, size, padding_idx, smoothing, normalize_length=False):
        self.T, self.size, self.padding_idx = T, size, padding_idx
        self.criterion = T.nn.KLDivLoss(reduction="none")
        self.confidence = 1.0 - smoothing
        self.smoothing = smoothing
        self.normalize_length = normalize_length

    def __call__(self, x, target):
        T = self.T
        batch_size = x.size(0)
        x = x.view(-1, self.size)
        target = target.view(-1)
        with T.no_grad():
            true_dist = x.clone()
            true_dist.fill_(self.smoothing / (self.size - 1))
            ignore = target == self.padding_idx
            total = len(target) - ignore.sum().item()
            target = target.masked_fill(ignore, 0)
            true_dist.scatter_(1, target.unsqueeze(1), self.confidence)
        kl = self.criterion(T.log_softmax(x, dim=1), true_dist)
        denom = total if self.normalize_length else batch_size
        return kl.masked_fill(ignore.unsqueeze(1), 0).sum() / denom


def test_transformer_asr_joint_ctc_attention_noam():
    rng = np.random.default_rng(20)
    feats = rng.standard_normal((2, 31, 9))
    flen = np.array([31, 19])
    x_mask = (np.arange(31)[None, :] < flen[:, None])[:, None, :]
    ys_in = np.array([[1, 3, 4, 2], [1, 5, 2, 0]])  # (<sos>=1 first; 0 pads)
    ys_out = np.array([[3, 4, 2, 6], [5, 2, 6, 0]])  # (<eos>=6 last)
    ylen = np.array([4, 3])

    def data(T):
        return (T.tensor(feats), T.tensor(x_mask), T.tensor(ys_in), T.tensor(ys_in == 0), T.tensor(ys_out),
                T.tensor(ylen))

    def step(T, m, batch):
        xs, xm, yi, ypm, yo, yl = batch
        dec, ctc_lp, hlens = m(xs, xm, yi, ypm)
        att = _LabelSmoothingLoss(T, 7, 0, 0.1)(dec, yo)
        ctc = T.nn.functional.ctc_loss(ctc_lp.transpose(0, 1), yo, hlens, yl, blank=0, reduction="sum",
                                       zero_infinity=True) / xs.size(0)
        loss = 0.3 * ctc + 0.7 * att
        acc = (dec.argmax(-1) == yo).masked_select(yo != 0).float().mean()
        return loss, [dec, ctc_lp, att, ctc, acc]

    def opt(T, p):
        return T.optim.Adam(p, lr=1.0, betas=(0.9, 0.98), eps=1e-9)

    def sched(T, o):  # ESPnet's Noam: d_model^-0.5 min(step^-0.5, step warmup^-1.5)
        return T.optim.lr_scheduler.LambdaLR(o, lambda s: 8 ** -0.5 * min((s + 1) ** -0.5, (s + 1) * 25 ** -1.5))

    _run(_transformer_asr, data, step, steps=3, opt=opt, sched=sched, clip=5.0)

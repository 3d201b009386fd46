"""Recurrent models over images and video, ported: each written once, as its authors write it, against a module
``T`` (torch or tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and data for a
few steps in float64; losses, outputs, every parameter's gradient and the final weights agree to ~1e-10. Random
draws (latent noise, location noise, sampling masks) are made outside, in numpy. Skipped without torch.

Programs: DRAW (encoder / decoder LSTMCells over glimpses, Gaussian read / write filterbanks built with arange and
exp, reparameterized latents, canvas accumulation, BCE with logits + KL, clipped Adam), the Recurrent Attention
Model (kevinzakka's retina: F.pad + per-sample slicing by long tensors, multi-scale avg-pooled crops; core RNN,
Normal location policy with log_prob, REINFORCE with a learned baseline, hybrid loss), PixelRNN's Row LSTM (masked
1xk input-to-state conv, 1-d state-to-state conv along rows) and Diagonal BiLSTM (skew / unskew by padding and
indexing) with a 256-way softmax, PredRNN-V2's spatiotemporal LSTM (zigzag memory, decoupling loss, reverse
scheduled sampling masks), a 2-d MDLSTM over a grid and a TrajGRU-lite ConvGRU video predictor warping its state
by F.grid_sample, the CRNN text recognizer (conv features -> BiLSTM -> CTC, greedy decoding), Slot Attention (GRUCell
iterations, layer norms, softmax over slots, a spatial broadcast decoder), an IODINE-lite iterative refinement
(autograd.grad of the ELBO fed to an LSTMCell), a recurrent spatial transformer (a GRUCell choosing each step's
affine glimpse: F.affine_grid + F.grid_sample, bilinear or bicubic, or trilinear over a video clip's volume).
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, rng as _rng, state as _state

pytestmark = pytest.mark.filterwarnings("ignore")


# ----------------------------------------------------------------------------------------------------------- DRAW
def draw(T, sd, xs, eps):
    """DRAW as in chenzhaomin123/draw_pytorch: LSTMCell encoder / decoder, read and write through Gaussian
    filterbanks (attn_window splits dec_linear's 5 outputs), sampleQ's reparameterization, the canvas c_t."""
    nn = T.nn
    F = T.nn.functional

    def align(x, y, start_dim=0):
        xd, yd = x.dim(), y.dim()
        if xd > yd:
            for i in range(xd - yd):
                y = y.unsqueeze(0)
        elif yd > xd:
            for i in range(yd - xd):
                x = x.unsqueeze(0)
        xs, ys = list(x.size()), list(y.size())
        nd = len(ys)
        for i in range(start_dim, nd):
            td = nd - i - 1
            if ys[td] == 1:
                ys[td] = xs[td]
            elif xs[td] == 1:
                xs[td] = ys[td]
        return x.expand(*xs), y.expand(*ys)

    class DrawModel(nn.Module):
        def __init__(self, T_, A, B, z_size, N, dec_size, enc_size):
            super(DrawModel, self).__init__()
            self.T, self.A, self.B, self.z_size, self.N = T_, A, B, z_size, N
            self.dec_size, self.enc_size = dec_size, enc_size
            self.cs = [0] * T_
            self.logsigmas, self.sigmas, self.mus = [0] * T_, [0] * T_, [0] * T_
            self.encoder = nn.LSTMCell(2 * N * N + dec_size, enc_size)
            self.mu_linear = nn.Linear(enc_size, z_size)
            self.sigma_linear = nn.Linear(enc_size, z_size)
            self.decoder = nn.LSTMCell(z_size, dec_size)
            self.dec_linear = nn.Linear(dec_size, 5)
            self.dec_w_linear = nn.Linear(dec_size, N * N)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x, noise):
            self.batch_size = x.size()[0]
            h_dec_prev = T.zeros(self.batch_size, self.dec_size)
            h_enc_prev = T.zeros(self.batch_size, self.enc_size)
            enc_state = T.zeros(self.batch_size, self.enc_size)
            dec_state = T.zeros(self.batch_size, self.dec_size)
            for t in range(self.T):
                c_prev = T.zeros(self.batch_size, self.A * self.B) if t == 0 else self.cs[t - 1]
                x_hat = x - self.sigmoid(c_prev)
                r_t = self.read(x, x_hat, h_dec_prev)
                h_enc_prev, enc_state = self.encoder(T.cat((r_t, h_dec_prev), 1), (h_enc_prev, enc_state))
                z, self.mus[t], self.logsigmas[t], self.sigmas[t] = self.sampleQ(h_enc_prev, noise[t])
                h_dec, dec_state = self.decoder(z, (h_dec_prev, dec_state))
                self.cs[t] = c_prev + self.write(h_dec)
                h_dec_prev = h_dec

        def loss(self, x, noise):
            self.forward(x, noise)
            Lx = F.binary_cross_entropy_with_logits(self.cs[-1], x) * self.A * self.B
            Lz = 0
            kl_terms = [0] * self.T
            for t in range(self.T):
                mu_2 = self.mus[t] * self.mus[t]
                sigma_2 = self.sigmas[t] * self.sigmas[t]
                logsigma = self.logsigmas[t]
                kl_terms[t] = 0.5 * T.sum(mu_2 + sigma_2 - 2 * logsigma, 1) - self.T * .5
                Lz += kl_terms[t]
            Lz = T.mean(Lz)
            return Lz + Lx

        def sampleQ(self, h_enc, e):
            mu = self.mu_linear(h_enc)
            log_sigma = self.sigma_linear(h_enc)
            sigma = T.exp(log_sigma)
            return mu + sigma * e, mu, log_sigma, sigma

        def write(self, h_dec=0):
            w = self.dec_w_linear(h_dec)
            w = w.view(self.batch_size, self.N, self.N)
            (Fx, Fy), gamma = self.attn_window(h_dec)
            Fyt = Fy.transpose(2, 1)
            wr = Fyt.bmm(w.bmm(Fx))
            wr = wr.view(self.batch_size, self.A * self.B)
            return wr / gamma.view(-1, 1).expand_as(wr)

        def read(self, x, x_hat, h_dec_prev):
            (Fx, Fy), gamma = self.attn_window(h_dec_prev)

            def filter_img(img, Fx, Fy, gamma, A, B, N):
                Fxt = Fx.transpose(2, 1)
                img = img.view(-1, B, A)
                glimpse = Fy.bmm(img.bmm(Fxt))
                glimpse = glimpse.view(-1, N * N)
                return glimpse * gamma.view(-1, 1).expand_as(glimpse)
            x = filter_img(x, Fx, Fy, gamma, self.A, self.B, self.N)
            x_hat = filter_img(x_hat, Fx, Fy, gamma, self.A, self.B, self.N)
            return T.cat((x, x_hat), 1)

        def attn_window(self, h_dec):
            params = self.dec_linear(h_dec)
            gx_, gy_, log_sigma_2, log_delta, log_gamma = params.split(1, 1)
            gx = (self.A + 1) / 2 * (gx_ + 1)
            gy = (self.B + 1) / 2 * (gy_ + 1)
            delta = (max(self.A, self.B) - 1) / (self.N - 1) * T.exp(log_delta)
            sigma2 = T.exp(log_sigma_2)
            gamma = T.exp(log_gamma)
            return self.filterbank(gx, gy, sigma2, delta), gamma

        def compute_mu(self, g, rng, delta):
            rng_t, delta_t = align(rng, delta)
            tmp = (rng_t - self.N / 2 - 0.5) * delta_t
            tmp_t, g_t = align(tmp, g)
            return tmp_t + g_t

        def filterbank(self, gx, gy, sigma2, delta):
            rng = T.arange(0, self.N).view(1, -1)
            mu_x = self.compute_mu(gx, rng, delta)
            mu_y = self.compute_mu(gy, rng, delta)
            a = T.arange(0, self.A).view(1, 1, -1)
            b = T.arange(0, self.B).view(1, 1, -1)
            mu_x = mu_x.view(-1, self.N, 1)
            mu_y = mu_y.view(-1, self.N, 1)
            sigma2 = sigma2.view(-1, 1, 1)
            Fx = self.filterbank_matrices(a, mu_x, sigma2)
            Fy = self.filterbank_matrices(b, mu_y, sigma2)
            return Fx, Fy

        def filterbank_matrices(self, a, mu_x, sigma2, epsilon=1e-9):
            t_a, t_mu_x = align(a, mu_x)
            temp = t_a - t_mu_x
            temp, t_sigma = align(temp, sigma2)
            temp = temp / (t_sigma * 2)
            F_ = T.exp(-T.pow(temp, 2))
            F_ = F_ / (F_.sum(2, True).expand_as(F_) + epsilon)
            return F_

    model = DrawModel(3, 6, 5, 4, 3, 7, 8)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.999))
    out = []
    for step, x in enumerate(xs):
        x = T.tensor(x)
        optimizer.zero_grad()
        loss = model.loss(x, [T.tensor(e) for e in eps[step]])
        loss.backward()
        norm = T.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        out += [loss, norm, T.sigmoid(model.cs[-1]), _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_draw_gaussian_attention_filterbanks(torch):
    rng = _rng(1)
    sd = draw(torch, None, None, None)
    xs = [(rng.uniform(size=(2, 30)) > 0.5).astype(float) for _ in range(3)]
    eps = [[rng.standard_normal((2, 4)) for _ in range(3)] for _ in range(3)]
    _compare(draw(tg, sd, xs, eps), draw(torch, sd, xs, eps))


# ------------------------------------------------------------------------------------------ recurrent attention
def ram(T, sd, xs, ys, noise):
    """kevinzakka/recurrent-visual-attention: retina (F.pad, per-sample crops sliced by long tensors, avg_pool2d
    of the larger scales), glimpse / core / location / action / baseline networks, REINFORCE with baseline."""
    nn = T.nn
    F = T.nn.functional

    class Retina:
        def __init__(self, g, k, s):
            self.g, self.k, self.s = g, k, s

        def foveate(self, x, l):
            phi = []
            size = self.g
            for i in range(self.k):
                phi.append(self.extract_patch(x, l, size))
                size = int(self.s * size)
            for i in range(1, len(phi)):
                k = phi[i].shape[-1] // self.g
                phi[i] = F.avg_pool2d(phi[i], k)
            phi = T.cat(phi, 1)
            phi = phi.view(phi.shape[0], -1)
            return phi

        def extract_patch(self, x, l, size):
            B, C, H, W = x.shape
            start = self.denormalize(H, l)
            end = start + size
            x = F.pad(x, (size // 2, size // 2, size // 2, size // 2))
            patches = []
            for i in range(B):
                patches.append(x[i, :, start[i, 1]:end[i, 1], start[i, 0]:end[i, 0]])
            return T.stack(patches)

        def denormalize(self, T_, coords):
            return (0.5 * ((coords + 1.0) * T_)).long()

    class GlimpseNetwork(nn.Module):
        def __init__(self, h_g, h_l, g, k, s, c):
            super().__init__()
            self.retina = Retina(g, k, s)
            D_in = k * g * g * c
            self.fc1 = nn.Linear(D_in, h_g)
            self.fc2 = nn.Linear(2, h_l)
            self.fc3 = nn.Linear(h_g, h_g + h_l)
            self.fc4 = nn.Linear(h_l, h_g + h_l)

        def forward(self, x, l_t_prev):
            phi = self.retina.foveate(x, l_t_prev)
            l_t_prev = l_t_prev.view(l_t_prev.size(0), -1)
            phi_out = F.relu(self.fc1(phi))
            l_out = F.relu(self.fc2(l_t_prev))
            what = self.fc3(phi_out)
            where = self.fc4(l_out)
            return F.relu(what + where)

    class CoreNetwork(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.i2h = nn.Linear(input_size, hidden_size)
            self.h2h = nn.Linear(hidden_size, hidden_size)

        def forward(self, g_t, h_t_prev):
            return F.relu(self.i2h(g_t) + self.h2h(h_t_prev))

    class LocationNetwork(nn.Module):
        def __init__(self, input_size, output_size, std):
            super().__init__()
            self.std = std
            hid_size = input_size // 2
            self.fc = nn.Linear(input_size, hid_size)
            self.fc_lt = nn.Linear(hid_size, output_size)

        def forward(self, h_t, e):
            feat = F.relu(self.fc(h_t.detach()))
            mu = T.tanh(self.fc_lt(feat))
            l_t = (mu + self.std * e).detach()  # (torch.distributions.Normal(mu, self.std).rsample(), detached)
            log_pi = T.distributions.Normal(mu, self.std).log_prob(l_t)
            log_pi = T.sum(log_pi, dim=1)
            l_t = T.clamp(l_t, -1, 1)
            return log_pi, l_t

    class RecurrentAttention(nn.Module):
        def __init__(self, g, k, s, c, h_g, h_l, std, hidden_size, num_classes):
            super().__init__()
            self.std = std
            self.sensor = GlimpseNetwork(h_g, h_l, g, k, s, c)
            self.rnn = CoreNetwork(hidden_size, hidden_size)
            self.locator = LocationNetwork(hidden_size, 2, std)
            self.classifier = nn.Linear(hidden_size, num_classes)
            self.baseliner = nn.Linear(hidden_size, 1)

        def forward(self, x, l_t_prev, h_t_prev, e, last=False):
            g_t = self.sensor(x, l_t_prev)
            h_t = self.rnn(g_t, h_t_prev)
            log_pi, l_t = self.locator(h_t, e)
            b_t = self.baseliner(h_t.detach()).squeeze()
            if last:
                return h_t, l_t, b_t, F.log_softmax(self.classifier(h_t), dim=1), log_pi
            return h_t, l_t, b_t, log_pi

    model = RecurrentAttention(2, 2, 2, 1, 6, 4, 0.05, 10, 3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=3e-3)
    out = []
    for step, (x, y) in enumerate(zip(xs, ys)):
        x, y = T.tensor(x), T.tensor(y)
        optimizer.zero_grad()
        h_t = T.zeros(x.shape[0], 10, requires_grad=True)
        l_t = T.tensor(noise[step][0])
        locs, log_pi, baselines = [], [], []
        num_glimpses = len(noise[step]) - 1
        for t in range(num_glimpses - 1):
            h_t, l_t, b_t, p = model(x, l_t, h_t, T.tensor(noise[step][t + 1]))
            locs.append(l_t[0:9])
            baselines.append(b_t)
            log_pi.append(p)
        h_t, l_t, b_t, log_probas, p = model(x, l_t, h_t, T.tensor(noise[step][-1]), last=True)
        log_pi.append(p)
        baselines.append(b_t)
        locs.append(l_t[0:9])
        baselines = T.stack(baselines).transpose(1, 0)
        log_pi = T.stack(log_pi).transpose(1, 0)
        predicted = T.max(log_probas, 1)[1]
        R = (predicted.detach() == y).float()
        R = R.unsqueeze(1).repeat(1, num_glimpses)
        loss_action = F.nll_loss(log_probas, y)
        loss_baseline = F.mse_loss(baselines, R)
        adjusted_reward = R - baselines.detach()
        loss_reinforce = T.sum(-log_pi * adjusted_reward, dim=1)
        loss_reinforce = T.mean(loss_reinforce, dim=0)
        loss = loss_action + loss_baseline + loss_reinforce * 0.01
        correct = (predicted == y).float()
        acc = 100 * (correct.sum() / len(y))
        loss.backward()
        out += [loss, acc, locs, log_pi, baselines, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_recurrent_attention_model_retina_and_reinforce(torch):
    rng = _rng(2)
    sd = ram(torch, None, None, None, None)
    xs = [rng.standard_normal((3, 1, 8, 8)) for _ in range(3)]
    ys = [rng.integers(0, 3, 3) for _ in range(3)]
    noise = [[rng.uniform(-0.9, 0.9, (3, 2))] + [rng.standard_normal((3, 2)) * 3 for _ in range(3)]
             for _ in range(3)]
    _compare(ram(tg, sd, xs, ys, noise), ram(torch, sd, xs, ys, noise))


# ------------------------------------------------------------------------------------------------------ PixelRNN
def pixel_rnn(T, sd, imgs, kind):
    """PixelRNN (van den Oord et al.) as its torch reimplementations write it: a 7x7 mask-A conv, then a Row LSTM
    (input-to-state a mask-B 1xk conv over the whole image, state-to-state a Conv1d along the previous row) or a
    Diagonal BiLSTM (the image skewed so diagonals are columns, an input-to-state 1x1 conv, a (2, 1) state-to-state
    conv down each column, unskewed; the right-to-left direction by flipping, shifted down one row), then mask-B
    1x1 convs to 256 logits per pixel and F.cross_entropy."""
    nn = T.nn
    F = T.nn.functional

    class MaskedConv2d(nn.Conv2d):
        def __init__(self, mask_type, *args, **kwargs):
            super(MaskedConv2d, self).__init__(*args, **kwargs)
            self.register_buffer('mask', self.weight.data.clone())
            _, _, kH, kW = self.weight.size()
            self.mask.fill_(1)
            self.mask[:, :, kH // 2, kW // 2 + (mask_type == 'B'):] = 0
            self.mask[:, :, kH // 2 + 1:] = 0

        def forward(self, x):
            self.weight.data *= self.mask
            return super(MaskedConv2d, self).forward(x)

    class RowLSTM(nn.Module):
        def __init__(self, in_ch, hidden, k=3):
            super().__init__()
            self.hidden = hidden
            self.i2s = MaskedConv2d('B', in_ch, 4 * hidden, (1, k), padding=(0, k // 2))
            self.s2s = nn.Conv1d(hidden, 4 * hidden, k, padding=k // 2)

        def forward(self, x):
            B, _, H, W = x.shape
            i2s = self.i2s(x)
            h = x.new_zeros(B, self.hidden, W)
            c = x.new_zeros(B, self.hidden, W)
            rows = []
            for r in range(H):
                gates = i2s[:, :, r] + self.s2s(h)
                o, f, i, g = gates.chunk(4, 1)
                c = T.sigmoid(f) * c + T.sigmoid(i) * T.tanh(g)
                h = T.sigmoid(o) * T.tanh(c)
                rows.append(h)
            return T.stack(rows, 2)

    def skew(x):
        B, C, H, W = x.shape
        return T.stack([F.pad(x[:, :, i], (i, H - 1 - i)) for i in range(H)], 2)

    def unskew(x):
        B, C, H, W2 = x.shape
        W = W2 - H + 1
        out = x.new_zeros(B, C, H, W)
        for i in range(H):
            out[:, :, i] = x[:, :, i, i:i + W]
        return out

    class DiagonalLSTM(nn.Module):
        def __init__(self, in_ch, hidden):
            super().__init__()
            self.hidden = hidden
            self.i2s = nn.Conv2d(in_ch, 4 * hidden, 1)
            self.s2s = nn.Conv2d(hidden, 4 * hidden, (2, 1), padding=(1, 0))

        def forward(self, x):
            x = skew(x)
            B, _, H, W = x.shape
            i2s = self.i2s(x)
            h = x.new_zeros(B, self.hidden, H, 1)
            c = x.new_zeros(B, self.hidden, H, 1)
            cols = []
            for j in range(W):
                s2s = self.s2s(h)[:, :, :-1]
                gates = i2s[:, :, :, j:j + 1] + s2s
                o, f, i, g = T.split(gates, self.hidden, dim=1)
                c = T.sigmoid(f) * c + T.sigmoid(i) * T.tanh(g)
                h = T.sigmoid(o) * T.tanh(c)
                cols.append(h)
            return unskew(T.cat(cols, 3))

    class DiagonalBiLSTM(nn.Module):
        def __init__(self, in_ch, hidden):
            super().__init__()
            self.fwd = DiagonalLSTM(in_ch, hidden)
            self.bwd = DiagonalLSTM(in_ch, hidden)

        def forward(self, x):
            left = self.fwd(x)
            right = self.bwd(x.flip(3)).flip(3)
            right = T.cat([T.zeros_like(right[:, :, :1]), right[:, :, :-1]], 2)
            return left + right

    class PixelRNN(nn.Module):
        def __init__(self, hidden=4, layers=2):
            super().__init__()
            self.conv_in = MaskedConv2d('A', 1, 2 * hidden, 7, padding=3)
            rnn = RowLSTM if kind == "row" else DiagonalBiLSTM
            self.rnns = nn.ModuleList([rnn(2 * hidden, hidden) for _ in range(layers)])
            self.res = nn.ModuleList([nn.Conv2d(hidden, 2 * hidden, 1) for _ in range(layers)])
            self.out = nn.Sequential(nn.ReLU(), MaskedConv2d('B', 2 * hidden, 8, 1), nn.ReLU(),
                                     MaskedConv2d('B', 8, 256, 1))

        def forward(self, x):
            x = self.conv_in(x)
            for rnn, res in zip(self.rnns, self.res):
                x = x + res(rnn(x))
            return self.out(x)

    model = PixelRNN()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.RMSprop(model.parameters(), lr=1e-3)
    out = []
    for img in imgs:
        target = T.tensor(img)
        x = target.double() / 255.
        logits = model(x)
        loss = F.cross_entropy(logits, target[:, 0])
        optimizer.zero_grad()
        loss.backward()
        T.nn.utils.clip_grad_value_(model.parameters(), 1.0)
        out += [loss, logits.argmax(1), _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


@pytest.mark.parametrize("kind", ["row", "diagonal"])
def test_pixel_rnn_row_lstm_and_diagonal_bilstm(torch, kind):
    rng = _rng(3)
    sd = pixel_rnn(torch, None, None, kind)
    imgs = [rng.integers(0, 256, (2, 1, 4, 5)) for _ in range(2)]
    _compare(pixel_rnn(tg, sd, imgs, kind), pixel_rnn(torch, sd, imgs, kind))


# ----------------------------------------------------------------------------------------------------- PredRNN
def predrnn(T, sd, frames, mask_true):
    """thuml/predrnn-pytorch's PredRNN-V2: SpatioTemporalLSTMCell (conv_x / conv_h / conv_m with LayerNorm, the
    memory M zigzagging up the layers and back to the bottom), the adapter's normalized delta_c / delta_m and the
    decoupling loss of their cosine similarities, reverse scheduled sampling with masks drawn in numpy."""
    nn = T.nn
    F = T.nn.functional

    class SpatioTemporalLSTMCell(nn.Module):
        def __init__(self, in_channel, num_hidden, width, filter_size, stride, layer_norm):
            super(SpatioTemporalLSTMCell, self).__init__()
            self.num_hidden = num_hidden
            self.padding = filter_size // 2
            self._forget_bias = 1.0
            if layer_norm:
                self.conv_x = nn.Sequential(
                    nn.Conv2d(in_channel, num_hidden * 7, kernel_size=filter_size, stride=stride,
                              padding=self.padding, bias=False),
                    nn.LayerNorm([num_hidden * 7, width, width]))
                self.conv_h = nn.Sequential(
                    nn.Conv2d(num_hidden, num_hidden * 4, kernel_size=filter_size, stride=stride,
                              padding=self.padding, bias=False),
                    nn.LayerNorm([num_hidden * 4, width, width]))
                self.conv_m = nn.Sequential(
                    nn.Conv2d(num_hidden, num_hidden * 3, kernel_size=filter_size, stride=stride,
                              padding=self.padding, bias=False),
                    nn.LayerNorm([num_hidden * 3, width, width]))
                self.conv_o = nn.Sequential(
                    nn.Conv2d(num_hidden * 2, num_hidden, kernel_size=filter_size, stride=stride,
                              padding=self.padding, bias=False),
                    nn.LayerNorm([num_hidden, width, width]))
            self.conv_last = nn.Conv2d(num_hidden * 2, num_hidden, kernel_size=1, stride=1, padding=0, bias=False)

        def forward(self, x_t, h_t, c_t, m_t):
            x_concat = self.conv_x(x_t)
            h_concat = self.conv_h(h_t)
            m_concat = self.conv_m(m_t)
            i_x, f_x, g_x, i_x_prime, f_x_prime, g_x_prime, o_x = T.split(x_concat, self.num_hidden, dim=1)
            i_h, f_h, g_h, o_h = T.split(h_concat, self.num_hidden, dim=1)
            i_m, f_m, g_m = T.split(m_concat, self.num_hidden, dim=1)
            i_t = T.sigmoid(i_x + i_h)
            f_t = T.sigmoid(f_x + f_h + self._forget_bias)
            g_t = T.tanh(g_x + g_h)
            delta_c = i_t * g_t
            c_new = f_t * c_t + delta_c
            i_t_prime = T.sigmoid(i_x_prime + i_m)
            f_t_prime = T.sigmoid(f_x_prime + f_m + self._forget_bias)
            g_t_prime = T.tanh(g_x_prime + g_m)
            delta_m = i_t_prime * g_t_prime
            m_new = f_t_prime * m_t + delta_m
            mem = T.cat((c_new, m_new), 1)
            o_t = T.sigmoid(o_x + o_h + self.conv_o(mem))
            h_new = o_t * T.tanh(self.conv_last(mem))
            return h_new, c_new, m_new, delta_c, delta_m

    class RNN(nn.Module):
        def __init__(self, num_layers, num_hidden, frame_channel, width):
            super(RNN, self).__init__()
            self.frame_channel = frame_channel
            self.num_layers = num_layers
            self.num_hidden = num_hidden
            cell_list = []
            for i in range(num_layers):
                in_channel = self.frame_channel if i == 0 else num_hidden[i - 1]
                cell_list.append(SpatioTemporalLSTMCell(in_channel, num_hidden[i], width, 3, 1, True))
            self.cell_list = nn.ModuleList(cell_list)
            self.conv_last = nn.Conv2d(num_hidden[num_layers - 1], self.frame_channel, kernel_size=1, stride=1,
                                       padding=0, bias=False)
            adapter_num_hidden = num_hidden[0]
            self.adapter = nn.Conv2d(adapter_num_hidden, adapter_num_hidden, 1, stride=1, padding=0, bias=False)
            self.MSE_criterion = nn.MSELoss()

        def forward(self, frames_tensor, mask_true):
            frames = frames_tensor.permute(0, 1, 4, 2, 3).contiguous()
            mask_true = mask_true.permute(0, 1, 4, 2, 3).contiguous()
            batch, height, width = frames.shape[0], frames.shape[3], frames.shape[4]
            next_frames, h_t, c_t, delta_c_list, delta_m_list, decouple_loss = [], [], [], [], [], []
            for i in range(self.num_layers):
                zeros = T.zeros([batch, self.num_hidden[i], height, width])
                h_t.append(zeros)
                c_t.append(zeros)
                delta_c_list.append(zeros)
                delta_m_list.append(zeros)
            memory = T.zeros([batch, self.num_hidden[0], height, width])
            x_gen = None
            for t in range(frames.shape[1] - 1):
                if t == 0:
                    net = frames[:, t]
                else:
                    net = mask_true[:, t - 1] * frames[:, t] + (1 - mask_true[:, t - 1]) * x_gen
                h_t[0], c_t[0], memory, delta_c, delta_m = self.cell_list[0](net, h_t[0], c_t[0], memory)
                delta_c_list[0] = F.normalize(self.adapter(delta_c).view(delta_c.shape[0], delta_c.shape[1], -1),
                                              dim=2)
                delta_m_list[0] = F.normalize(self.adapter(delta_m).view(delta_m.shape[0], delta_m.shape[1], -1),
                                              dim=2)
                for i in range(1, self.num_layers):
                    h_t[i], c_t[i], memory, delta_c, delta_m = self.cell_list[i](h_t[i - 1], h_t[i], c_t[i], memory)
                    delta_c_list[i] = F.normalize(
                        self.adapter(delta_c).view(delta_c.shape[0], delta_c.shape[1], -1), dim=2)
                    delta_m_list[i] = F.normalize(
                        self.adapter(delta_m).view(delta_m.shape[0], delta_m.shape[1], -1), dim=2)
                x_gen = self.conv_last(h_t[self.num_layers - 1])
                next_frames.append(x_gen)
                for i in range(0, self.num_layers):
                    decouple_loss.append(
                        T.mean(T.abs(T.cosine_similarity(delta_c_list[i], delta_m_list[i], dim=2))))
            decouple_loss = T.mean(T.stack(decouple_loss, dim=0))
            next_frames = T.stack(next_frames, dim=0).permute(1, 0, 3, 4, 2).contiguous()
            loss = self.MSE_criterion(next_frames, frames_tensor[:, 1:]) + 0.1 * decouple_loss
            return next_frames, loss

    network = RNN(2, [4, 4], 2, 4)
    if sd is None:
        return _state(network)
    _load(T, network, sd)
    optimizer = T.optim.Adam(network.parameters(), lr=1e-3)
    out = []
    for ims, mask in zip(frames, mask_true):
        optimizer.zero_grad()
        next_frames, loss = network(T.FloatTensor(ims).double(), T.FloatTensor(mask).double())
        loss.backward()
        optimizer.step()
        out += [next_frames, loss, _grads(network)]
    out.append(network.state_dict())
    return out


def _reserve_schedule_sampling_exp(itr, batch_size, rng, total_length=5, input_length=2, img=4, ch=2):
    """predrnn-pytorch's reserve_schedule_sampling_exp (its np.random draws from rng)."""
    r_sampling_step_1, r_sampling_step_2, r_exp_alpha = 3, 6, 5
    if itr < r_sampling_step_1:
        r_eta = 0.5
    elif itr < r_sampling_step_2:
        r_eta = 1.0 - 0.5 * np.exp(-float(itr - r_sampling_step_1) / r_exp_alpha)
    else:
        r_eta = 1.0
    eta = 0.5 if itr < r_sampling_step_1 else max(0.5 - (0.5 / (r_sampling_step_2 - r_sampling_step_1)) *
                                                  (itr - r_sampling_step_1), 0.0)
    r_true = rng.random((batch_size, input_length - 1)) < r_eta
    true = rng.random((batch_size, total_length - input_length - 1)) < eta
    ones, zeros = np.ones((img, img, ch)), np.zeros((img, img, ch))
    real_input_flag = []
    for i in range(batch_size):
        for j in range(total_length - 2):
            if j < input_length - 1:
                real_input_flag.append(ones if r_true[i, j] else zeros)
            else:
                real_input_flag.append(ones if true[i, j - (input_length - 1)] else zeros)
    return np.array(real_input_flag).reshape((batch_size, total_length - 2, img, img, ch))


def test_predrnn_v2_spatiotemporal_lstm_decoupling_loss(torch):
    rng = _rng(4)
    sd = predrnn(torch, None, None, None)
    frames = [rng.standard_normal((2, 5, 4, 4, 2)) for _ in range(3)]
    masks = [_reserve_schedule_sampling_exp(itr, 2, rng) for itr in (1, 4, 7)]
    _compare(predrnn(tg, sd, frames, masks), predrnn(torch, sd, frames, masks))


# --------------------------------------------------------------------------------------- MDLSTM and TrajGRU
def mdlstm(T, sd, xs, ys):
    """A 2-d (multi-dimensional) LSTM over a grid of patches: each cell gets the states from its left and from
    above, one forget gate for each; two scan directions by flipping; the last cells' states classify."""
    nn = T.nn
    F = T.nn.functional

    class MDLSTMCell(nn.Module):
        def __init__(self, in_ch, hidden):
            super().__init__()
            self.W = nn.Linear(in_ch, 5 * hidden)
            self.U_left = nn.Linear(hidden, 5 * hidden, bias=False)
            self.U_up = nn.Linear(hidden, 5 * hidden, bias=False)

        def forward(self, x, left, up):
            (h_l, c_l), (h_u, c_u) = left, up
            gates = self.W(x) + self.U_left(h_l) + self.U_up(h_u)
            i, f_l, f_u, o, g = gates.chunk(5, 1)
            c = T.sigmoid(f_l) * c_l + T.sigmoid(f_u) * c_u + T.sigmoid(i) * T.tanh(g)
            return T.sigmoid(o) * T.tanh(c), c

    class MDLSTM(nn.Module):
        def __init__(self, in_ch, hidden, n_dirs=2):
            super().__init__()
            self.hidden = hidden
            self.cells = nn.ModuleList([MDLSTMCell(in_ch, hidden) for _ in range(n_dirs)])

        def scan(self, cell, x):
            B, C, H, W = x.shape
            zero = (x.new_zeros(B, self.hidden), x.new_zeros(B, self.hidden))
            states = [[None] * W for _ in range(H)]
            for i in range(H):
                for j in range(W):
                    left = states[i][j - 1] if j > 0 else zero
                    up = states[i - 1][j] if i > 0 else zero
                    states[i][j] = cell(x[:, :, i, j], left, up)
            return T.stack([T.stack([s[0] for s in row], -1) for row in states], -2)

        def forward(self, x):
            outs = [self.scan(self.cells[0], x), self.scan(self.cells[1], x.flip(2, 3)).flip(2, 3)]
            return T.cat(outs, 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.md = MDLSTM(4, 3)
            self.fc = nn.Linear(6, 4)

        def forward(self, img):
            patches = F.unfold(img, 2, stride=2)  # (B, 4, L)
            grid = patches.view(img.shape[0], 4, img.shape[2] // 2, img.shape[3] // 2)
            h = self.md(grid)
            return self.fc(h.mean((2, 3)))

    model = Net()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    out = []
    for x, y in zip(xs, ys):
        logits = model(T.tensor(x))
        loss = F.cross_entropy(logits, T.tensor(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out += [logits, loss, _grads(model)]
    out.append(model.state_dict())
    return out


def test_mdlstm_two_dimensional_recurrence(torch):
    rng = _rng(5)
    sd = mdlstm(torch, None, None, None)
    xs = [rng.standard_normal((2, 1, 6, 4)) for _ in range(2)]
    ys = [rng.integers(0, 4, 2) for _ in range(2)]
    _compare(mdlstm(tg, sd, xs, ys), mdlstm(torch, sd, xs, ys))


def trajgru(T, sd, seqs):
    """Hzzone/Precipitation-Nowcasting's TrajGRU: a flow generator (i2f / h2f convs, LeakyReLU), the state warped
    by each of L flows through wrap() (a pixel grid plus the flow, normalized in place, F.grid_sample), the 1x1
    ret conv, the GRU gates; an encoder over the input frames and a forecaster run with inputs=None."""
    nn = T.nn
    F = T.nn.functional

    def wrap(input, flow):
        B, C, H, W = input.size()
        xx = T.arange(0, W).view(1, -1).repeat(H, 1)
        yy = T.arange(0, H).view(-1, 1).repeat(1, W)
        xx = xx.view(1, 1, H, W).repeat(B, 1, 1, 1)
        yy = yy.view(1, 1, H, W).repeat(B, 1, 1, 1)
        grid = T.cat((xx, yy), 1).float()
        vgrid = grid + flow
        vgrid[:, 0, :, :] = 2.0 * vgrid[:, 0, :, :] / max(W - 1, 1) - 1.0
        vgrid[:, 1, :, :] = 2.0 * vgrid[:, 1, :, :] / max(H - 1, 1) - 1.0
        vgrid = vgrid.permute(0, 2, 3, 1)
        return F.grid_sample(input, vgrid)

    class TrajGRU(nn.Module):
        def __init__(self, input_channel, num_filter, b_h_w, L=2):
            super().__init__()
            self._L = L
            self._num_filter = num_filter
            self._state_height, self._state_width = b_h_w[1], b_h_w[2]
            self._act_type = nn.LeakyReLU(negative_slope=0.2, inplace=True)
            self.i2h = nn.Conv2d(input_channel, num_filter * 3, 3, 1, 1)
            self.i2f_conv1 = nn.Conv2d(input_channel, 4, 5, 1, 2)
            self.h2f_conv1 = nn.Conv2d(num_filter, 4, 5, 1, 2)
            self.flows_conv = nn.Conv2d(4, L * 2, 5, 1, 2)
            self.ret = nn.Conv2d(num_filter * L, num_filter * 3, 1, 1)

        def _flow_generator(self, inputs, states):
            i2f_conv1 = self.i2f_conv1(inputs) if inputs is not None else None
            h2f_conv1 = self.h2f_conv1(states)
            f_conv1 = i2f_conv1 + h2f_conv1 if i2f_conv1 is not None else h2f_conv1
            f_conv1 = self._act_type(f_conv1)
            flows = self.flows_conv(f_conv1)
            return T.split(flows, 2, dim=1)

        def forward(self, inputs=None, states=None, seq_len=3):
            if states is None:
                states = T.zeros((inputs.size(1), self._num_filter, self._state_height, self._state_width))
            if inputs is not None:
                S, B, C, H, W = inputs.size()
                i2h = self.i2h(T.reshape(inputs, (-1, C, H, W)))
                i2h = T.reshape(i2h, (S, B, i2h.size(1), i2h.size(2), i2h.size(3)))
                i2h_slice = T.split(i2h, self._num_filter, dim=2)
            prev_h = states
            outputs = []
            for i in range(seq_len):
                flows = self._flow_generator(inputs[i, ...] if inputs is not None else None, prev_h)
                wrapped_data = []
                for j in range(len(flows)):
                    wrapped_data.append(wrap(prev_h, -flows[j]))
                wrapped_data = T.cat(wrapped_data, dim=1)
                h2h = self.ret(wrapped_data)
                h2h_slice = T.split(h2h, self._num_filter, dim=1)
                if inputs is not None:
                    reset_gate = T.sigmoid(i2h_slice[0][i, ...] + h2h_slice[0])
                    update_gate = T.sigmoid(i2h_slice[1][i, ...] + h2h_slice[1])
                    new_mem = self._act_type(i2h_slice[2][i, ...] + reset_gate * h2h_slice[2])
                else:
                    reset_gate = T.sigmoid(h2h_slice[0])
                    update_gate = T.sigmoid(h2h_slice[1])
                    new_mem = self._act_type(reset_gate * h2h_slice[2])
                next_h = update_gate * prev_h + (1 - update_gate) * new_mem
                outputs.append(next_h)
                prev_h = next_h
            return T.stack(outputs), next_h

    class EF(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = TrajGRU(1, 3, (2, 5, 6))
            self.forecaster = TrajGRU(1, 3, (2, 5, 6))
            self.head = nn.Conv2d(3, 1, 1)

        def forward(self, x):
            _, state = self.encoder(x, seq_len=x.shape[0])
            out, _ = self.forecaster(None, state, seq_len=2)
            S, B, C, H, W = out.shape
            return self.head(out.reshape(S * B, C, H, W)).reshape(S, B, 1, H, W)

    model = EF()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = T.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    out = []
    for seq in seqs:
        seq = T.tensor(seq)
        pred = model(seq[:3])
        loss = F.mse_loss(pred, seq[3:]) + F.l1_loss(pred, seq[3:])
        optimizer.zero_grad()
        loss.backward()
        T.nn.utils.clip_grad_value_(model.parameters(), clip_value=50.0)
        optimizer.step()
        scheduler.step()
        out += [pred, loss, _grads(model)]
    out.append(model.state_dict())
    return out


def test_trajgru_grid_sample_warping_encoder_forecaster(torch):
    rng = _rng(6)
    sd = trajgru(torch, None, None)
    seqs = [rng.standard_normal((5, 2, 1, 5, 6)) for _ in range(2)]
    _compare(trajgru(tg, sd, seqs), trajgru(torch, sd, seqs))


# ------------------------------------------------------------------------------------------------------- CRNN
def crnn(T, sd, imgs, texts):
    """meijieru/crnn.pytorch: convRelu blocks (one with BatchNorm2d), max pools down to height 1, squeeze and
    permute to (w, b, c), two BidirectionalLSTMs (nn.LSTM + a Linear on the flattened steps), CTCLoss over
    log_softmax, strLabelConverter's encode and greedy decode (collapse repeats, drop blanks); Adadelta."""
    nn = T.nn

    class BidirectionalLSTM(nn.Module):
        def __init__(self, nIn, nHidden, nOut):
            super(BidirectionalLSTM, self).__init__()
            self.rnn = nn.LSTM(nIn, nHidden, bidirectional=True)
            self.embedding = nn.Linear(nHidden * 2, nOut)

        def forward(self, input):
            recurrent, _ = self.rnn(input)
            T_, b, h = recurrent.size()
            t_rec = recurrent.view(T_ * b, h)
            output = self.embedding(t_rec)
            return output.view(T_, b, -1)

    class CRNN(nn.Module):
        def __init__(self, imgH, nc, nclass, nh, leakyRelu=False):
            super(CRNN, self).__init__()
            assert imgH % 8 == 0, 'imgH has to be a multiple of 8'
            ks, ps, ss, nm = [3, 3, 3], [1, 1, 1], [1, 1, 1], [4, 6, 6]
            cnn = nn.Sequential()

            def convRelu(i, batchNormalization=False):
                nIn = nc if i == 0 else nm[i - 1]
                nOut = nm[i]
                cnn.add_module('conv{0}'.format(i), nn.Conv2d(nIn, nOut, ks[i], ss[i], ps[i]))
                if batchNormalization:
                    cnn.add_module('batchnorm{0}'.format(i), nn.BatchNorm2d(nOut))
                if leakyRelu:
                    cnn.add_module('relu{0}'.format(i), nn.LeakyReLU(0.2, inplace=True))
                else:
                    cnn.add_module('relu{0}'.format(i), nn.ReLU(True))
            convRelu(0)
            cnn.add_module('pooling{0}'.format(0), nn.MaxPool2d(2, 2))
            convRelu(1)
            cnn.add_module('pooling{0}'.format(1), nn.MaxPool2d(2, 2))
            convRelu(2, True)
            cnn.add_module('pooling{0}'.format(2), nn.MaxPool2d((2, 2), (2, 1), (0, 1)))
            self.cnn = cnn
            self.rnn = nn.Sequential(BidirectionalLSTM(nm[-1], nh, nh), BidirectionalLSTM(nh, nh, nclass))

        def forward(self, input):
            conv = self.cnn(input)
            b, c, h, w = conv.size()
            assert h == 1, "the height of conv must be 1"
            conv = conv.squeeze(2)
            conv = conv.permute(2, 0, 1)
            return self.rnn(conv)

    alphabet = "abc"
    dict_ = {char: i + 1 for i, char in enumerate(alphabet)}

    def encode(text):
        length = [len(s) for s in text]
        text = [dict_[c] for s in text for c in s]
        return T.IntTensor(text), T.IntTensor(length)

    def decode(t, length, raw=False):
        if length.numel() == 1:
            length = length[0]
            if raw:
                return ''.join([alphabet[i - 1] for i in t])
            char_list = []
            for i in range(length):
                if t[i] != 0 and (not (i > 0 and t[i - 1] == t[i])):
                    char_list.append(alphabet[t[i] - 1])
            return ''.join(char_list)
        texts, index = [], 0
        for i in range(length.numel()):
            ln = length[i]
            texts.append(decode(t[index:index + ln], T.IntTensor([ln]), raw=raw))
            index += ln
        return texts

    model = CRNN(8, 1, len(alphabet) + 1, 5)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    criterion = nn.CTCLoss()
    optimizer = T.optim.Adadelta(model.parameters(), lr=1.0)
    out = []
    for img, text in zip(imgs, texts):
        image = T.tensor(img)
        batch_size = image.size(0)
        t, l = encode(text)
        preds = model(image)
        preds_size = T.IntTensor([preds.size(0)] * batch_size)
        cost = criterion(preds.log_softmax(2), t, preds_size, l) / batch_size
        model.zero_grad()
        cost.backward()
        optimizer.step()
        _, best = preds.max(2)
        best = best.transpose(1, 0).contiguous().view(-1)
        sim_preds = decode(best.data, preds_size.data, raw=False)
        raw_preds = decode(best.data, preds_size.data, raw=True)
        out += [preds, cost, _grads(model), _codes(sim_preds), _codes(raw_preds)]
    out.append(model.state_dict())
    return out


def _codes(texts):
    """Strings as arrays of code points (for ports.compare)."""
    return [np.array([ord(c) for c in s], dtype=np.int64) for s in texts]


def test_crnn_conv_bilstm_ctc_greedy_decoding(torch):
    rng = _rng(7)
    sd = crnn(torch, None, None, None)
    imgs = [rng.standard_normal((3, 1, 8, 12)) for _ in range(3)]
    texts = [["ab", "cca", "b"], ["a", "bc", "cab"], ["abc", "c", "ba"]]
    _compare(crnn(tg, sd, imgs, texts), crnn(torch, sd, imgs, texts))


# ---------------------------------------------------------------------------------- Slot Attention and IODINE
def slot_attention(T, sd, imgs, noise):
    """lucidrains/slot-attention's SlotAttention (slots_mu / slots_logsigma, norm_input / norm_slots /
    norm_pre_ff, softmax over the slots (dim=1) + eps and renormalization, einsum updates, GRUCell, residual MLP)
    inside google-research's autoencoder: SoftPositionEmbed over build_grid, spatial_broadcast, unstack_and_split,
    softmax of the alpha masks over slots, recombination, MSE; Adam with warmup and decay by LambdaLR."""
    nn = T.nn
    F = T.nn.functional

    class SlotAttention(nn.Module):
        def __init__(self, num_slots, dim, iters=3, eps=1e-8, hidden_dim=128):
            super().__init__()
            self.num_slots = num_slots
            self.iters = iters
            self.eps = eps
            self.scale = dim ** -0.5
            self.slots_mu = nn.Parameter(T.randn(1, 1, dim))
            self.slots_logsigma = nn.Parameter(T.zeros(1, 1, dim))
            nn.init.xavier_uniform_(self.slots_logsigma)
            self.to_q = nn.Linear(dim, dim)
            self.to_k = nn.Linear(dim, dim)
            self.to_v = nn.Linear(dim, dim)
            self.gru = nn.GRUCell(dim, dim)
            hidden_dim = max(dim, hidden_dim)
            self.mlp = nn.Sequential(nn.Linear(dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, dim))
            self.norm_input = nn.LayerNorm(dim)
            self.norm_slots = nn.LayerNorm(dim)
            self.norm_pre_ff = nn.LayerNorm(dim)

        def forward(self, inputs, randn, num_slots=None):
            b, _, d, device, dtype = *inputs.shape, inputs.device, inputs.dtype
            n_s = num_slots if num_slots is not None else self.num_slots
            mu = self.slots_mu.expand(b, n_s, -1)
            sigma = self.slots_logsigma.exp().expand(b, n_s, -1)
            slots = mu + sigma * randn.to(device=device, dtype=dtype)  # (torch.randn(mu.shape, ...))
            inputs = self.norm_input(inputs)
            k, v = self.to_k(inputs), self.to_v(inputs)
            for _ in range(self.iters):
                slots_prev = slots
                slots = self.norm_slots(slots)
                q = self.to_q(slots)
                dots = T.einsum('bid,bjd->bij', q, k) * self.scale
                attn = dots.softmax(dim=1) + self.eps
                attn = attn / attn.sum(dim=-1, keepdim=True)
                updates = T.einsum('bjd,bij->bid', v, attn)
                slots = self.gru(updates.reshape(-1, d), slots_prev.reshape(-1, d))
                slots = slots.reshape(b, -1, d)
                slots = slots + self.mlp(self.norm_pre_ff(slots))
            return slots, attn

    def build_grid(resolution):
        ranges = [np.linspace(0., 1., num=res) for res in resolution]
        grid = np.meshgrid(*ranges, sparse=False, indexing="ij")
        grid = np.stack(grid, axis=-1)
        grid = np.reshape(grid, [resolution[0], resolution[1], -1])
        grid = np.expand_dims(grid, axis=0)
        return T.from_numpy(np.concatenate([grid, 1.0 - grid], axis=-1))

    class SoftPositionEmbed(nn.Module):
        def __init__(self, hidden_size, resolution):
            super().__init__()
            self.embedding = nn.Linear(4, hidden_size, bias=True)
            self.register_buffer("grid", build_grid(resolution))

        def forward(self, inputs):
            return inputs + self.embedding(self.grid)

    class SlotAttentionAutoEncoder(nn.Module):
        def __init__(self, resolution, num_slots, num_iterations, hid_dim):
            super().__init__()
            self.resolution, self.num_slots, self.hid_dim = resolution, num_slots, hid_dim
            self.decoder_initial_size = resolution
            self.conv1 = nn.Conv2d(3, hid_dim, 3, padding=1)
            self.conv2 = nn.Conv2d(hid_dim, hid_dim, 3, padding=1)
            self.encoder_pos = SoftPositionEmbed(hid_dim, resolution)
            self.decoder_pos = SoftPositionEmbed(hid_dim, resolution)
            self.dconv1 = nn.ConvTranspose2d(hid_dim, hid_dim, 3, stride=1, padding=1)
            self.dconv2 = nn.ConvTranspose2d(hid_dim, 4, 3, stride=1, padding=1)
            self.layer_norm = nn.LayerNorm(hid_dim)
            self.fc1 = nn.Linear(hid_dim, hid_dim)
            self.fc2 = nn.Linear(hid_dim, hid_dim)
            self.slot_attention = SlotAttention(num_slots, hid_dim, num_iterations, eps=1e-8, hidden_dim=8)

        def forward(self, image, randn):
            x = F.relu(self.conv1(image))
            x = F.relu(self.conv2(x))
            x = x.permute(0, 2, 3, 1)
            x = self.encoder_pos(x)
            x = T.flatten(x, 1, 2)
            x = self.fc2(F.relu(self.fc1(self.layer_norm(x))))
            slots, attn = self.slot_attention(x, randn)
            # spatial_broadcast
            slots_b = slots.reshape((-1, slots.shape[-1])).unsqueeze(1).unsqueeze(2)
            slots_b = slots_b.repeat((1, self.decoder_initial_size[0], self.decoder_initial_size[1], 1))
            x = self.decoder_pos(slots_b)
            x = x.permute(0, 3, 1, 2)
            x = F.relu(self.dconv1(x))
            x = self.dconv2(x)
            x = x.permute(0, 2, 3, 1)
            # unstack_and_split
            x = x.reshape(image.shape[0], -1, x.shape[1], x.shape[2], x.shape[3])
            recons, masks = x.split([3, 1], dim=-1)
            masks = nn.Softmax(dim=1)(masks)
            recon_combined = T.sum(recons * masks, dim=1)
            recon_combined = recon_combined.permute(0, 3, 1, 2)
            return recon_combined, recons, masks, slots, attn

    model = SlotAttentionAutoEncoder((4, 4), 3, 2, 6)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    criterion = nn.MSELoss()
    optimizer = T.optim.Adam(model.parameters(), lr=4e-3)
    warmup, decay_steps = 2, 10

    def lr_lambda(step):
        factor = (step + 1) / warmup if step < warmup else 1.0
        return factor * 0.5 ** (step / decay_steps)
    scheduler = T.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    out = []
    for image, randn in zip(imgs, noise):
        image = T.tensor(image)
        recon_combined, recons, masks, slots, attn = model(image, T.tensor(randn))
        loss = criterion(recon_combined, image)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        out += [recon_combined, masks, attn, loss, _grads(model), scheduler.get_last_lr()]
    out.append(model.state_dict())
    return out


def test_slot_attention_autoencoder(torch):
    rng = _rng(8)
    sd = slot_attention(torch, None, None, None)
    imgs = [rng.uniform(-1, 1, (2, 3, 4, 4)) for _ in range(3)]
    noise = [rng.standard_normal((2, 3, 6)) for _ in range(3)]
    _compare(slot_attention(tg, sd, imgs, noise), slot_attention(torch, sd, imgs, noise))


def iodine(T, sd, imgs, noise):
    """IODINE-lite (Greff et al.): per-slot posterior parameters lambda refined K times by an LSTMCell fed the
    encoded image, the current lambda, and the (layer-normed, detached) gradient of the ELBO with respect to
    lambda from torch.autograd.grad(retain_graph=True); a broadcast decoder's mixture of Gaussians with masks
    softmaxed over slots, the KL to N(0, 1), the iterations' losses weighted increasingly."""
    nn = T.nn
    F = T.nn.functional

    class IODINE(nn.Module):
        def __init__(self, K=2, z=3, hw=(3, 3), iters=3, hidden=8, sigma=0.1):
            super().__init__()
            self.K, self.z, self.hw, self.iters, self.sigma = K, z, hw, iters, sigma
            self.lambda0 = nn.Parameter(T.zeros(1, 1, 2 * z))
            self.dec = nn.Sequential(nn.Conv2d(z + 2, hidden, 1), nn.ELU(), nn.Conv2d(hidden, 4, 1))
            self.enc = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ELU())
            self.refine_in = nn.Linear(4 + 4 * z, hidden)
            self.lstm = nn.LSTMCell(hidden, hidden)
            self.refine_out = nn.Linear(hidden, 2 * z)
            self.ln = nn.LayerNorm(2 * z, elementwise_affine=False)
            ys = T.linspace(-1, 1, hw[0])
            xs = T.linspace(-1, 1, hw[1])
            gy, gx = T.meshgrid(ys, xs, indexing="ij")
            self.register_buffer("coords", T.stack([gy, gx], 0))

        def decode(self, zs):
            B, K, D = zs.shape
            zb = zs.reshape(B * K, D, 1, 1).expand(-1, -1, *self.hw)
            coords = self.coords.unsqueeze(0).expand(B * K, -1, -1, -1)
            out = self.dec(T.cat([zb, coords], 1)).view(B, K, 4, *self.hw)
            return out[:, :, :3], out[:, :, 3:]

        def elbo(self, x, lam, eps):
            mu, logvar = lam.chunk(2, -1)
            zs = mu + T.exp(0.5 * logvar) * eps
            means, mask_logits = self.decode(zs)
            masks = F.softmax(mask_logits, dim=1)
            log_px = T.distributions.Normal(means, self.sigma).log_prob(x.unsqueeze(1))
            nll = -T.logsumexp(T.log(masks + 1e-12) + log_px, dim=1).sum((1, 2, 3))
            kl = -0.5 * T.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=(1, 2))
            return (nll + kl).mean(), means, masks

        def forward(self, x, eps):
            B = x.shape[0]
            lam = self.lambda0.expand(B, self.K, -1)
            h = x.new_zeros(B * self.K, self.lstm.hidden_size)
            c = x.new_zeros(B * self.K, self.lstm.hidden_size)
            feat = self.enc(x).mean((2, 3)).unsqueeze(1).expand(-1, self.K, -1)
            total = 0
            for t in range(self.iters):
                loss, means, masks = self.elbo(x, lam, eps[t])
                total = total + (t + 1) / self.iters * loss
                grad, = T.autograd.grad(loss, lam, retain_graph=True)
                inp = T.cat([feat, lam, self.ln(grad.detach())], -1)
                inp = F.elu(self.refine_in(inp)).reshape(B * self.K, -1)
                h, c = self.lstm(inp, (h, c))
                lam = lam + self.refine_out(h).view(B, self.K, -1)
            loss, means, masks = self.elbo(x, lam, eps[self.iters])
            total = total + loss
            return total, means, masks

    model = IODINE()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=3e-3)
    out = []
    for x, eps in zip(imgs, noise):
        loss, means, masks = model(T.tensor(x), [T.tensor(e) for e in eps])
        optimizer.zero_grad()
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), 5.0, norm_type=2)
        optimizer.step()
        out += [loss, means, masks, _grads(model)]
    out.append(model.state_dict())
    return out


def test_iodine_lite_iterative_amortized_refinement(torch):
    rng = _rng(9)
    sd = iodine(torch, None, None, None)
    imgs = [rng.uniform(0, 1, (2, 3, 3, 3)) for _ in range(2)]
    noise = [[rng.standard_normal((2, 2, 3)) for _ in range(4)] for _ in range(2)]
    _compare(iodine(tg, sd, imgs, noise), iodine(torch, sd, imgs, noise))


# ------------------------------------------------------------------------------ recurrent spatial transformer
def recurrent_stn(T, sd, xs, ys, kind):
    """A recurrent spatial transformer (Sonderby et al. 2015, after the PyTorch STN tutorial's localization net):
    each step a GRUCell reads the localization features and its fc_loc (zero weight, identity bias, as the tutorial
    initializes it) gives theta; F.affine_grid + F.grid_sample take the glimpse ('bilinear' or 'bicubic', border
    padding), classified at every step; kind 'volume': a clip (N, C, T, H, W), Conv3d features, 3 x 4 thetas and a
    trilinear 5-d grid_sample."""
    nn = T.nn
    F = T.nn.functional
    vol = kind == "volume"

    class RecurrentSTN(nn.Module):
        def __init__(self, steps=3, hidden=6, glimpse=(3, 3), n_classes=3):
            super().__init__()
            self.steps, self.glimpse = steps, glimpse
            Conv, Pool = (nn.Conv3d, nn.MaxPool3d) if vol else (nn.Conv2d, nn.MaxPool2d)
            self.localization = nn.Sequential(Conv(1, 3, kernel_size=3, padding=1), Pool(2, stride=2), nn.ReLU(True))
            self.gru = nn.GRUCell(3 * (8 if vol else 4), hidden)
            self.fc_loc = nn.Linear(hidden, 12 if vol else 6)
            self.fc_loc.weight.data.zero_()
            identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0] if vol else [1, 0, 0, 0, 1, 0]
            self.fc_loc.bias.data.copy_(T.tensor(identity, dtype=T.float))
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(glimpse), n_classes))

        def forward(self, x):
            h = x.new_zeros(x.size(0), self.gru.hidden_size)
            xs = self.localization(x)
            xs = F.adaptive_avg_pool3d(xs, 2) if vol else F.adaptive_avg_pool2d(xs, 2)
            xs = xs.view(x.size(0), -1)
            logits = []
            for t in range(self.steps):
                h = self.gru(xs, h)
                theta = self.fc_loc(h).view(-1, 3, 4) if vol else self.fc_loc(h).view(-1, 2, 3)
                grid = F.affine_grid(theta, (x.size(0), 1) + self.glimpse, align_corners=False)
                g = F.grid_sample(x, grid, mode="bilinear" if vol else kind, padding_mode="border",
                                  align_corners=False)
                logits.append(self.classifier(g))
            return T.stack(logits, 1)

    model = RecurrentSTN(glimpse=(2, 3, 3) if vol else (3, 3))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    out = []
    for x, y in zip(xs, ys):
        logits = model(T.tensor(x))
        target = T.tensor(y).unsqueeze(1).expand(-1, logits.shape[1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out += [logits, loss, _grads(model)]
    out.append(model.state_dict())
    return out


@pytest.mark.parametrize("kind", ["bilinear", "bicubic", "volume"])
def test_recurrent_spatial_transformer_glimpses(torch, kind):
    rng = _rng(10)
    sd = recurrent_stn(torch, None, None, None, kind)
    shape = (2, 1, 4, 4, 4) if kind == "volume" else (2, 1, 4, 4)
    xs = [rng.standard_normal(shape) for _ in range(3)]
    ys = [rng.integers(0, 3, 2) for _ in range(3)]
    _compare(recurrent_stn(tg, sd, xs, ys, kind), recurrent_stn(torch, sd, xs, ys, kind))

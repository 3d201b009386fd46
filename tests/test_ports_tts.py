"""Speech-synthesis programs, ported: each written once, as its authors write it, against a module ``T`` (torch or
tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and data for a few steps in
float64; losses, outputs, gradients and final weights agree to ~1e-10. Noise is drawn in numpy and passed in.
Skipped without torch.

Programs: FastSpeech 2 (FFT-block encoder with key padding masks, the variance adaptor's duration / pitch /
energy predictors with Conv1d + LayerNorm on transposed inputs, bucketize of pitch and energy into embedded bins,
the length regulator by repeat_interleave and padding, masked MSE / L1 losses by masked_select); WaveGlow
(squeeze to groups by unfold / permute, the invertible 1x1 conv with logdet and a cached inverse, WN layers with a
torch.jit.script fused_add_tanh_sigmoid_multiply, early outputs, the loss, inference); DiffWave (dilated residual
layers, the diffusion-step embedding, the conditioner upsampled by ConvTranspose2d, the training loss and reverse
steps with given noise); LPCNet-lite (the frame-rate network, GRU-A on embedded mu-law inputs, the dual FC output,
block sparsification of weight_hh in no_grad); Glow-TTS (monotonic alignment search in numpy, data-dependent
ActNorm, the grouped invertible 1x1 conv, speaker-conditioned WN coupling, MLE and duration losses, generation);
torchaudio's Griffin-Lim (stft / istft rounds with momentum, the gradient through the loop); VITS's posterior
encoder, residual-coupling flow (forward and reverse) and KL with the prior.
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, rng as _rng, state as _state

# (the authors' old APIs: torch's and ours warn alike, torch.jit.script's deprecation and the old weight_norm's)
pytestmark = [pytest.mark.filterwarnings("ignore:.torch.jit.script. is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:.torch.nn.utils.weight_norm. is deprecated:FutureWarning")]


# ------------------------------------------------------------------------------------------------------ FastSpeech 2
def fastspeech2(T, sd, batches):
    """ming024/FastSpeech2: an FFT-block encoder (multi-head self-attention masked by key padding, a conv1d
    position-wise FFN on transposed inputs), the variance adaptor (VariancePredictor: Conv1d -> ReLU -> LayerNorm
    on (B, T, C) by transposes, masked_fill of padded positions; pitch / energy quantized by torch.bucketize into
    embedded bins), the LengthRegulator (repeat_interleave by durations, padded to the batch's max length), the
    FastSpeech2Loss (masked_select of mel / pitch / energy / log-duration, MSE and L1); Adam."""
    nn, F = T.nn, T.nn.functional
    d, n_bins, n_mel = 8, 4, 5

    def get_mask_from_lengths(lengths, max_len=None):
        batch_size = lengths.shape[0]
        if max_len is None:
            max_len = T.max(lengths).item()
        ids = T.arange(0, max_len).unsqueeze(0).expand(batch_size, -1)
        return ids >= lengths.unsqueeze(1).expand(-1, max_len)

    def pad(input_ele, mel_max_length=None):
        max_len = mel_max_length if mel_max_length else max([input_ele[i].size(0) for i in range(len(input_ele))])
        out_list = list()
        for i, batch in enumerate(input_ele):
            if len(batch.shape) == 1:
                one_batch_padded = F.pad(batch, (0, max_len - batch.size(0)), "constant", 0.0)
            elif len(batch.shape) == 2:
                one_batch_padded = F.pad(batch, (0, 0, 0, max_len - batch.size(0)), "constant", 0.0)
            out_list.append(one_batch_padded)
        return T.stack(out_list)

    class MultiHeadAttention(nn.Module):
        def __init__(self, n_head, d_model, d_k):
            super().__init__()
            self.n_head, self.d_k = n_head, d_k
            self.w_qs = nn.Linear(d_model, n_head * d_k)
            self.w_ks = nn.Linear(d_model, n_head * d_k)
            self.w_vs = nn.Linear(d_model, n_head * d_k)
            self.layer_norm = nn.LayerNorm(d_model)
            self.fc = nn.Linear(n_head * d_k, d_model)

        def forward(self, q, k, v, mask=None):
            d_k, n_head = self.d_k, self.n_head
            sz_b, len_q, _ = q.size()
            residual = q
            q = self.w_qs(q).view(sz_b, len_q, n_head, d_k)
            k = self.w_ks(k).view(sz_b, len_q, n_head, d_k)
            v = self.w_vs(v).view(sz_b, len_q, n_head, d_k)
            q = q.permute(2, 0, 1, 3).contiguous().view(-1, len_q, d_k)
            k = k.permute(2, 0, 1, 3).contiguous().view(-1, len_q, d_k)
            v = v.permute(2, 0, 1, 3).contiguous().view(-1, len_q, d_k)
            mask = mask.repeat(n_head, 1, 1)
            attn = T.bmm(q, k.transpose(1, 2)) / np.power(d_k, 0.5)
            attn = attn.masked_fill(mask, -np.inf)
            attn = T.softmax(attn, dim=2)
            output = T.bmm(attn, v)
            output = output.view(n_head, sz_b, len_q, d_k)
            output = output.permute(1, 2, 0, 3).contiguous().view(sz_b, len_q, -1)
            output = self.layer_norm(self.fc(output) + residual)
            return output, attn

    class PositionwiseFeedForward(nn.Module):
        def __init__(self, d_in, d_hid, kernel_size):
            super().__init__()
            self.w_1 = nn.Conv1d(d_in, d_hid, kernel_size=kernel_size[0], padding=(kernel_size[0] - 1) // 2)
            self.w_2 = nn.Conv1d(d_hid, d_in, kernel_size=kernel_size[1], padding=(kernel_size[1] - 1) // 2)
            self.layer_norm = nn.LayerNorm(d_in)

        def forward(self, x):
            residual = x
            output = x.transpose(1, 2)
            output = self.w_2(F.relu(self.w_1(output)))
            output = output.transpose(1, 2)
            return self.layer_norm(output + residual)

    class FFTBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.slf_attn = MultiHeadAttention(2, d, d // 2)
            self.pos_ffn = PositionwiseFeedForward(d, 12, (3, 1))

        def forward(self, enc_input, mask=None, slf_attn_mask=None):
            enc_output, enc_slf_attn = self.slf_attn(enc_input, enc_input, enc_input, mask=slf_attn_mask)
            enc_output = enc_output.masked_fill(mask.unsqueeze(-1), 0)
            enc_output = self.pos_ffn(enc_output)
            enc_output = enc_output.masked_fill(mask.unsqueeze(-1), 0)
            return enc_output, enc_slf_attn

    def get_sinusoid_encoding_table(n_position, d_hid):
        def cal_angle(position, hid_idx):
            return position / np.power(10000, 2 * (hid_idx // 2) / d_hid)
        table = np.array([[cal_angle(p, j) for j in range(d_hid)] for p in range(n_position)])
        table[:, 0::2] = np.sin(table[:, 0::2])
        table[:, 1::2] = np.cos(table[:, 1::2])
        return T.FloatTensor(table)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_word_emb = nn.Embedding(10, d, padding_idx=0)
            self.position_enc = nn.Parameter(get_sinusoid_encoding_table(20, d).unsqueeze(0), requires_grad=False)
            self.layer_stack = nn.ModuleList([FFTBlock() for _ in range(2)])

        def forward(self, src_seq, mask):
            batch_size, max_len = src_seq.shape[0], src_seq.shape[1]
            slf_attn_mask = mask.unsqueeze(1).expand(-1, max_len, -1)
            enc_output = self.src_word_emb(src_seq) + self.position_enc[:, :max_len, :].expand(batch_size, -1, -1)
            for enc_layer in self.layer_stack:
                enc_output, _ = enc_layer(enc_output, mask=mask, slf_attn_mask=slf_attn_mask)
            return enc_output

    class Conv(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size=1, padding=0):
            super().__init__()
            self.conv = nn.Conv1d(in_channels, out_channels, kernel_size=kernel_size, padding=padding)

        def forward(self, x):
            x = x.contiguous().transpose(1, 2)
            x = self.conv(x)
            return x.contiguous().transpose(1, 2)

    class VariancePredictor(nn.Module):
        def __init__(self):
            super().__init__()
            from collections import OrderedDict
            self.conv_layer = nn.Sequential(OrderedDict([
                ("conv1d_1", Conv(d, d, kernel_size=3, padding=1)), ("relu_1", nn.ReLU()),
                ("layer_norm_1", nn.LayerNorm(d)), ("dropout_1", nn.Dropout(0.0)),
                ("conv1d_2", Conv(d, d, kernel_size=3, padding=1)), ("relu_2", nn.ReLU()),
                ("layer_norm_2", nn.LayerNorm(d)), ("dropout_2", nn.Dropout(0.0))]))
            self.linear_layer = nn.Linear(d, 1)

        def forward(self, encoder_output, mask):
            out = self.conv_layer(encoder_output)
            out = self.linear_layer(out)
            out = out.squeeze(-1)
            if mask is not None:
                out = out.masked_fill(mask, 0.0)
            return out

    class LengthRegulator(nn.Module):
        def LR(self, x, duration, max_len):
            output, mel_len = list(), list()
            for batch, expand_target in zip(x, duration):
                expanded = self.expand(batch, expand_target)
                output.append(expanded)
                mel_len.append(expanded.shape[0])
            output = pad(output, max_len) if max_len is not None else pad(output)
            return output, T.LongTensor(mel_len)

        def expand(self, batch, predicted):
            return T.repeat_interleave(batch, predicted, dim=0)  # (the authors' loop of expand + cat)

        def forward(self, x, duration, max_len):
            return self.LR(x, duration, max_len)

    class VarianceAdaptor(nn.Module):
        def __init__(self):
            super().__init__()
            self.duration_predictor = VariancePredictor()
            self.length_regulator = LengthRegulator()
            self.pitch_predictor = VariancePredictor()
            self.energy_predictor = VariancePredictor()
            self.pitch_bins = nn.Parameter(T.linspace(-1.0, 1.0, n_bins - 1), requires_grad=False)
            self.energy_bins = nn.Parameter(T.exp(T.linspace(np.log(0.1), np.log(2.0), n_bins - 1)),
                                            requires_grad=False)
            self.pitch_embedding = nn.Embedding(n_bins, d)
            self.energy_embedding = nn.Embedding(n_bins, d)

        def get_pitch_embedding(self, x, target, mask):
            prediction = self.pitch_predictor(x, mask)
            embedding = self.pitch_embedding(T.bucketize(target, self.pitch_bins))
            return prediction, embedding

        def get_energy_embedding(self, x, target, mask):
            prediction = self.energy_predictor(x, mask)
            embedding = self.energy_embedding(T.bucketize(target, self.energy_bins))
            return prediction, embedding

        def forward(self, x, src_mask, mel_mask, max_len, pitch_target, energy_target, duration_target):
            log_duration_prediction = self.duration_predictor(x, src_mask)
            pitch_prediction, pitch_embedding = self.get_pitch_embedding(x, pitch_target, src_mask)
            x = x + pitch_embedding
            energy_prediction, energy_embedding = self.get_energy_embedding(x, energy_target, src_mask)
            x = x + energy_embedding
            x, mel_len = self.length_regulator(x, duration_target, max_len)
            return x, pitch_prediction, energy_prediction, log_duration_prediction, mel_len, mel_mask

    class FastSpeech2(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.variance_adaptor = VarianceAdaptor()
            self.decoder = FFTBlock()
            self.mel_linear = nn.Linear(d, n_mel)

        def forward(self, texts, src_lens, max_src_len, mels, mel_lens, max_mel_len, p_targets, e_targets,
                    d_targets):
            src_masks = get_mask_from_lengths(src_lens, max_src_len)
            mel_masks = get_mask_from_lengths(mel_lens, max_mel_len)
            output = self.encoder(texts, src_masks)
            (output, p_predictions, e_predictions, log_d_predictions, mel_lens, mel_masks) = self.variance_adaptor(
                output, src_masks, mel_masks, max_mel_len, p_targets, e_targets, d_targets)
            slf = mel_masks.unsqueeze(1).expand(-1, max_mel_len, -1)
            output, _ = self.decoder(output, mask=mel_masks, slf_attn_mask=slf)
            output = self.mel_linear(output)
            return output, p_predictions, e_predictions, log_d_predictions, src_masks, mel_masks

    class FastSpeech2Loss(nn.Module):
        def __init__(self):
            super().__init__()
            self.mse_loss = nn.MSELoss()
            self.mae_loss = nn.L1Loss()

        def forward(self, inputs, predictions):
            mel_targets, pitch_targets, energy_targets, duration_targets = inputs
            mel_predictions, pitch_predictions, energy_predictions, log_duration_predictions, src_masks, \
                mel_masks = predictions
            src_masks = ~src_masks
            mel_masks = ~mel_masks
            log_duration_targets = T.log(duration_targets.float() + 1)
            mel_targets = mel_targets[:, : mel_masks.shape[1], :]
            mel_masks = mel_masks[:, :mel_masks.shape[1]]
            log_duration_targets.requires_grad = False
            pitch_predictions = pitch_predictions.masked_select(src_masks)
            pitch_targets = pitch_targets.masked_select(src_masks)
            energy_predictions = energy_predictions.masked_select(src_masks)
            energy_targets = energy_targets.masked_select(src_masks)
            log_duration_predictions = log_duration_predictions.masked_select(src_masks)
            log_duration_targets = log_duration_targets.masked_select(src_masks)
            mel_predictions = mel_predictions.masked_select(mel_masks.unsqueeze(-1))
            mel_targets = mel_targets.masked_select(mel_masks.unsqueeze(-1))
            mel_loss = self.mae_loss(mel_predictions, mel_targets)
            pitch_loss = self.mse_loss(pitch_predictions, pitch_targets)
            energy_loss = self.mse_loss(energy_predictions, energy_targets)
            duration_loss = self.mse_loss(log_duration_predictions, log_duration_targets)
            total_loss = mel_loss + duration_loss + pitch_loss + energy_loss
            return total_loss, mel_loss, pitch_loss, energy_loss, duration_loss

    model = FastSpeech2()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    loss_fn = FastSpeech2Loss()
    opt = T.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.98), eps=1e-9)
    out = []
    for texts, src_lens, durs, pitch, energy, mels in batches:
        texts, src_lens, durs = T.from_numpy(texts), T.from_numpy(src_lens), T.from_numpy(durs)
        pitch, energy = T.from_numpy(pitch), T.from_numpy(energy)
        mel_lens = durs.sum(1)
        max_mel_len = int(mel_lens.max())
        mels = T.from_numpy(mels[:, :max_mel_len])
        preds = model(texts, src_lens, int(src_lens.max()), mels, mel_lens, max_mel_len, pitch, energy, durs)
        losses = loss_fn((mels, pitch, energy, durs), preds)
        opt.zero_grad()
        losses[0].backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        out += [list(losses), preds[0], _grads(model)]
        opt.step()
    out.append(model.state_dict())
    return out


def test_fastspeech2_variance_adaptor_length_regulator(torch):
    rng = _rng()
    sd = fastspeech2(torch, None, None)
    batches = []
    for _ in range(3):
        src_lens = np.array([5, 3])
        texts = rng.integers(1, 10, (2, 5))
        texts[1, 3:] = 0
        durs = rng.integers(0, 3, (2, 5))
        durs[:, 0] += 1
        durs[1, 3:] = 0
        batches.append((texts, src_lens, durs, rng.normal(size=(2, 5)), rng.random((2, 5)) * 2,
                        rng.normal(size=(2, 20, 5))))
    _compare(fastspeech2(tg, sd, batches), fastspeech2(torch, sd, batches))


# ----------------------------------------------------------------------------------------------------------- WaveGlow
def waveglow(T, sd, batches, z_infer):
    """NVIDIA/waveglow: the mel upsampled by ConvTranspose1d and grouped by unfold / permute, audio squeezed to
    n_group channels, Invertible1x1Conv (a QR-orthogonal weight, logdet by torch.logdet, the inverse cached by
    torch.inverse for inference), WN affine coupling (dilated convs, a torch.jit.script fused_add_tanh_sigmoid_
    multiply, res/skip layers, a zero-initialised end conv), early outputs every n_early_every flows, WaveGlowLoss;
    then infer() with given noise."""
    nn, F = T.nn, T.nn.functional
    n_mel, n_group, n_flows, n_early_every, n_early_size = 3, 4, 4, 2, 2

    @T.jit.script
    def fused_add_tanh_sigmoid_multiply(input_a, input_b, n_channels):
        n_channels_int = n_channels[0]
        in_act = input_a + input_b
        t_act = T.tanh(in_act[:, :n_channels_int, :])
        s_act = T.sigmoid(in_act[:, n_channels_int:, :])
        return t_act * s_act

    class WaveGlowLoss(nn.Module):
        def __init__(self, sigma=1.0):
            super().__init__()
            self.sigma = sigma

        def forward(self, model_output):
            z, log_s_list, log_det_W_list = model_output
            for i, log_s in enumerate(log_s_list):
                if i == 0:
                    log_s_total = T.sum(log_s)
                    log_det_W_total = log_det_W_list[i]
                else:
                    log_s_total = log_s_total + T.sum(log_s)
                    log_det_W_total += log_det_W_list[i]
            loss = T.sum(z * z) / (2 * self.sigma * self.sigma) - log_s_total - log_det_W_total
            return loss / (z.size(0) * z.size(1) * z.size(2))

    class Invertible1x1Conv(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv1d(c, c, kernel_size=1, stride=1, padding=0, bias=False)
            W = T.linalg.qr(T.empty(c, c).normal_())[0]  # (T.FloatTensor in the original: float32)
            if T.det(W) < 0:
                W[:, 0] = -1 * W[:, 0]
            W = W.view(c, c, 1)
            self.conv.weight.data = W

        def forward(self, z, reverse=False):
            batch_size, group_size, n_of_groups = z.size()
            W = self.conv.weight.squeeze()
            if reverse:
                if not hasattr(self, "W_inverse"):
                    W_inverse = W.double().inverse()  # (W.float() in the original, which runs float32)
                    W_inverse = T.autograd.Variable(W_inverse[..., None])
                    if z.type() == "torch.cuda.HalfTensor":
                        W_inverse = W_inverse.half()
                    self.W_inverse = W_inverse
                z = F.conv1d(z, self.W_inverse, bias=None, stride=1, padding=0)
                return z
            log_det_W = batch_size * n_of_groups * T.logdet(W)
            z = self.conv(z)
            return z, log_det_W

    class WN(nn.Module):
        def __init__(self, n_in_channels, n_mel_channels, n_layers, n_channels, kernel_size):
            super().__init__()
            self.n_layers, self.n_channels = n_layers, n_channels
            self.in_layers = nn.ModuleList()
            self.res_skip_layers = nn.ModuleList()
            start = nn.Conv1d(n_in_channels, n_channels, 1)
            self.start = nn.utils.weight_norm(start, name="weight")
            end = nn.Conv1d(n_channels, 2 * n_in_channels, 1)
            end.weight.data.zero_()
            end.bias.data.zero_()
            self.end = end
            cond_layer = nn.Conv1d(n_mel_channels, 2 * n_channels * n_layers, 1)
            self.cond_layer = nn.utils.weight_norm(cond_layer, name="weight")
            for i in range(n_layers):
                dilation = 2 ** i
                padding = int((kernel_size * dilation - dilation) / 2)
                in_layer = nn.Conv1d(n_channels, 2 * n_channels, kernel_size, dilation=dilation, padding=padding)
                self.in_layers.append(nn.utils.weight_norm(in_layer, name="weight"))
                res_skip_channels = 2 * n_channels if i < n_layers - 1 else n_channels
                res_skip_layer = nn.Conv1d(n_channels, res_skip_channels, 1)
                self.res_skip_layers.append(nn.utils.weight_norm(res_skip_layer, name="weight"))

        def forward(self, forward_input):
            audio, spect = forward_input
            audio = self.start(audio)
            output = T.zeros_like(audio)
            n_channels_tensor = T.IntTensor([self.n_channels])
            spect = self.cond_layer(spect)
            for i in range(self.n_layers):
                spect_offset = i * 2 * self.n_channels
                acts = fused_add_tanh_sigmoid_multiply(
                    self.in_layers[i](audio), spect[:, spect_offset:spect_offset + 2 * self.n_channels, :],
                    n_channels_tensor)
                res_skip_acts = self.res_skip_layers[i](acts)
                if i < self.n_layers - 1:
                    audio = audio + res_skip_acts[:, :self.n_channels, :]
                    output = output + res_skip_acts[:, self.n_channels:, :]
                else:
                    output = output + res_skip_acts
            return self.end(output)

    class WaveGlow(nn.Module):
        def __init__(self):
            super().__init__()
            self.upsample = nn.ConvTranspose1d(n_mel, n_mel, 8, stride=4)
            self.n_flows, self.n_group = n_flows, n_group
            self.n_early_every, self.n_early_size = n_early_every, n_early_size
            self.WN = nn.ModuleList()
            self.convinv = nn.ModuleList()
            n_half = int(n_group / 2)
            n_remaining_channels = n_group
            for k in range(n_flows):
                if k % self.n_early_every == 0 and k > 0:
                    n_half = n_half - int(self.n_early_size / 2)
                    n_remaining_channels = n_remaining_channels - self.n_early_size
                self.convinv.append(Invertible1x1Conv(n_remaining_channels))
                self.WN.append(WN(n_half, n_mel * n_group, 2, 4, 3))
            self.n_remaining_channels = n_remaining_channels

        def forward(self, forward_input):
            spect, audio = forward_input
            spect = self.upsample(spect)
            assert spect.size(2) >= audio.size(1)
            if spect.size(2) > audio.size(1):
                spect = spect[:, :, :audio.size(1)]
            spect = spect.unfold(2, self.n_group, self.n_group).permute(0, 2, 1, 3)
            spect = spect.contiguous().view(spect.size(0), spect.size(1), -1).permute(0, 2, 1)
            audio = audio.unfold(1, self.n_group, self.n_group).permute(0, 2, 1)
            output_audio, log_s_list, log_det_W_list = [], [], []
            for k in range(self.n_flows):
                if k % self.n_early_every == 0 and k > 0:
                    output_audio.append(audio[:, :self.n_early_size, :])
                    audio = audio[:, self.n_early_size:, :]
                audio, log_det_W = self.convinv[k](audio)
                log_det_W_list.append(log_det_W)
                n_half = int(audio.size(1) / 2)
                audio_0 = audio[:, :n_half, :]
                audio_1 = audio[:, n_half:, :]
                output = self.WN[k]((audio_0, spect))
                log_s = output[:, n_half:, :]
                b = output[:, :n_half, :]
                audio_1 = T.exp(log_s) * audio_1 + b
                log_s_list.append(log_s)
                audio = T.cat([audio_0, audio_1], 1)
            output_audio.append(audio)
            return T.cat(output_audio, 1), log_s_list, log_det_W_list

        def infer(self, spect, zs, sigma=1.0):
            spect = self.upsample(spect)
            time_cutoff = self.upsample.kernel_size[0] - self.upsample.stride[0]
            spect = spect[:, :, :-time_cutoff]
            spect = spect.unfold(2, self.n_group, self.n_group).permute(0, 2, 1, 3)
            spect = spect.contiguous().view(spect.size(0), spect.size(1), -1).permute(0, 2, 1)
            zs = iter(zs)
            audio = T.from_numpy(next(zs))
            audio = T.autograd.Variable(sigma * audio)
            for k in reversed(range(self.n_flows)):
                n_half = int(audio.size(1) / 2)
                audio_0 = audio[:, :n_half, :]
                audio_1 = audio[:, n_half:, :]
                output = self.WN[k]((audio_0, spect))
                s = output[:, n_half:, :]
                b = output[:, :n_half, :]
                audio_1 = (audio_1 - b) / T.exp(s)
                audio = T.cat([audio_0, audio_1], 1)
                audio = self.convinv[k](audio, reverse=True)
                if k % self.n_early_every == 0 and k > 0:
                    z = T.from_numpy(next(zs))
                    audio = T.cat((sigma * z, audio), 1)
            return audio.permute(0, 2, 1).contiguous().view(audio.size(0), -1).data

    model = WaveGlow()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    criterion = WaveGlowLoss(sigma=1.0)
    opt = T.optim.Adam(model.parameters(), lr=1e-3)
    out = []
    model.train()
    for mel, audio in batches:
        model.zero_grad()
        outputs = model((T.from_numpy(mel), T.from_numpy(audio)))
        loss = criterion(outputs)
        loss.backward()
        out += [loss, outputs[0], _grads(model)]
        opt.step()
    out.append(model.state_dict())
    model.eval()
    with T.no_grad():
        out.append(model.infer(T.from_numpy(batches[0][0]), z_infer, sigma=0.6))
        out.append(model.convinv[0].W_inverse)
    return out


def test_waveglow_invertible_conv_wn_coupling_early_outputs(torch):
    rng = _rng(1)
    sd = waveglow(torch, None, None, None)
    batches = [(rng.normal(size=(2, n_mel, 4)), rng.normal(size=(2, 16)) * 0.3) for n_mel in [3] * 3]
    # infer: mel (2, 3, 4) upsampled to 16 + 4 - 4 = 16 samples, 4 groups of 4; the early outputs give 2 of them
    z_infer = [rng.normal(size=(2, 2, 4)), rng.normal(size=(2, 2, 4))]
    _compare(waveglow(tg, sd, batches, z_infer), waveglow(torch, sd, batches, z_infer))


# ----------------------------------------------------------------------------------------------------------- DiffWave
def diffwave(T, sd, batches, reverse_noise):
    """lmnt-com/diffwave: DiffusionEmbedding (a registered sinusoid table, interpolated between rows for
    non-integer steps, two SiLU'd Linears), SpectrogramUpsampler (ConvTranspose2d over (1, n_mels, frames) with
    leaky_relu), ResidualBlocks (dilated Conv1d, the step added as a projection, conditioner projection, gated
    tanh * sigmoid, residual / skip split, divided by sqrt(2)), the training step (noise_level = cumprod(1 - beta),
    noisy audio, L1 loss on the noise) with Adam, then the inference loop (the reverse update with given noise,
    clamp)."""
    nn, F = T.nn, T.nn.functional
    n_mels, C, L, beta = 3, 4, 4, np.linspace(1e-4, 0.3, 6)

    def Conv1d(*args, **kwargs):
        layer = nn.Conv1d(*args, **kwargs)
        nn.init.kaiming_normal_(layer.weight)
        return layer

    def silu(x):
        return x * T.sigmoid(x)

    class DiffusionEmbedding(nn.Module):
        def __init__(self, max_steps):
            super().__init__()
            self.register_buffer("embedding", self._build_embedding(max_steps), persistent=False)
            self.projection1 = nn.Linear(8, 16)
            self.projection2 = nn.Linear(16, 16)

        def forward(self, diffusion_step):
            if diffusion_step.dtype in [T.int32, T.int64]:
                x = self.embedding[diffusion_step]
            else:
                x = self._lerp_embedding(diffusion_step)
            x = self.projection1(x)
            x = silu(x)
            x = self.projection2(x)
            x = silu(x)
            return x

        def _lerp_embedding(self, t):
            low_idx = T.floor(t).long()
            high_idx = T.ceil(t).long()
            low = self.embedding[low_idx]
            high = self.embedding[high_idx]
            return low + (high - low) * (t - low_idx).unsqueeze(-1)

        def _build_embedding(self, max_steps):
            steps = T.arange(max_steps).unsqueeze(1)
            dims = T.arange(4).unsqueeze(0)
            table = steps * 10.0 ** (dims * 4.0 / 3.0)
            table = T.cat([T.sin(table), T.cos(table)], dim=1)
            return table

    class SpectrogramUpsampler(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.ConvTranspose2d(1, 1, [3, 4], stride=[1, 2], padding=[1, 1])
            self.conv2 = nn.ConvTranspose2d(1, 1, [3, 4], stride=[1, 2], padding=[1, 1])

        def forward(self, x):
            x = T.unsqueeze(x, 1)
            x = self.conv1(x)
            x = F.leaky_relu(x, 0.4)
            x = self.conv2(x)
            x = F.leaky_relu(x, 0.4)
            x = T.squeeze(x, 1)
            return x

    class ResidualBlock(nn.Module):
        def __init__(self, n_mels, residual_channels, dilation):
            super().__init__()
            self.dilated_conv = Conv1d(residual_channels, 2 * residual_channels, 3, padding=dilation, dilation=dilation)
            self.diffusion_projection = nn.Linear(16, residual_channels)
            self.conditioner_projection = Conv1d(n_mels, 2 * residual_channels, 1)
            self.output_projection = Conv1d(residual_channels, 2 * residual_channels, 1)

        def forward(self, x, diffusion_step, conditioner=None):
            diffusion_step = self.diffusion_projection(diffusion_step).unsqueeze(-1)
            y = x + diffusion_step
            conditioner = self.conditioner_projection(conditioner)
            y = self.dilated_conv(y) + conditioner
            gate, filter = T.chunk(y, 2, dim=1)
            y = T.sigmoid(gate) * T.tanh(filter)
            y = self.output_projection(y)
            residual, skip = T.chunk(y, 2, dim=1)
            return (x + residual) / math.sqrt(2.0), skip

    class DiffWave(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_projection = Conv1d(1, C, 1)
            self.diffusion_embedding = DiffusionEmbedding(len(beta))
            self.spectrogram_upsampler = SpectrogramUpsampler()
            self.residual_layers = nn.ModuleList([ResidualBlock(n_mels, C, 2 ** (i % 2)) for i in range(L)])
            self.skip_projection = Conv1d(C, C, 1)
            self.output_projection = Conv1d(C, 1, 1)
            nn.init.zeros_(self.output_projection.weight)

        def forward(self, audio, diffusion_step, spectrogram=None):
            x = audio.unsqueeze(1)
            x = self.input_projection(x)
            x = F.relu(x)
            diffusion_step = self.diffusion_embedding(diffusion_step)
            spectrogram = self.spectrogram_upsampler(spectrogram)
            skip = None
            for layer in self.residual_layers:
                x, skip_connection = layer(x, diffusion_step, spectrogram)
                skip = skip_connection if skip is None else skip_connection + skip
            x = skip / math.sqrt(len(self.residual_layers))
            x = self.skip_projection(x)
            x = F.relu(x)
            x = self.output_projection(x)
            return x

    model = DiffWave()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=2e-3)
    noise_level = T.tensor(np.cumprod(1 - beta).astype(np.float32))  # (the learner's float32 table)
    loss_fn = nn.L1Loss()
    out = []
    for audio, spectrogram, t, noise in batches:
        audio, spectrogram = T.from_numpy(audio), T.from_numpy(spectrogram)
        N, Tn = audio.shape
        for param in model.parameters():
            param.grad = None
        t = T.from_numpy(t)
        noise_scale = noise_level[t].unsqueeze(1).double()
        noise_scale_sqrt = noise_scale ** 0.5
        noise = T.from_numpy(noise)
        noisy_audio = noise_scale_sqrt * audio + (1.0 - noise_scale) ** 0.5 * noise
        predicted = model(noisy_audio, t, spectrogram)
        loss = loss_fn(noise, predicted.squeeze(1))
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(model.parameters(), 1e9)
        out += [loss, grad_norm, _grads(model)]
        opt.step()
    out.append(model.state_dict())
    # inference (the training noise schedule, fast_sampling off)
    with T.no_grad():
        training_noise_schedule = np.array(beta)
        talpha = 1 - training_noise_schedule
        talpha_cum = np.cumprod(talpha)
        spectrogram = T.from_numpy(batches[0][1])
        audio = T.from_numpy(reverse_noise[0])
        for n in range(len(talpha) - 1, -1, -1):
            c1 = 1 / talpha[n] ** 0.5
            c2 = training_noise_schedule[n] / (1 - talpha_cum[n]) ** 0.5
            audio = c1 * (audio - c2 * model(audio, T.tensor([n]), spectrogram).squeeze(1))
            if n > 0:
                noise = T.from_numpy(reverse_noise[n])
                sigma = ((1.0 - talpha_cum[n - 1]) / (1.0 - talpha_cum[n]) * training_noise_schedule[n]) ** 0.5
                audio += sigma * noise
            audio = T.clamp(audio, -1.0, 1.0)
            out.append(audio)
        # a non-integer step goes through the embedding's lerp
        out.append(model.diffusion_embedding(T.tensor([1.25, 3.5])))
    return out


def test_diffwave_residual_layers_upsampler_training_and_reverse_steps(torch):
    rng = _rng(2)
    sd = diffwave(torch, None, None, None)
    batches = [(rng.uniform(-0.5, 0.5, (2, 12)), rng.normal(size=(2, 3, 3)), rng.integers(0, 6, 2),
                rng.normal(size=(2, 12))) for _ in range(3)]
    reverse_noise = rng.normal(size=(6, 2, 12))
    _compare(diffwave(tg, sd, batches, reverse_noise), diffwave(torch, sd, batches, reverse_noise))


# ------------------------------------------------------------------------------------------------------ LPCNet-lite
def lpcnet(T, sd, batches):
    """LPCNet (xiph/LPCNet's torch port, lite): the frame-rate network (two Conv1d over features with tanh, two
    dense layers), upsampled to samples by repeat_interleave; the sample-rate GRU-A fed embedded mu-law signal,
    prediction and excitation (one shared Embedding, flattened), concatenated with the frame conditioning; GRU-B;
    the dual fully-connected output (two tanh branches weighted by per-output factors, summed, softmax); NLL on
    the mu-law excitation targets; after each Adam step the GRU's recurrent weights sparsified in no_grad by block
    masks chosen from the largest block norms (weight_hh.data.mul_(mask))."""
    nn, F = T.nn, T.nn.functional
    nb_feat, cond, rnn_a, rnn_b, Q, frame, emb = 4, 6, 6, 4, 16, 3, 3

    class MDense(nn.Module):
        def __init__(self, n_in, n_out, channels=2):
            super().__init__()
            self.weight = nn.Parameter(T.randn(channels, n_out, n_in) * 0.3)
            self.bias = nn.Parameter(T.zeros(channels, n_out))
            self.factor = nn.Parameter(T.ones(channels, n_out))

        def forward(self, x):
            y = T.tanh(T.einsum("btc,koc->btko", x, self.weight) + self.bias)
            return (y * self.factor).sum(dim=2)

    class LPCNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.feature_conv1 = nn.Conv1d(nb_feat, cond, 3, padding="same")
            self.feature_conv2 = nn.Conv1d(cond, cond, 3, padding="same")
            self.feature_dense1 = nn.Linear(cond, cond)
            self.feature_dense2 = nn.Linear(cond, cond)
            self.embed_sig = nn.Embedding(Q, emb)
            self.gru_a = nn.GRU(3 * emb + cond, rnn_a, batch_first=True)
            self.gru_b = nn.GRU(rnn_a + cond, rnn_b, batch_first=True)
            self.md = MDense(rnn_b, Q)

        def frame_rate(self, features):
            c = T.tanh(self.feature_conv1(features.permute(0, 2, 1)))
            c = T.tanh(self.feature_conv2(c)).permute(0, 2, 1)
            c = T.tanh(self.feature_dense1(c))
            return T.tanh(self.feature_dense2(c))

        def forward(self, features, sig_in):
            cfeat = self.frame_rate(features)
            rep = T.repeat_interleave(cfeat, frame, dim=1)
            cpcm = self.embed_sig(sig_in).reshape(sig_in.shape[0], sig_in.shape[1], -1)
            ga, _ = self.gru_a(T.cat((cpcm, rep), dim=-1))
            gb, _ = self.gru_b(T.cat((ga, rep), dim=-1))
            return F.log_softmax(self.md(gb), dim=-1)

    def block_mask(w, density, block=(2, 2)):
        """Keep the densest blocks of each gate's (N, N) recurrent matrix, as LPCNet's Sparsify."""
        n = w.shape[1]
        masks = []
        for k in range(3):
            A = w[k * n:(k + 1) * n].abs()
            L = A.reshape(n // block[0], block[0], n // block[1], block[1]).pow(2).sum(dim=(1, 3))
            keep = max(1, int(L.numel() * density))
            thresh = T.sort(L.flatten(), descending=True)[0][keep - 1]
            m = (L >= thresh).to(w.dtype)
            masks.append(m.repeat_interleave(block[0], 0).repeat_interleave(block[1], 1))
        return T.cat(masks, 0)

    model = LPCNet()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.99), eps=1e-7)
    out = []
    for step, (features, sig_in, target) in enumerate(batches):
        features, sig_in, target = T.from_numpy(features), T.from_numpy(sig_in), T.from_numpy(target)
        logp = model(features, sig_in)
        loss = F.nll_loss(logp.reshape(-1, Q), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        out += [loss, _grads(model)]
        opt.step()
        with T.no_grad():
            density = 1 - (1 - 0.5) * min(1.0, (step + 1) / 2) ** 3
            mask = block_mask(model.gru_a.weight_hh_l0, density)
            model.gru_a.weight_hh_l0.data.mul_(mask)
        out.append(mask)
    out.append(model.state_dict())
    return out


def test_lpcnet_gru_a_dual_fc_and_block_sparsification(torch):
    rng = _rng(3)
    sd = lpcnet(torch, None, None)
    batches = [(rng.normal(size=(2, 3, 4)), rng.integers(0, 16, (2, 9, 3)), rng.integers(0, 16, (2, 9)))
               for _ in range(3)]
    _compare(lpcnet(tg, sd, batches), lpcnet(torch, sd, batches))


# ---------------------------------------------------------------------------------------------------------- Glow-TTS
def glow_tts(T, sd, batches):
    """jaywalnut310/glow-tts: a text encoder (scaled embedding, a masked conv, proj_m / proj_s, a duration
    predictor on the detached hidden states + speaker embedding with glow-tts's channel LayerNorm), the flow
    decoder (squeeze by view / permute, data-dependent ActNorm, InvConvNear with n_split channel groups by
    view / permute and conv2d, CouplingBlock with a speaker-conditioned WN), monotonic alignment search on the
    detached log-likelihoods (the authors' numpy maximum_path), mle_loss with the log-determinants, duration_loss
    on log-durations; Adam; then the reverse pass of the decoder (generate_path from the durations)."""
    nn, F = T.nn, T.nn.functional
    n_vocab, hidden, out_ch, n_spk, gin = 7, 6, 4, 3, 4
    max_neg_val = -1e9

    def sequence_mask(length, max_length=None):
        if max_length is None:
            max_length = length.max()
        x = T.arange(max_length, dtype=length.dtype, device=length.device)
        return x.unsqueeze(0) < length.unsqueeze(1)

    def convert_pad_shape(pad_shape):
        return [item for sublist in pad_shape[::-1] for item in sublist]

    def generate_path(duration, mask):
        b, t_x, t_y = mask.shape
        cum_duration = T.cumsum(duration, 1)
        cum_duration_flat = cum_duration.view(b * t_x)
        path = sequence_mask(cum_duration_flat, t_y).to(mask.dtype)
        path = path.view(b, t_x, t_y)
        path = path - F.pad(path, convert_pad_shape([[0, 0], [1, 0], [0, 0]]))[:, :-1]
        return path * mask

    def maximum_path(value, mask):
        value = value * mask
        device, dtype = value.device, value.dtype
        value = value.cpu().detach().numpy()
        mask = mask.cpu().detach().numpy().astype(bool)
        b, t_x, t_y = value.shape
        direction = np.zeros(value.shape, dtype=np.int64)
        v = np.zeros((b, t_x), dtype=np.float64)
        x_range = np.arange(t_x, dtype=np.float64).reshape(1, -1)
        for j in range(t_y):
            v0 = np.pad(v, [[0, 0], [1, 0]], mode="constant", constant_values=max_neg_val)[:, :-1]
            v1 = v
            max_mask = v1 >= v0
            v_max = np.where(max_mask, v1, v0)
            direction[:, :, j] = max_mask
            index_mask = x_range <= j
            v = np.where(index_mask, v_max + value[:, :, j], max_neg_val)
        direction = np.where(mask, direction, 1)
        path = np.zeros(value.shape, dtype=np.float64)
        index = mask[:, :, 0].sum(1).astype(np.int64) - 1
        index_range = np.arange(b)
        for j in reversed(range(t_y)):
            path[index_range, index, j] = 1
            index = index + direction[index_range, index, j] - 1
        path = path * mask.astype(np.float64)
        return T.from_numpy(path).to(device=device, dtype=dtype)

    @T.jit.script
    def fused_add_tanh_sigmoid_multiply(input_a, input_b, n_channels):
        n_channels_int = n_channels[0]
        in_act = input_a + input_b
        t_act = T.tanh(in_act[:, :n_channels_int, :])
        s_act = T.sigmoid(in_act[:, n_channels_int:, :])
        return t_act * s_act

    class LayerNorm(nn.Module):
        def __init__(self, channels, eps=1e-4):
            super().__init__()
            self.channels, self.eps = channels, eps
            self.gamma = nn.Parameter(T.ones(channels))
            self.beta = nn.Parameter(T.zeros(channels))

        def forward(self, x):
            n_dims = len(x.shape)
            mean = T.mean(x, 1, keepdim=True)
            variance = T.mean((x - mean) ** 2, 1, keepdim=True)
            x = (x - mean) * T.rsqrt(variance + self.eps)
            shape = [1, -1] + [1] * (n_dims - 2)
            return x * self.gamma.view(*shape) + self.beta.view(*shape)

    class DurationPredictor(nn.Module):
        def __init__(self, in_channels, filter_channels, kernel_size):
            super().__init__()
            self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size, padding=kernel_size // 2)
            self.norm_1 = LayerNorm(filter_channels)
            self.proj = nn.Conv1d(filter_channels, 1, 1)

        def forward(self, x, x_mask):
            x = self.conv_1(x * x_mask)
            x = T.relu(x)
            x = self.norm_1(x)
            x = self.proj(x * x_mask)
            return x * x_mask

    class TextEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(n_vocab, hidden)
            nn.init.normal_(self.emb.weight, 0.0, hidden ** -0.5)
            self.conv = nn.Conv1d(hidden, hidden, 3, padding=1)
            self.proj_m = nn.Conv1d(hidden, out_ch, 1)
            self.proj_s = nn.Conv1d(hidden, out_ch, 1)
            self.proj_w = DurationPredictor(hidden + gin, 5, 3)

        def forward(self, x, x_lengths, g=None):
            x = self.emb(x) * math.sqrt(hidden)
            x = T.transpose(x, 1, -1)
            x_mask = T.unsqueeze(sequence_mask(x_lengths, x.size(2)), 1).to(x.dtype)
            x = x + T.relu(self.conv(x * x_mask)) * x_mask
            x_m = self.proj_m(x) * x_mask
            x_logs = self.proj_s(x) * x_mask
            g_exp = g.expand(-1, -1, x.size(-1))
            x_dp = T.cat([T.detach(x), g_exp], 1)
            logw = self.proj_w(x_dp, x_mask)
            return x_m, x_logs, logw, x_mask

    class WN(nn.Module):
        def __init__(self, hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels):
            super().__init__()
            self.hidden_channels, self.n_layers = hidden_channels, n_layers
            self.in_layers = nn.ModuleList()
            self.res_skip_layers = nn.ModuleList()
            cond_layer = nn.Conv1d(gin_channels, 2 * hidden_channels * n_layers, 1)
            self.cond_layer = nn.utils.weight_norm(cond_layer, name="weight")
            for i in range(n_layers):
                dilation = dilation_rate ** i
                padding = int((kernel_size * dilation - dilation) / 2)
                in_layer = nn.Conv1d(hidden_channels, 2 * hidden_channels, kernel_size, dilation=dilation,
                                     padding=padding)
                self.in_layers.append(nn.utils.weight_norm(in_layer, name="weight"))
                res_skip_channels = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
                res_skip_layer = nn.Conv1d(hidden_channels, res_skip_channels, 1)
                self.res_skip_layers.append(nn.utils.weight_norm(res_skip_layer, name="weight"))

        def forward(self, x, x_mask=None, g=None):
            output = T.zeros_like(x)
            n_channels_tensor = T.IntTensor([self.hidden_channels])
            g = self.cond_layer(g)
            for i in range(self.n_layers):
                x_in = self.in_layers[i](x)
                cond_offset = i * 2 * self.hidden_channels
                g_l = g[:, cond_offset:cond_offset + 2 * self.hidden_channels, :]
                acts = fused_add_tanh_sigmoid_multiply(x_in, g_l, n_channels_tensor)
                res_skip_acts = self.res_skip_layers[i](acts)
                if i < self.n_layers - 1:
                    x = (x + res_skip_acts[:, :self.hidden_channels, :]) * x_mask
                    output = output + res_skip_acts[:, self.hidden_channels:, :]
                else:
                    output = output + res_skip_acts
            return output * x_mask

    class ActNorm(nn.Module):
        def __init__(self, channels, ddi=False):
            super().__init__()
            self.initialized = not ddi
            self.logs = nn.Parameter(T.zeros(1, channels, 1))
            self.bias = nn.Parameter(T.zeros(1, channels, 1))

        def forward(self, x, x_mask=None, reverse=False, **kwargs):
            x_len = T.sum(x_mask, [1, 2])
            if not self.initialized:
                self.initialize(x, x_mask)
                self.initialized = True
            if reverse:
                return (x - self.bias) * T.exp(-self.logs) * x_mask, None
            z = (self.bias + T.exp(self.logs) * x) * x_mask
            return z, T.sum(self.logs) * x_len

        def initialize(self, x, x_mask):
            with T.no_grad():
                denom = T.sum(x_mask, [0, 2])
                m = T.sum(x * x_mask, [0, 2]) / denom
                m_sq = T.sum(x * x * x_mask, [0, 2]) / denom
                v = m_sq - (m ** 2)
                logs = 0.5 * T.log(T.clamp_min(v, 1e-6))
                bias_init = (-m * T.exp(-logs)).view(*self.bias.shape).to(dtype=self.bias.dtype)
                logs_init = (-logs).view(*self.logs.shape).to(dtype=self.logs.dtype)
                self.bias.data.copy_(bias_init)
                self.logs.data.copy_(logs_init)

    class InvConvNear(nn.Module):
        def __init__(self, channels, n_split=4):
            super().__init__()
            self.channels, self.n_split = channels, n_split
            w_init = T.linalg.qr(T.empty(self.n_split, self.n_split).normal_())[0]  # (FloatTensor originally)
            if T.det(w_init) < 0:
                w_init[:, 0] = -1 * w_init[:, 0]
            self.weight = nn.Parameter(w_init)

        def forward(self, x, x_mask=None, reverse=False, **kwargs):
            b, c, t = x.size()
            x_len = T.sum(x_mask, [1, 2])
            x = x.view(b, 2, c // self.n_split, self.n_split // 2, t)
            x = x.permute(0, 1, 3, 2, 4).contiguous().view(b, self.n_split, c // self.n_split, t)
            if reverse:
                weight = T.inverse(self.weight.double()).to(dtype=self.weight.dtype)  # (.float() originally)
                logdet = None
            else:
                weight = self.weight
                logdet = T.logdet(self.weight) * (c / self.n_split) * x_len
            weight = weight.view(self.n_split, self.n_split, 1, 1)
            z = F.conv2d(x, weight)
            z = z.view(b, 2, self.n_split // 2, c // self.n_split, t)
            z = z.permute(0, 1, 3, 2, 4).contiguous().view(b, c, t) * x_mask
            return z, logdet

    class CouplingBlock(nn.Module):
        def __init__(self, in_channels, hidden_channels):
            super().__init__()
            self.in_channels = in_channels
            start = nn.Conv1d(in_channels // 2, hidden_channels, 1)
            self.start = nn.utils.weight_norm(start)
            end = nn.Conv1d(hidden_channels, in_channels, 1)
            end.weight.data.normal_(0, 0.05)  # (zeroed in the original: small here so that the WN learns at once)
            end.bias.data.zero_()
            self.end = end
            self.wn = WN(hidden_channels, 3, 2, 2, gin)

        def forward(self, x, x_mask=None, reverse=False, g=None, **kwargs):
            x_0, x_1 = x[:, :self.in_channels // 2], x[:, self.in_channels // 2:]
            x = self.start(x_0) * x_mask
            x = self.wn(x, x_mask, g)
            out = self.end(x)
            z_0 = x_0
            m = out[:, :self.in_channels // 2, :]
            logs = out[:, self.in_channels // 2:, :]
            if reverse:
                z_1 = (x_1 - m) * T.exp(-logs) * x_mask
                logdet = None
            else:
                z_1 = (m + T.exp(logs) * x_1) * x_mask
                logdet = T.sum(logs * x_mask, [1, 2])
            return T.cat([z_0, z_1], 1), logdet

    def squeeze(x, x_mask=None, n_sqz=2):
        b, c, t = x.size()
        t = (t // n_sqz) * n_sqz
        x = x[:, :, :t]
        x_sqz = x.view(b, c, t // n_sqz, n_sqz)
        x_sqz = x_sqz.permute(0, 3, 1, 2).contiguous().view(b, c * n_sqz, t // n_sqz)
        x_mask = x_mask[:, :, n_sqz - 1::n_sqz]
        return x_sqz * x_mask, x_mask

    def unsqueeze(x, x_mask=None, n_sqz=2):
        b, c, t = x.size()
        x_unsqz = x.view(b, n_sqz, c // n_sqz, t)
        x_unsqz = x_unsqz.permute(0, 2, 3, 1).contiguous().view(b, c // n_sqz, t * n_sqz)
        x_mask = x_mask.unsqueeze(-1).repeat(1, 1, 1, n_sqz).view(b, 1, t * n_sqz)
        return x_unsqz * x_mask, x_mask

    class FlowSpecDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.flows = nn.ModuleList()
            for b in range(2):
                self.flows.append(ActNorm(channels=out_ch * 2, ddi=True))
                self.flows.append(InvConvNear(channels=out_ch * 2, n_split=4))
                self.flows.append(CouplingBlock(out_ch * 2, 4))

        def forward(self, x, x_mask, g=None, reverse=False):
            flows = reversed(self.flows) if reverse else self.flows
            logdet_tot = None if reverse else 0
            x, x_mask = squeeze(x, x_mask, 2)
            for f in flows:
                x, logdet = f(x, x_mask, g=g, reverse=reverse)
                if not reverse:
                    logdet_tot += logdet
            x, x_mask = unsqueeze(x, x_mask, 2)
            return x, logdet_tot

    class FlowGenerator(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = TextEncoder()
            self.decoder = FlowSpecDecoder()
            self.emb_g = nn.Embedding(n_spk, gin)
            nn.init.uniform_(self.emb_g.weight, -0.1, 0.1)

        def forward(self, x, x_lengths, y=None, y_lengths=None, g=None, gen=False, z_noise=None):
            g = F.normalize(self.emb_g(g)).unsqueeze(-1)
            x_m, x_logs, logw, x_mask = self.encoder(x, x_lengths, g=g)
            if gen:
                w = T.exp(logw) * x_mask
                w_ceil = T.ceil(w)
                y_lengths = T.clamp_min(T.sum(w_ceil, [1, 2]), 1).long()
                y_max_length = None
            else:
                y_max_length = y.size(2)
            y_max_length = int(y_lengths.max()) if y_max_length is None else y_max_length
            y_max_length = (y_max_length // 2) * 2
            y_lengths = (y_lengths // 2) * 2
            if y is not None:
                y = y[:, :, :y_max_length]
            z_mask = T.unsqueeze(sequence_mask(y_lengths, y_max_length), 1).to(x_mask.dtype)
            attn_mask = T.unsqueeze(x_mask, -1) * T.unsqueeze(z_mask, 2)
            if gen:
                attn = generate_path(w_ceil.squeeze(1), attn_mask.squeeze(1)).unsqueeze(1)
                z_m = T.matmul(attn.squeeze(1).transpose(1, 2), x_m.transpose(1, 2)).transpose(1, 2)
                z_logs = T.matmul(attn.squeeze(1).transpose(1, 2), x_logs.transpose(1, 2)).transpose(1, 2)
                z = (z_m + T.exp(z_logs) * T.from_numpy(z_noise)[:, :, :y_max_length] * 0.667) * z_mask
                y, _ = self.decoder(z, z_mask, g=g, reverse=True)
                return y, attn
            z, logdet = self.decoder(y, z_mask, g=g, reverse=False)
            with T.no_grad():
                x_s_sq_r = T.exp(-2 * x_logs)
                logp1 = T.sum(-0.5 * math.log(2 * math.pi) - x_logs, [1]).unsqueeze(-1)
                logp2 = T.matmul(x_s_sq_r.transpose(1, 2), -0.5 * (z ** 2))
                logp3 = T.matmul((x_m * x_s_sq_r).transpose(1, 2), z)
                logp4 = T.sum(-0.5 * (x_m ** 2) * x_s_sq_r, [1]).unsqueeze(-1)
                logp = logp1 + logp2 + logp3 + logp4
                attn = maximum_path(logp, attn_mask.squeeze(1)).unsqueeze(1).detach()
            z_m = T.matmul(attn.squeeze(1).transpose(1, 2), x_m.transpose(1, 2)).transpose(1, 2)
            z_logs = T.matmul(attn.squeeze(1).transpose(1, 2), x_logs.transpose(1, 2)).transpose(1, 2)
            logw_ = T.log(1e-8 + T.sum(attn, -1)) * x_mask
            return (z, z_m, z_logs, logdet, z_mask), (x_m, x_logs, x_mask), (attn, logw, logw_)

    def mle_loss(z, m, logs, logdet, mask):
        l = T.sum(logs) + 0.5 * T.sum(T.exp(-2 * logs) * ((z - m) ** 2))  # noqa: E741
        l = l - T.sum(logdet)  # noqa: E741
        l = l / T.sum(T.ones_like(z) * mask)  # noqa: E741
        return l + 0.5 * math.log(2 * math.pi)

    def duration_loss(logw, logw_, lengths):
        return T.sum((logw - logw_) ** 2) / T.sum(lengths)

    model = FlowGenerator()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.98), eps=1e-9)
    out = []
    for x, x_lengths, y, y_lengths, sid, _ in batches:
        x, x_lengths, sid = T.from_numpy(x), T.from_numpy(x_lengths), T.from_numpy(sid)
        y, y_lengths = T.from_numpy(y), T.from_numpy(y_lengths)
        opt.zero_grad()
        (z, z_m, z_logs, logdet, z_mask), (x_m, x_logs, x_mask), (attn, logw, logw_) = model(
            x, x_lengths, y, y_lengths, g=sid, gen=False)
        l_mle = mle_loss(z, z_m, z_logs, logdet, z_mask)
        l_length = duration_loss(logw, logw_, x_lengths)
        loss_gs = [l_mle, l_length]
        loss_g = sum(loss_gs)
        loss_g.backward()
        nn.utils.clip_grad_value_(model.parameters(), 5)
        out += [loss_gs, attn, z, logdet, _grads(model)]
        opt.step()
    out.append(model.state_dict())
    model.eval()
    with T.no_grad():
        x, x_lengths, _, _, sid, z_noise = batches[0]
        out.append(list(model(T.from_numpy(x), T.from_numpy(x_lengths), g=T.from_numpy(sid), gen=True,
                              z_noise=z_noise)))
    return out


def test_glow_tts_mas_actnorm_invconv_coupling_mle(torch):
    rng = _rng(4)
    sd = glow_tts(torch, None, None)
    batches = [(rng.integers(1, 7, (2, 4)) * np.array([[1, 1, 1, 1], [1, 1, 1, 0]]), np.array([4, 3]),
                rng.normal(size=(2, 4, 10)), np.array([10, 7]), np.array([0, 2]), rng.normal(size=(2, 4, 64)))
               for _ in range(3)]
    _compare(glow_tts(tg, sd, batches), glow_tts(torch, sd, batches))


# ------------------------------------------------------------------------------------------------------ Griffin-Lim
def griffin_lim(T, audio, phase0, n_iter=4):
    """torchaudio.functional.griffinlim as written there (a magnitude spectrogram by torch.stft with a Hann window,
    power 2, the phase estimated by istft / stft rounds with momentum, tprev.mul_ in place), started from a given
    random phase; then the gradient of the reconstruction's energy with respect to the spectrogram, through the
    loop."""
    n_fft, hop_length, win_length, power, momentum = 16, 4, 16, 2.0, 0.99
    window = T.hann_window(win_length)
    waveform = T.from_numpy(audio)
    length = waveform.shape[-1]
    spec = T.stft(waveform, n_fft, hop_length, win_length, window, center=True, pad_mode="reflect",
                  normalized=False, onesided=True, return_complex=True)
    specgram = spec.abs().pow(power).detach().requires_grad_()
    shape = specgram.size()
    s = specgram.reshape([-1] + list(shape[-2:]))
    s = s.pow(1 / power)
    angles = T.from_numpy(phase0)
    tprev = T.tensor(0.0, dtype=s.dtype)
    for _ in range(n_iter):
        inverse = T.istft(s * angles, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                          length=length)
        rebuilt = T.stft(input=inverse, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                         center=True, pad_mode="reflect", normalized=False, onesided=True, return_complex=True)
        angles = rebuilt
        if momentum:
            angles = angles - tprev.mul_(momentum / (1 + momentum))
        angles = angles.div(angles.abs().add(1e-16))
        tprev = rebuilt
    out = T.istft(s * angles, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                  length=length)
    out = out.reshape(shape[:-2] + out.shape[-1:])
    energy = out.pow(2).sum()
    energy.backward()
    return [spec, out, energy, specgram.grad]


def test_griffin_lim_stft_istft_momentum_loop(torch):
    rng = _rng(5)
    audio = np.sin(np.linspace(0, 12, 48))[None] * np.array([[1.0], [0.5]]) + 0.1 * rng.normal(size=(2, 48))
    phase0 = np.exp(2j * np.pi * rng.random((2, 9, 13)))
    _compare(griffin_lim(tg, audio, phase0), griffin_lim(torch, audio, phase0))


# --------------------------------------------------------------------------------------------------------------- VITS
def vits(T, sd, batches):
    """jaywalnut310/vits: the PosteriorEncoder (pre conv, WN with masks, proj split into m, logs, z sampled with
    given noise), the ResidualCouplingBlock flow (mean-only ResidualCouplingLayers with zeroed post convs and Flip,
    forward and reverse), a prior from a conv text encoder expanded by a given hard alignment, kl_loss; AdamW with
    ExponentialLR; then the reverse flow of z_p gives z back."""
    nn = T.nn
    spec_ch, inter, hidden, n_vocab = 5, 4, 6, 7

    def sequence_mask(length, max_length=None):
        if max_length is None:
            max_length = length.max()
        x = T.arange(max_length, dtype=length.dtype, device=length.device)
        return x.unsqueeze(0) < length.unsqueeze(1)

    @T.jit.script
    def fused_add_tanh_sigmoid_multiply(input_a, input_b, n_channels):
        n_channels_int = n_channels[0]
        in_act = input_a + input_b
        t_act = T.tanh(in_act[:, :n_channels_int, :])
        s_act = T.sigmoid(in_act[:, n_channels_int:, :])
        return t_act * s_act

    class WN(nn.Module):
        def __init__(self, hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels=0, p_dropout=0):
            super().__init__()
            self.hidden_channels, self.n_layers = hidden_channels, n_layers
            self.in_layers = nn.ModuleList()
            self.res_skip_layers = nn.ModuleList()
            self.drop = nn.Dropout(p_dropout)
            for i in range(n_layers):
                dilation = dilation_rate ** i
                padding = int((kernel_size * dilation - dilation) / 2)
                in_layer = nn.Conv1d(hidden_channels, 2 * hidden_channels, kernel_size, dilation=dilation,
                                     padding=padding)
                self.in_layers.append(nn.utils.weight_norm(in_layer, name="weight"))
                res_skip_channels = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
                res_skip_layer = nn.Conv1d(hidden_channels, res_skip_channels, 1)
                self.res_skip_layers.append(nn.utils.weight_norm(res_skip_layer, name="weight"))

        def forward(self, x, x_mask, g=None, **kwargs):
            output = T.zeros_like(x)
            n_channels_tensor = T.IntTensor([self.hidden_channels])
            for i in range(self.n_layers):
                x_in = self.in_layers[i](x)
                g_l = T.zeros_like(x_in)
                acts = fused_add_tanh_sigmoid_multiply(x_in, g_l, n_channels_tensor)
                acts = self.drop(acts)
                res_skip_acts = self.res_skip_layers[i](acts)
                if i < self.n_layers - 1:
                    res_acts = res_skip_acts[:, :self.hidden_channels, :]
                    x = (x + res_acts) * x_mask
                    output = output + res_skip_acts[:, self.hidden_channels:, :]
                else:
                    output = output + res_skip_acts
            return output * x_mask

    class PosteriorEncoder(nn.Module):
        def __init__(self, in_channels, out_channels, hidden_channels, kernel_size, dilation_rate, n_layers):
            super().__init__()
            self.out_channels = out_channels
            self.pre = nn.Conv1d(in_channels, hidden_channels, 1)
            self.enc = WN(hidden_channels, kernel_size, dilation_rate, n_layers)
            self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

        def forward(self, x, x_lengths, noise, g=None):
            x_mask = T.unsqueeze(sequence_mask(x_lengths, x.size(2)), 1).to(x.dtype)
            x = self.pre(x) * x_mask
            x = self.enc(x, x_mask, g=g)
            stats = self.proj(x) * x_mask
            m, logs = T.split(stats, self.out_channels, dim=1)
            z = (m + noise * T.exp(logs)) * x_mask  # (torch.randn_like(m) in the original)
            return z, m, logs, x_mask

    class ResidualCouplingLayer(nn.Module):
        def __init__(self, channels, hidden_channels, kernel_size, dilation_rate, n_layers, mean_only=False):
            super().__init__()
            self.half_channels, self.mean_only = channels // 2, mean_only
            self.pre = nn.Conv1d(self.half_channels, hidden_channels, 1)
            self.enc = WN(hidden_channels, kernel_size, dilation_rate, n_layers)
            self.post = nn.Conv1d(hidden_channels, self.half_channels * (2 - mean_only), 1)
            self.post.weight.data.zero_()
            self.post.bias.data.zero_()

        def forward(self, x, x_mask, g=None, reverse=False):
            x0, x1 = T.split(x, [self.half_channels] * 2, 1)
            h = self.pre(x0) * x_mask
            h = self.enc(h, x_mask, g=g)
            stats = self.post(h) * x_mask
            if not self.mean_only:
                m, logs = T.split(stats, [self.half_channels] * 2, 1)
            else:
                m = stats
                logs = T.zeros_like(m)
            if not reverse:
                x1 = m + x1 * T.exp(logs) * x_mask
                x = T.cat([x0, x1], 1)
                logdet = T.sum(logs, [1, 2])
                return x, logdet
            x1 = (x1 - m) * T.exp(-logs) * x_mask
            return T.cat([x0, x1], 1)

    class Flip(nn.Module):
        def forward(self, x, *args, reverse=False, **kwargs):
            x = T.flip(x, [1])
            if not reverse:
                logdet = T.zeros(x.size(0)).to(dtype=x.dtype, device=x.device)
                return x, logdet
            return x

    class ResidualCouplingBlock(nn.Module):
        def __init__(self, channels, hidden_channels, kernel_size, dilation_rate, n_layers, n_flows=4):
            super().__init__()
            self.flows = nn.ModuleList()
            for i in range(n_flows):
                self.flows.append(ResidualCouplingLayer(channels, hidden_channels, kernel_size, dilation_rate,
                                                        n_layers, mean_only=True))
                self.flows.append(Flip())

        def forward(self, x, x_mask, g=None, reverse=False):
            if not reverse:
                for flow in self.flows:
                    x, _ = flow(x, x_mask, g=g, reverse=reverse)
            else:
                for flow in reversed(self.flows):
                    x = flow(x, x_mask, g=g, reverse=reverse)
            return x

    class TextEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(n_vocab, hidden)
            nn.init.normal_(self.emb.weight, 0.0, hidden ** -0.5)
            self.conv = nn.Conv1d(hidden, hidden, 3, padding=1)
            self.proj = nn.Conv1d(hidden, inter * 2, 1)

        def forward(self, x, x_lengths):
            x = self.emb(x) * math.sqrt(hidden)
            x = T.transpose(x, 1, -1)
            x_mask = T.unsqueeze(sequence_mask(x_lengths, x.size(2)), 1).to(x.dtype)
            x = T.relu(self.conv(x * x_mask)) * x_mask
            stats = self.proj(x) * x_mask
            m, logs = T.split(stats, inter, dim=1)
            return x, m, logs, x_mask

    class SynthesizerTrn(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc_p = TextEncoder()
            self.enc_q = PosteriorEncoder(spec_ch, inter, hidden, 5, 1, 2)
            self.flow = ResidualCouplingBlock(inter, hidden, 5, 1, 2, n_flows=2)

        def forward(self, x, x_lengths, y, y_lengths, attn, noise):
            x, m_p, logs_p, x_mask = self.enc_p(x, x_lengths)
            z, m_q, logs_q, y_mask = self.enc_q(y, y_lengths, noise)
            z_p = self.flow(z, y_mask)
            m_p = T.matmul(attn.squeeze(1), m_p.transpose(1, 2)).transpose(1, 2)
            logs_p = T.matmul(attn.squeeze(1), logs_p.transpose(1, 2)).transpose(1, 2)
            return z, z_p, m_p, logs_p, m_q, logs_q, y_mask

    def kl_loss(z_p, logs_q, m_p, logs_p, z_mask):
        z_p, logs_q, m_p, logs_p = z_p.double(), logs_q.double(), m_p.double(), logs_p.double()  # (.float())
        z_mask = z_mask.double()
        kl = logs_p - logs_q - 0.5
        kl += 0.5 * ((z_p - m_p) ** 2) * T.exp(-2. * logs_p)
        kl = T.sum(kl * z_mask)
        return kl / T.sum(z_mask)

    net_g = SynthesizerTrn()
    if sd is None:
        return _state(net_g)
    _load(T, net_g, sd)
    optim_g = T.optim.AdamW(net_g.parameters(), 2e-2, betas=(0.8, 0.99), eps=1e-9)
    scheduler_g = T.optim.lr_scheduler.ExponentialLR(optim_g, gamma=0.9, last_epoch=-1)
    out = []
    net_g.train()
    for x, x_lengths, spec, spec_lengths, attn, noise in batches:
        x, x_lengths, spec, spec_lengths = (T.from_numpy(a) for a in (x, x_lengths, spec, spec_lengths))
        z, z_p, m_p, logs_p, m_q, logs_q, z_mask = net_g(x, x_lengths, spec, spec_lengths, T.from_numpy(attn),
                                                         T.from_numpy(noise))
        loss_kl = kl_loss(z_p, logs_q, m_p, logs_p, z_mask)
        optim_g.zero_grad()
        loss_kl.backward()
        grad_norm_g = nn.utils.clip_grad_norm_(net_g.parameters(), 1e9)
        out += [loss_kl, z_p, grad_norm_g, _grads(net_g)]
        optim_g.step()
        scheduler_g.step()
        with T.no_grad():
            out.append(net_g.flow(z_p, z_mask, reverse=True) - z)  # (the inverse: z again)
    out.append(net_g.state_dict())
    return out


def test_vits_posterior_encoder_residual_coupling_flow_kl(torch):
    rng = _rng(6)
    sd = vits(torch, None, None)
    attn = np.zeros((2, 1, 8, 3))
    attn[0, 0, [0, 1, 2, 3, 4, 5, 6, 7], [0, 0, 1, 1, 1, 2, 2, 2]] = 1
    attn[1, 0, [0, 1, 2, 3, 4], [0, 1, 1, 2, 2]] = 1
    batches = [(rng.integers(1, 7, (2, 3)), np.array([3, 3]), rng.normal(size=(2, 5, 8)), np.array([8, 5]), attn,
                rng.normal(size=(2, 4, 8))) for _ in range(3)]
    _compare(vits(tg, sd, batches), vits(torch, sd, batches))

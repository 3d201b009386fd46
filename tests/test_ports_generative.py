"""Generative-model programs, ported: each written once, as its authors write it, against a module ``T`` (torch or
tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and data for a few steps in
float64; losses, outputs, gradients and final weights agree to ~1e-10. Random noise is drawn in numpy and passed in,
so both see the same. Skipped without torch.

Programs: DDPM (lucidrains' denoising-diffusion-pytorch minimal form: linear / cosine beta schedules with cumprod,
F.pad of alphas_cumprod, extract by gather, a tiny UNet with sinusoidal time embeddings, GroupNorm and SiLU,
q_sample / p_losses with l1, l2 and huber losses, an EMA by lerp_, ancestral and DDIM sampling under no_grad).
"""
import math
from functools import partial
from importlib import import_module

import numpy as np
import pytest

import tinygrad_rnn as tg
from conftest import default_dtype
from ports import compare as _compare, load as _load, state as _state


@pytest.fixture
def torch():
    """torch, with float64 as both libraries' default dtype for the test, seeded (the weights torch draws for a
    program are the same every run)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    with default_dtype("float64"):
        yield torch


def _rng(seed=0):
    return np.random.default_rng(seed)


def _grads(m):
    return {k: p.grad.clone() for k, p in m.named_parameters() if p.grad is not None}


# ------------------------------------------------------------------------------------------------------------- DDPM
def ddpm(T, sd, x0s, ts, noises, sample_noise, loss_type="l2", schedule="linear"):
    """lucidrains' denoising-diffusion-pytorch, minimal: schedules, extract, a tiny UNet with sinusoidal position
    embeddings, q_sample / p_losses, Adam, an EMA of the weights, ancestral and DDIM sampling."""
    nn = T.nn
    F = T.nn.functional

    def linear_beta_schedule(timesteps):
        scale = 1000 / timesteps
        beta_start = scale * 0.0001
        beta_end = scale * 0.02
        return T.linspace(beta_start, beta_end, timesteps, dtype=T.float64)

    def cosine_beta_schedule(timesteps, s=0.008):
        steps = timesteps + 1
        t = T.linspace(0, timesteps, steps, dtype=T.float64) / timesteps
        alphas_cumprod = T.cos((t + s) / (1 + s) * math.pi * 0.5) ** 2
        alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
        betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
        return T.clip(betas, 0, 0.999)

    def extract(a, t, x_shape):
        b, *_ = t.shape
        out = a.gather(-1, t)
        return out.reshape(b, *((1,) * (len(x_shape) - 1)))

    class SinusoidalPosEmb(nn.Module):
        def __init__(self, dim, theta=10000):
            super().__init__()
            self.dim = dim
            self.theta = theta

        def forward(self, x):
            device = x.device
            half_dim = self.dim // 2
            emb = math.log(self.theta) / (half_dim - 1)
            emb = T.exp(T.arange(half_dim, device=device) * -emb)
            emb = x[:, None] * emb[None, :]
            emb = T.cat((emb.sin(), emb.cos()), dim=-1)
            return emb

    class Block(nn.Module):
        def __init__(self, dim, dim_out, groups=2):
            super().__init__()
            self.proj = nn.Conv2d(dim, dim_out, 3, padding=1)
            self.norm = nn.GroupNorm(groups, dim_out)
            self.act = nn.SiLU()

        def forward(self, x, scale_shift=None):
            x = self.proj(x)
            x = self.norm(x)
            if scale_shift is not None:
                scale, shift = scale_shift
                x = x * (scale + 1) + shift
            return self.act(x)

    class ResnetBlock(nn.Module):
        def __init__(self, dim, dim_out, *, time_emb_dim=None, groups=2):
            super().__init__()
            self.mlp = nn.Sequential(nn.SiLU(), nn.Linear(time_emb_dim, dim_out * 2)) if time_emb_dim else None
            self.block1 = Block(dim, dim_out, groups=groups)
            self.block2 = Block(dim_out, dim_out, groups=groups)
            self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

        def forward(self, x, time_emb=None):
            scale_shift = None
            if self.mlp is not None and time_emb is not None:
                time_emb = self.mlp(time_emb)
                time_emb = time_emb[:, :, None, None]  # rearrange 'b c -> b c 1 1'
                scale_shift = time_emb.chunk(2, dim=1)
            h = self.block1(x, scale_shift=scale_shift)
            h = self.block2(h)
            return h + self.res_conv(x)

    class Unet(nn.Module):
        def __init__(self, dim=4, channels=1):
            super().__init__()
            self.channels = channels
            self.init_conv = nn.Conv2d(channels, dim, 7, padding=3)
            time_dim = dim * 4
            self.time_mlp = nn.Sequential(SinusoidalPosEmb(dim), nn.Linear(dim, time_dim), nn.GELU(),
                                          nn.Linear(time_dim, time_dim))
            self.down = ResnetBlock(dim, dim * 2, time_emb_dim=time_dim)
            self.downsample = nn.Conv2d(dim * 2, dim * 2, 4, 2, 1)
            self.mid = ResnetBlock(dim * 2, dim * 2, time_emb_dim=time_dim)
            self.upsample = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                          nn.Conv2d(dim * 2, dim * 2, 3, padding=1))
            self.up = ResnetBlock(dim * 4, dim, time_emb_dim=time_dim)
            self.final_conv = nn.Conv2d(dim, channels, 1)

        def forward(self, x, time):
            x = self.init_conv(x)
            t = self.time_mlp(time)
            h = self.down(x, t)
            x = self.mid(self.downsample(h), t)
            x = self.upsample(x)
            x = T.cat((x, h), dim=1)
            x = self.up(x, t)
            return self.final_conv(x)

    class GaussianDiffusion(nn.Module):
        def __init__(self, model, *, image_size, timesteps=1000, sampling_timesteps=None, beta_schedule="linear",
                     loss_type="l2", ddim_sampling_eta=0.):
            super().__init__()
            self.model = model
            self.channels = model.channels
            self.image_size = image_size
            betas = linear_beta_schedule(timesteps) if beta_schedule == "linear" else cosine_beta_schedule(timesteps)
            alphas = 1. - betas
            alphas_cumprod = T.cumprod(alphas, dim=0)
            alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.)
            timesteps, = betas.shape
            self.num_timesteps = int(timesteps)
            self.loss_type = loss_type
            self.sampling_timesteps = sampling_timesteps if sampling_timesteps is not None else timesteps
            self.ddim_sampling_eta = ddim_sampling_eta
            register_buffer = lambda name, val: self.register_buffer(name, val.to(T.float64))
            register_buffer("betas", betas)
            register_buffer("alphas_cumprod", alphas_cumprod)
            register_buffer("alphas_cumprod_prev", alphas_cumprod_prev)
            register_buffer("sqrt_alphas_cumprod", T.sqrt(alphas_cumprod))
            register_buffer("sqrt_one_minus_alphas_cumprod", T.sqrt(1. - alphas_cumprod))
            register_buffer("log_one_minus_alphas_cumprod", T.log(1. - alphas_cumprod))
            register_buffer("sqrt_recip_alphas_cumprod", T.sqrt(1. / alphas_cumprod))
            register_buffer("sqrt_recipm1_alphas_cumprod", T.sqrt(1. / alphas_cumprod - 1))
            posterior_variance = betas * (1. - alphas_cumprod_prev) / (1. - alphas_cumprod)
            register_buffer("posterior_variance", posterior_variance)
            register_buffer("posterior_log_variance_clipped", T.log(posterior_variance.clamp(min=1e-20)))
            register_buffer("posterior_mean_coef1", betas * T.sqrt(alphas_cumprod_prev) / (1. - alphas_cumprod))
            register_buffer("posterior_mean_coef2",
                            (1. - alphas_cumprod_prev) * T.sqrt(alphas) / (1. - alphas_cumprod))

        def predict_start_from_noise(self, x_t, t, noise):
            return (extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t
                    - extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape) * noise)

        def predict_noise_from_start(self, x_t, t, x0):
            return ((extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t - x0)
                    / extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape))

        def q_posterior(self, x_start, x_t, t):
            posterior_mean = (extract(self.posterior_mean_coef1, t, x_t.shape) * x_start
                              + extract(self.posterior_mean_coef2, t, x_t.shape) * x_t)
            posterior_variance = extract(self.posterior_variance, t, x_t.shape)
            posterior_log_variance_clipped = extract(self.posterior_log_variance_clipped, t, x_t.shape)
            return posterior_mean, posterior_variance, posterior_log_variance_clipped

        def model_predictions(self, x, t, clip_x_start=False):
            pred_noise = self.model(x, t)
            x_start = self.predict_start_from_noise(x, t, pred_noise)
            if clip_x_start:
                x_start = T.clamp(x_start, min=-1., max=1.)
                pred_noise = self.predict_noise_from_start(x, t, x_start)
            return pred_noise, x_start

        def p_mean_variance(self, x, t, clip_denoised=True):
            _, x_start = self.model_predictions(x, t)
            if clip_denoised:
                x_start.clamp_(-1., 1.)
            model_mean, posterior_variance, posterior_log_variance = self.q_posterior(x_start=x_start, x_t=x, t=t)
            return model_mean, posterior_variance, posterior_log_variance, x_start

        @T.no_grad()
        def p_sample(self, x, t: int, noise):
            b, *_ = x.shape
            batched_times = T.full((b,), t, device=x.device, dtype=T.long)
            model_mean, _, model_log_variance, x_start = self.p_mean_variance(x=x, t=batched_times)
            noise = noise if t > 0 else 0.
            pred_img = model_mean + (0.5 * model_log_variance).exp() * noise
            return pred_img, x_start

        @T.no_grad()
        def p_sample_loop(self, img, noises):
            imgs = [img]
            for t in reversed(range(0, self.num_timesteps)):
                img, x_start = self.p_sample(img, t, T.from_numpy(noises[t]))
                imgs.append(img)
            return img, T.stack(imgs, dim=1)

        @T.no_grad()
        def ddim_sample(self, img, noises):
            batch = img.shape[0]
            total_timesteps, sampling_timesteps, eta = (self.num_timesteps, self.sampling_timesteps,
                                                        self.ddim_sampling_eta)
            times = T.linspace(-1, total_timesteps - 1, steps=sampling_timesteps + 1)
            times = list(reversed(times.int().tolist()))
            time_pairs = list(zip(times[:-1], times[1:]))
            x_start = None
            for i, (time, time_next) in enumerate(time_pairs):
                time_cond = T.full((batch,), time, dtype=T.long)
                pred_noise, x_start, *_ = self.model_predictions(img, time_cond, clip_x_start=True)
                if time_next < 0:
                    img = x_start
                    continue
                alpha = self.alphas_cumprod[time]
                alpha_next = self.alphas_cumprod[time_next]
                sigma = eta * ((1 - alpha / alpha_next) * (1 - alpha_next) / (1 - alpha)).sqrt()
                c = (1 - alpha_next - sigma ** 2).sqrt()
                noise = T.from_numpy(noises[i])
                img = x_start * alpha_next.sqrt() + c * pred_noise + sigma * noise
            return img

        def q_sample(self, x_start, t, noise=None):
            return (extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
                    + extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

        @property
        def loss_fn(self):
            if self.loss_type == "l1":
                return F.l1_loss
            elif self.loss_type == "l2":
                return F.mse_loss
            elif self.loss_type == "huber":
                return F.smooth_l1_loss
            raise ValueError(f"invalid loss type {self.loss_type}")

        def p_losses(self, x_start, t, noise):
            x = self.q_sample(x_start=x_start, t=t, noise=noise)
            model_out = self.model(x, t)
            loss = self.loss_fn(model_out, noise, reduction="none")
            loss = loss.reshape(loss.shape[0], -1).mean(dim=1)  # reduce(loss, 'b ... -> b', 'mean')
            return loss.mean()

        def forward(self, img, t, noise):
            b, c, h, w = img.shape
            assert h == self.image_size and w == self.image_size, f"height and width of image must be {self.image_size}"
            img = img * 2 - 1  # normalize_to_neg_one_to_one
            return self.p_losses(img, t, noise)

    diffusion = GaussianDiffusion(Unet(), image_size=4, timesteps=6, sampling_timesteps=3, beta_schedule=schedule,
                                  loss_type=loss_type, ddim_sampling_eta=0.5)
    if sd is None:
        return _state(diffusion)
    _load(T, diffusion, sd)
    ema_model = GaussianDiffusion(Unet(), image_size=4, timesteps=6, beta_schedule=schedule)
    ema_model.load_state_dict(diffusion.state_dict())
    ema_model.requires_grad_(False)
    ema_model.eval()
    opt = T.optim.Adam(diffusion.parameters(), lr=1e-3, betas=(0.9, 0.99))
    out = [diffusion.betas, diffusion.posterior_log_variance_clipped]
    for x0, t, noise in zip(x0s, ts, noises):
        loss = diffusion(T.from_numpy(x0), T.from_numpy(t), T.from_numpy(noise))
        loss.backward()
        norm = T.nn.utils.clip_grad_norm_(diffusion.parameters(), 1.0)
        out += [loss, norm, _grads(diffusion)]
        opt.step()
        opt.zero_grad()
        with T.no_grad():  # EMA (ema-pytorch's lerp_ update)
            for ma, cur in zip(ema_model.parameters(), diffusion.parameters()):
                ma.lerp_(cur, 1 - 0.9)
            for mb, cb in zip(ema_model.buffers(), diffusion.buffers()):
                mb.copy_(cb)
    out.append(diffusion.state_dict())
    out.append(ema_model.state_dict())
    img, imgs = ema_model.p_sample_loop(T.from_numpy(sample_noise[0]), sample_noise[1:])
    out += [img, imgs, diffusion.ddim_sample(T.from_numpy(sample_noise[0]), sample_noise[1:])]
    return out


@pytest.mark.parametrize("loss_type,schedule", [("l2", "linear"), ("l1", "cosine"), ("huber", "linear")])
def test_ddpm_training_ema_and_sampling(torch, loss_type, schedule):
    rng = _rng()
    sd = ddpm(torch, None, None, None, None, None, loss_type, schedule)
    x0s = rng.random((3, 2, 1, 4, 4))
    ts = rng.integers(0, 6, (3, 2))
    noises = rng.standard_normal((3, 2, 1, 4, 4))
    sample_noise = rng.standard_normal((7, 2, 1, 4, 4))
    _compare(ddpm(tg, sd, x0s, ts, noises, sample_noise, loss_type, schedule),
             ddpm(torch, sd, x0s, ts, noises, sample_noise, loss_type, schedule))

"""Generative-model programs, ported: each written once, as its authors write it, against a module ``T`` (torch or
tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and data for a few steps in
float64; losses, outputs, gradients and final weights agree to ~1e-10. Random noise is drawn in numpy and passed in,
so both see the same. Skipped without torch.

Programs: DDPM (lucidrains' denoising-diffusion-pytorch minimal form: linear / cosine beta schedules with cumprod,
F.pad of alphas_cumprod, extract by gather, a tiny UNet with sinusoidal time embeddings, GroupNorm and SiLU,
q_sample / p_losses with l1, l2 and huber losses, an EMA by lerp_, ancestral and DDIM sampling under no_grad);
score matching (annealed denoising score matching, sliced score matching with autograd.grad(create_graph=True));
an energy-based model trained by contrastive divergence with SGLD and a replay buffer (JEM / IGEBM: gradients with
respect to the input, in-place .data updates, clamp_); rectified flow / conditional flow matching with Euler
sampling and a reflow step; EDM's preconditioning, loss and Heun sampler with consistency training against an
EMA; a PixelCNN (type A / B masked convolutions, 256-way cross entropy in bits/dim); a Glow step (ActNorm with
data-dependent init, the LU-parametrised invertible 1x1 convolution, affine coupling, bits/dim, the inverse); an
MDLM-style masked discrete diffusion LM (log-linear schedule, SUBS parametrisation, ancestral sampling); NCSN with
ConditionalInstanceNorm2d++ and annealed Langevin dynamics; improved-diffusion's hybrid loss (learned variance,
normal_kl, the discretized Gaussian log-likelihood, the vb term through a frozen mean); an FFJORD-style continuous
normalizing flow (exact divergence by an autograd.grad loop and Hutchinson's estimator, RK4, backpropagation
through the solver); continuous-time consistency training (sCM: TrigFlow, tangents by torch.func.jvp through
functional_call, adaptive weighting); MADE (uint8 mask buffers set from numpy, resampled orders) stacked into a
MAF with BatchNormFlow and reversals, and its inverse; nflows' rational-quadratic spline coupling (linear tails by
masked assignment, searchsorted by comparisons, gathers, the inverse's quadratic root); DiT (patch embedding,
sin-cos position embeddings from numpy, adaLN-Zero blocks with scaled_dot_product_attention, label dropout,
unpatchify by einsum, classifier-free guidance); latent diffusion's AutoencoderKL losses (DiagonalGaussian
posterior, learned logvar, NLayerDiscriminator, the adaptive discriminator weight by autograd.grad of both losses,
hinge / vanilla losses, two alternating optimizers).
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, load as _load, rng as _rng, state as _state


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


# --------------------------------------------------------------------------------------------------- score matching
def score_matching(T, sd, xs, sigmas, noises, vs):
    """Denoising score matching (Vincent; Song & Ermon's anneal_dsm_score_estimation with noise-conditional
    sigmas) and sliced score matching (Song et al.: autograd.grad(create_graph=True) of (v * score).sum())."""
    nn = T.nn
    autograd = T.autograd

    class ScoreNet(nn.Module):
        def __init__(self, dim=2, hidden=16, n_sigmas=3):
            super().__init__()
            self.fc1 = nn.Linear(dim, hidden)
            self.embed = nn.Embedding(n_sigmas, hidden)
            self.fc2 = nn.Linear(hidden, hidden)
            self.out = nn.Linear(hidden, dim)

        def forward(self, x, labels=None):
            h = self.fc1(x)
            if labels is not None:
                h = h * self.embed(labels).exp()
            h = T.nn.functional.softplus(h)
            h = T.tanh(self.fc2(h))
            return self.out(h)

    def anneal_dsm_score_estimation(scorenet, samples, labels, sigmas, noise, anneal_power=2.):
        used_sigmas = sigmas[labels].view(samples.shape[0], *([1] * len(samples.shape[1:])))
        perturbed_samples = samples + noise * used_sigmas
        target = - 1 / (used_sigmas ** 2) * (perturbed_samples - samples)
        scores = scorenet(perturbed_samples, labels)
        target = target.view(target.shape[0], -1)
        scores = scores.view(scores.shape[0], -1)
        loss = 1 / 2. * ((scores - target) ** 2).sum(dim=-1) * used_sigmas.squeeze() ** anneal_power
        return loss.mean(dim=0)

    def sliced_score_estimation_vr(score_net, samples, vectors):
        dup_samples = samples.unsqueeze(0).expand(vectors.shape[0], *samples.shape).contiguous().view(
            -1, *samples.shape[1:])
        dup_samples.requires_grad_(True)
        vectors = vectors.view(-1, *vectors.shape[2:])
        grad1 = score_net(dup_samples)
        gradv = T.sum(grad1 * vectors)
        grad2 = autograd.grad(gradv, dup_samples, create_graph=True)[0]
        grad1 = grad1.view(dup_samples.shape[0], -1)
        loss1 = T.sum(grad1 * grad1, dim=-1) / 2.
        loss2 = T.sum((vectors * grad2).view(dup_samples.shape[0], -1), dim=-1)
        loss = loss1 + loss2
        return loss.mean(), loss1.mean(), loss2.mean()

    def sliced_score_matching(score_net, samples, vectors):
        samples.requires_grad_(True)
        grad1 = score_net(samples)
        gradv = T.sum(grad1 * vectors)
        loss1 = T.sum(grad1 * vectors, dim=-1) ** 2 * 0.5
        grad2 = autograd.grad(gradv, samples, create_graph=True)[0]
        loss2 = T.sum(vectors * grad2, dim=-1)
        return (loss1 + loss2).mean()

    net = ScoreNet()
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    optimizer = T.optim.Adam(net.parameters(), lr=1e-2, weight_decay=0.000, betas=(0.9, 0.999), amsgrad=True)
    sig = T.tensor(sigmas)
    out = []
    for x, noise, v in zip(xs, noises, vs):
        X = T.from_numpy(x)
        labels = T.tensor([i % len(sigmas) for i in range(X.shape[0])])
        dsm = anneal_dsm_score_estimation(net, X, labels, sig, T.from_numpy(noise))
        ssm_vr, l1, l2 = sliced_score_estimation_vr(net, X.clone(), T.from_numpy(v))
        ssm = sliced_score_matching(net, X.clone(), T.from_numpy(v[0]))
        loss = dsm + ssm_vr + 0.5 * ssm
        optimizer.zero_grad()
        loss.backward()
        out += [dsm, ssm_vr, l1, l2, ssm, _grads(net)]
        optimizer.step()
    out.append(net.state_dict())
    return out


def test_denoising_and_sliced_score_matching(torch):
    rng = _rng()
    sd = score_matching(torch, None, None, None, None, None)
    xs, noises = rng.standard_normal((3, 6, 2)), rng.standard_normal((3, 6, 2))
    vs = rng.standard_normal((3, 2, 6, 2))
    sigmas = np.exp(np.linspace(np.log(1.0), np.log(0.1), 3))
    _compare(score_matching(tg, sd, xs, sigmas, noises, vs), score_matching(torch, sd, xs, sigmas, noises, vs))


# --------------------------------------------------------------------------------------------------------- EBM (JEM)
def ebm(T, sd, xs, buffer0, reinit, reinit_noise, sgld_noises, rand_idx):
    """An energy-based model trained by contrastive divergence with SGLD from a replay buffer (JEM / IGEBM style):
    x.requires_grad_(), autograd.grad of the energy with respect to the input, in-place x.data.add_ steps,
    clamp_, a replay buffer refreshed with the chains' ends."""
    nn = T.nn

    class EnergyNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(4, 4, 3, 2, 1),
                                   nn.Softplus(), nn.Flatten(), nn.Linear(16, 1))

        def forward(self, x):
            return self.f(x).squeeze()

    f = EnergyNet()
    if sd is None:
        return _state(f)
    _load(T, f, sd)
    replay_buffer = T.from_numpy(buffer0.copy())
    step_size, sgld_std, n_steps = 1., 0.01, 4

    def sample_p_0(bs, k):
        if len(replay_buffer) == 0:
            return T.from_numpy(reinit_noise[k]), []
        inds = T.from_numpy(rand_idx[k])
        buffer_samples = replay_buffer[inds]
        random_samples = T.from_numpy(reinit_noise[k])
        choose_random = T.from_numpy(reinit[k]).float()[:, None, None, None]
        samples = choose_random * random_samples + (1 - choose_random) * buffer_samples
        return samples, inds

    def sample_q(bs, k):
        f.eval()
        init_sample, buffer_inds = sample_p_0(bs, k)
        x_k = T.autograd.Variable(init_sample, requires_grad=True)
        for s in range(n_steps):
            f_prime = T.autograd.grad(f(x_k).sum(), [x_k], retain_graph=True)[0]
            x_k.data += step_size * f_prime + sgld_std * T.from_numpy(sgld_noises[k][s])
        f.train()
        final_samples = x_k.detach()
        if len(replay_buffer) > 0:
            replay_buffer[buffer_inds] = final_samples
        return final_samples

    def langevin(x, k):  # IGEBM's variant: in-place add_ and clamp_ of a leaf with requires_grad_
        x = x.clone().detach()
        x.requires_grad_()
        for s in range(n_steps):
            energy = -f(x)
            x_grad, = T.autograd.grad([energy.sum()], [x])
            x.data.add_(x_grad.data, alpha=-0.1)
            x.data.add_(T.from_numpy(sgld_noises[k][s]) * 0.005)
            x.data.clamp_(-1, 1)
        return x.detach()

    optim = T.optim.Adam(f.parameters(), lr=1e-3, betas=(0., .999))
    out = []
    for k, x in enumerate(xs):
        x_lab = T.from_numpy(x)
        x_q = sample_q(x_lab.shape[0], k)
        x_l = langevin(x_lab, k)
        fp, fq = f(x_lab).mean(), f(x_q).mean()
        l_p_x = -(fp - fq)
        reg = (f(x_lab) ** 2).mean() * 0.1 + (f(x_l) ** 2).mean() * 0.1
        loss = l_p_x + reg
        optim.zero_grad()
        loss.backward()
        out += [x_q, x_l, fp, fq, loss, _grads(f)]
        optim.step()
    out += [replay_buffer, f.state_dict()]
    return out


def test_ebm_sgld_replay_buffer(torch):
    rng = _rng()
    sd = ebm(torch, None, None, None, None, None, None, None)
    xs = rng.uniform(-1, 1, (3, 4, 1, 4, 4))
    buffer0 = rng.uniform(-1, 1, (10, 1, 4, 4))
    reinit = rng.random((3, 4)) < 0.3
    reinit_noise = rng.uniform(-1, 1, (3, 4, 1, 4, 4))
    sgld_noises = rng.standard_normal((3, 4, 4, 1, 4, 4))
    rand_idx = np.stack([rng.choice(10, 4, replace=False) for _ in range(3)])
    args = xs, buffer0, reinit, reinit_noise, sgld_noises, rand_idx
    _compare(ebm(tg, sd, *args), ebm(torch, sd, *args))


# ---------------------------------------------------------------------------------------------------- flow matching
def flow_matching(T, sd, x1s, x0s, ts, z0):
    """Conditional flow matching / rectified flow (torchcfm-style): a velocity MLP on cat([x, t]), linear paths
    x_t = t x1 + (1 - t) x0 with target x1 - x0, MSE, Euler sampling under no_grad; then a reflow step on the
    sampled couplings."""
    nn = T.nn

    class MLP(nn.Module):
        def __init__(self, dim, out_dim=None, w=32, time_varying=True):
            super().__init__()
            self.time_varying = time_varying
            if out_dim is None:
                out_dim = dim
            self.net = nn.Sequential(nn.Linear(dim + (1 if time_varying else 0), w), nn.SELU(), nn.Linear(w, w),
                                     nn.SELU(), nn.Linear(w, out_dim))

        def forward(self, x):
            return self.net(x)

    model = MLP(dim=2, time_varying=True)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.AdamW(model.parameters(), lr=1e-2)
    out = []

    def train_step(x0, x1, t):
        optimizer.zero_grad()
        t = t[:, None]
        xt = t * x1 + (1 - t) * x0
        ut = x1 - x0
        vt = model(T.cat([xt, t], dim=-1))
        loss = T.mean((vt - ut) ** 2)
        loss.backward()
        out.extend([loss, _grads(model)])
        optimizer.step()

    @T.no_grad()
    def euler(z, N=4):
        dt = 1. / N
        traj = [z.detach().clone()]
        for i in range(N):
            t = T.ones((z.shape[0], 1)) * i / N
            pred = model(T.cat([z, t], dim=1))
            z = z.detach().clone() + pred * dt
            traj.append(z.detach().clone())
        return traj

    for x0, x1, t in zip(x0s, x1s, ts):
        train_step(T.from_numpy(x0), T.from_numpy(x1), T.from_numpy(t))
    traj = euler(T.from_numpy(z0))
    out.append(T.stack(traj))
    # reflow: retrain on (z0, sampled z1) pairs
    z1 = traj[-1]
    train_step(T.from_numpy(z0), z1, T.from_numpy(ts[0][: z0.shape[0]]))
    out.append(model.state_dict())
    return out


def test_flow_matching_rectified_flow(torch):
    rng = _rng()
    sd = flow_matching(torch, None, None, None, None, None)
    x1s = rng.standard_normal((3, 8, 2)) * .5 + 2
    x0s, ts = rng.standard_normal((3, 8, 2)), rng.random((3, 8))
    z0 = rng.standard_normal((8, 2))
    _compare(flow_matching(tg, sd, x1s, x0s, ts, z0), flow_matching(torch, sd, x1s, x0s, ts, z0))


# ----------------------------------------------------------------------------------------------------------- EDM
def edm(T, sd, ys, rnd_normals, noises, latents):
    """Karras et al.'s EDM (NVlabs/edm): EDMPrecond (c_skip, c_out, c_in, c_noise = log(sigma) / 4), EDMLoss with
    log-normal sigmas and the weight (sigma^2 + sigma_data^2) / (sigma sigma_data)^2, the Heun sampler with
    rho-spaced time steps; and a consistency-training loss between adjacent sigmas against an EMA target."""
    nn = T.nn

    class Denoiser(nn.Module):
        def __init__(self, dim=3, hidden=16):
            super().__init__()
            self.map_noise = nn.Linear(1, hidden)
            self.inp = nn.Linear(dim, hidden)
            self.mid = nn.Linear(hidden, hidden)
            self.out = nn.Linear(hidden, dim)

        def forward(self, x, noise_labels, class_labels=None):
            emb = T.nn.functional.silu(self.map_noise(noise_labels.reshape(-1, 1)))
            h = T.nn.functional.silu(self.inp(x) + emb)
            return self.out(T.nn.functional.silu(self.mid(h)))

    class EDMPrecond(nn.Module):
        def __init__(self, img_resolution, sigma_min=0, sigma_max=float("inf"), sigma_data=0.5):
            super().__init__()
            self.sigma_min = sigma_min
            self.sigma_max = sigma_max
            self.sigma_data = sigma_data
            self.model = Denoiser(img_resolution)

        def forward(self, x, sigma, class_labels=None, force_fp32=False, **model_kwargs):
            x = x.to(T.float64)
            sigma = sigma.to(T.float64).reshape(-1, 1)
            dtype = T.float64
            c_skip = self.sigma_data ** 2 / (sigma ** 2 + self.sigma_data ** 2)
            c_out = sigma * self.sigma_data / (sigma ** 2 + self.sigma_data ** 2).sqrt()
            c_in = 1 / (self.sigma_data ** 2 + sigma ** 2).sqrt()
            c_noise = sigma.log() / 4
            F_x = self.model((c_in * x).to(dtype), c_noise.flatten(), class_labels=class_labels, **model_kwargs)
            assert F_x.dtype == dtype
            D_x = c_skip * x + c_out * F_x.to(T.float64)
            return D_x

        def round_sigma(self, sigma):
            return T.as_tensor(sigma)

    class EDMLoss:
        def __init__(self, P_mean=-1.2, P_std=1.2, sigma_data=0.5):
            self.P_mean = P_mean
            self.P_std = P_std
            self.sigma_data = sigma_data

        def __call__(self, net, images, rnd_normal, noise, labels=None):
            rnd_normal = rnd_normal.reshape(images.shape[0], 1)
            sigma = (rnd_normal * self.P_std + self.P_mean).exp()
            weight = (sigma ** 2 + self.sigma_data ** 2) / (sigma * self.sigma_data) ** 2
            y = images
            n = noise * sigma
            D_yn = net(y + n, sigma, labels)
            loss = weight * ((D_yn - y) ** 2)
            return loss

    def edm_sampler(net, latents, num_steps=4, sigma_min=0.002, sigma_max=80, rho=7):
        sigma_min = max(sigma_min, net.sigma_min)
        sigma_max = min(sigma_max, net.sigma_max)
        step_indices = T.arange(num_steps, dtype=T.float64, device=latents.device)
        t_steps = (sigma_max ** (1 / rho) + step_indices / (num_steps - 1) * (sigma_min ** (1 / rho)
                                                                             - sigma_max ** (1 / rho))) ** rho
        t_steps = T.cat([net.round_sigma(t_steps), T.zeros_like(t_steps[:1])])
        x_next = latents.to(T.float64) * t_steps[0]
        for i, (t_cur, t_next) in enumerate(zip(t_steps[:-1], t_steps[1:])):
            x_cur = x_next
            t_hat = net.round_sigma(t_cur)
            x_hat = x_cur
            denoised = net(x_hat, t_hat).to(T.float64)
            d_cur = (x_hat - denoised) / t_hat
            x_next = x_hat + (t_next - t_hat) * d_cur
            if i < num_steps - 1:
                denoised = net(x_next, t_next).to(T.float64)
                d_prime = (x_next - denoised) / t_next
                x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
        return x_next

    net = EDMPrecond(3)
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    import copy
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    loss_fn = EDMLoss()
    optimizer = T.optim.Adam(net.parameters(), lr=1e-3, betas=[0.9, 0.999], eps=1e-8)
    out = []
    for y, rn, noise in zip(ys, rnd_normals, noises):
        images = T.from_numpy(y)
        loss = loss_fn(net=net, images=images, rnd_normal=T.from_numpy(rn), noise=T.from_numpy(noise))
        # consistency training (Song et al.): adjacent Karras sigmas, the target through the EMA network
        sig = (T.from_numpy(rn).abs() * 2 + 0.01)
        sig_next = sig * 1.3
        x_next = images + T.from_numpy(noise) * sig_next[:, None]
        x_cur = images + T.from_numpy(noise) * sig[:, None]
        with T.no_grad():
            target = ema(x_cur, sig)
        ct = T.nn.functional.mse_loss(net(x_next, sig_next), target)
        total = loss.sum().mul(1 / images.shape[0]) + ct
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        for param in net.parameters():
            if param.grad is not None:
                T.nan_to_num(param.grad, nan=0, posinf=1e5, neginf=-1e5, out=param.grad)
        out += [loss, ct, _grads(net)]
        optimizer.step()
        ema_beta = 0.5
        for p_ema, p_net in zip(ema.parameters(), net.parameters()):
            p_ema.copy_(p_net.detach().lerp(p_ema, ema_beta))
    with T.no_grad():
        out.append(edm_sampler(ema, T.from_numpy(latents)))
    out += [net.state_dict(), ema.state_dict()]
    return out


def test_edm_preconditioning_loss_and_heun_sampler(torch):
    rng = _rng()
    sd = edm(torch, None, None, None, None, None)
    ys, rnd_normals = rng.standard_normal((3, 5, 3)) * .5, rng.standard_normal((3, 5))
    noises, latents = rng.standard_normal((3, 5, 3)), rng.standard_normal((5, 3))
    _compare(edm(tg, sd, ys, rnd_normals, noises, latents), edm(torch, sd, ys, rnd_normals, noises, latents))


# --------------------------------------------------------------------------------------------------------- PixelCNN
def pixelcnn(T, sd, imgs):
    """A PixelCNN (van den Oord et al., as in the common MaskedConv2d ports): masked convolutions whose mask is a
    registered buffer multiplied into the weight before F.conv2d (type A then B masks), a 256-way softmax per pixel
    trained with cross entropy on the quantised image, the loss in bits/dim; a raster-order sampling pass."""
    nn = T.nn
    F = T.nn.functional

    class MaskedConv2d(nn.Conv2d):
        def __init__(self, mask_type, *args, **kwargs):
            super(MaskedConv2d, self).__init__(*args, **kwargs)
            assert mask_type in {"A", "B"}
            self.register_buffer("mask", self.weight.data.clone())
            _, _, kH, kW = self.weight.size()
            self.mask.fill_(1)
            self.mask[:, :, kH // 2, kW // 2 + (mask_type == "B"):] = 0
            self.mask[:, :, kH // 2 + 1:] = 0

        def forward(self, x):
            return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding, self.dilation,
                            self.groups)

    fm = 6
    net = nn.Sequential(
        MaskedConv2d("A", 1, fm, 5, 1, 2, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
        MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
        MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
        nn.Conv2d(fm, 256, 1))
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    optimizer = T.optim.Adam(net.parameters(), lr=1e-3)
    out = []
    for img in imgs:
        input = T.from_numpy(img)
        target = (input.data[:, 0] * 255).long()
        output = net(input)
        loss = F.cross_entropy(output, target)
        bpd = loss / math.log(2.)
        optimizer.zero_grad()
        loss.backward()
        out += [output, loss, bpd, _grads(net)]
        optimizer.step()
    out.append(net.state_dict())
    # masks: the output at a pixel does not depend on that pixel or later ones
    net.eval()
    x = T.from_numpy(imgs[0][:1]).clone().requires_grad_(True)
    net(x)[0, :, 2, 1].sum().backward()
    out.append(x.grad)
    sample = T.zeros(2, 1, 4, 4)
    for i in range(4):
        for j in range(4):
            with T.no_grad():
                probs = F.softmax(net(sample)[:, :, i, j], dim=1)
            sample[:, :, i, j] = probs.argmax(1, keepdim=True).double() / 255.  # (greedy: no sampled draws)
    out.append(sample)
    return out


def test_pixelcnn_masked_convolutions(torch):
    rng = _rng()
    sd = pixelcnn(torch, None, None)
    imgs = rng.integers(0, 256, (3, 2, 1, 4, 4)) / 255.
    ours, theirs = pixelcnn(tg, sd, imgs), pixelcnn(torch, sd, imgs)
    _compare(ours, theirs)
    g = theirs[-2].numpy()[0, 0]
    assert np.all(g[2, 1:] == 0) and np.all(g[3:] == 0) and np.any(g[:2] != 0)


# ------------------------------------------------------------------------------------------------------------- Glow
def glow(T, sd, xs):
    """A Glow step (rosinality's glow-pytorch): ActNorm with data-dependent initialisation on the first batch (a
    uint8 flag buffer), an invertible 1x1 convolution with the LU parametrisation (scipy-style w_p, w_l, w_s, w_u
    from linalg.lu_factor + lu_unpack or linalg.lu, triu(., 1), diag_embed, the log-determinant as sum(log|s|) checked
    against slogdet), an affine coupling with a zero-initialised output conv, the log-likelihood in bits per dim;
    the inverse pass restoring the input."""
    nn = T.nn
    F = T.nn.functional
    logabs = lambda x: T.log(T.abs(x))  # noqa: E731

    class ActNorm(nn.Module):
        def __init__(self, in_channel, logdet=True):
            super().__init__()
            self.loc = nn.Parameter(T.zeros(1, in_channel, 1, 1))
            self.scale = nn.Parameter(T.ones(1, in_channel, 1, 1))
            self.register_buffer("initialized", T.tensor(0, dtype=T.uint8))
            self.logdet = logdet

        def initialize(self, input):
            with T.no_grad():
                flatten = input.permute(1, 0, 2, 3).contiguous().view(input.shape[1], -1)
                mean = (flatten.mean(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3))
                std = (flatten.std(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3))
                self.loc.data.copy_(-mean)
                self.scale.data.copy_(1 / (std + 1e-6))

        def forward(self, input):
            _, _, height, width = input.shape
            if self.initialized.item() == 0:
                self.initialize(input)
                self.initialized.fill_(1)
            log_abs = logabs(self.scale)
            logdet = height * width * T.sum(log_abs)
            if self.logdet:
                return self.scale * (input + self.loc), logdet
            return self.scale * (input + self.loc)

        def reverse(self, output):
            return output / self.scale - self.loc

    class InvConv2dLU(nn.Module):
        def __init__(self, in_channel, weight, factor="lu_factor"):
            super().__init__()
            if factor == "lu_factor":
                LU, pivots = T.linalg.lu_factor(weight)
                w_p, w_l, w_u = T.lu_unpack(LU, pivots)
            else:
                w_p, w_l, w_u = T.linalg.lu(weight)
            w_s = T.diag(w_u)
            w_u = T.triu(w_u, 1)
            u_mask = T.triu(T.ones_like(w_u), 1)
            l_mask = u_mask.T
            self.register_buffer("w_p", w_p)
            self.register_buffer("u_mask", u_mask)
            self.register_buffer("l_mask", l_mask)
            self.register_buffer("s_sign", T.sign(w_s))
            self.register_buffer("l_eye", T.eye(l_mask.shape[0]))
            self.w_l = nn.Parameter(w_l)
            self.w_s = nn.Parameter(logabs(w_s))
            self.w_u = nn.Parameter(w_u)

        def forward(self, input):
            _, _, height, width = input.shape
            weight = self.calc_weight()
            out = F.conv2d(input, weight)
            logdet = height * width * T.sum(self.w_s)
            return out, logdet

        def calc_weight(self):
            weight = (self.w_p @ (self.w_l * self.l_mask + self.l_eye)
                      @ ((self.w_u * self.u_mask) + T.diag_embed(self.s_sign * T.exp(self.w_s))))
            return weight.unsqueeze(2).unsqueeze(3)

        def reverse(self, output):
            weight = self.calc_weight()
            return F.conv2d(output, weight.squeeze().inverse().unsqueeze(2).unsqueeze(3))

    class ZeroConv2d(nn.Module):
        def __init__(self, in_channel, out_channel, padding=1):
            super().__init__()
            self.conv = nn.Conv2d(in_channel, out_channel, 3, padding=0)
            self.conv.weight.data.zero_()
            self.conv.bias.data.zero_()
            self.scale = nn.Parameter(T.zeros(1, out_channel, 1, 1))

        def forward(self, input):
            out = F.pad(input, [1, 1, 1, 1], value=1)
            out = self.conv(out)
            out = out * T.exp(self.scale * 3)
            return out

    class AffineCoupling(nn.Module):
        def __init__(self, in_channel, filter_size=8, affine=True):
            super().__init__()
            self.affine = affine
            self.net = nn.Sequential(nn.Conv2d(in_channel // 2, filter_size, 3, padding=1), nn.ReLU(inplace=True),
                                     nn.Conv2d(filter_size, filter_size, 1), nn.ReLU(inplace=True),
                                     ZeroConv2d(filter_size, in_channel if self.affine else in_channel // 2))
            self.net[0].weight.data.normal_(0, 0.05)
            self.net[0].bias.data.zero_()
            self.net[2].weight.data.normal_(0, 0.05)
            self.net[2].bias.data.zero_()

        def forward(self, input):
            in_a, in_b = input.chunk(2, 1)
            if self.affine:
                log_s, t = self.net(in_a).chunk(2, 1)
                s = F.sigmoid(log_s + 2)
                out_b = (in_b + t) * s
                logdet = T.sum(T.log(s).view(input.shape[0], -1), 1)
            else:
                net_out = self.net(in_a)
                out_b = in_b + net_out
                logdet = None
            return T.cat([in_a, out_b], 1), logdet

        def reverse(self, output):
            out_a, out_b = output.chunk(2, 1)
            log_s, t = self.net(out_a).chunk(2, 1)
            s = F.sigmoid(log_s + 2)
            in_b = out_b / s - t
            return T.cat([out_a, in_b], 1)

    class Flow(nn.Module):
        def __init__(self, in_channel, weight, factor):
            super().__init__()
            self.actnorm = ActNorm(in_channel)
            self.invconv = InvConv2dLU(in_channel, weight, factor)
            self.coupling = AffineCoupling(in_channel)

        def forward(self, input):
            out, logdet = self.actnorm(input)
            out, det1 = self.invconv(out)
            out, det2 = self.coupling(out)
            logdet = logdet + det1
            if det2 is not None:
                logdet = logdet + det2
            return out, logdet

        def reverse(self, output):
            input = self.coupling.reverse(output)
            input = self.invconv.reverse(input)
            return self.actnorm.reverse(input)

    def gaussian_log_p(x, mean, log_sd):
        return -0.5 * math.log(2 * math.pi) - log_sd - 0.5 * (x - mean) ** 2 / T.exp(2 * log_sd)

    if isinstance(sd, tuple):  # (the rotation drawn in numpy: q of a QR, as glow-pytorch's la.qr(random))
        weight = T.from_numpy(sd[0])
        sd = sd[1]
    else:
        raise ValueError("glow: give (weight, state dict or None)")
    model = nn.ModuleList([Flow(4, weight, "lu_factor"), Flow(4, weight.flip(0), "linalg.lu")])
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-3)
    n_bins = 2. ** 5
    out = []
    for x in xs:
        image = T.from_numpy(x)
        image = T.floor(image * 255 / 2 ** (8 - 5))
        image = image / n_bins - 0.5
        h, logdet = image + T.from_numpy(x) / n_bins * 0.1, 0  # (the dequantisation noise, drawn outside)
        for flow in model:
            h, det = flow(h)
            logdet = logdet + det
        log_p = gaussian_log_p(h, T.zeros_like(h), T.zeros_like(h)).view(h.shape[0], -1).sum(1)
        n_pixel = image.shape[1] * image.shape[2] * image.shape[3]
        loss = -math.log(n_bins) * n_pixel
        loss = loss + logdet + log_p
        loss, log_p, log_det = ((-loss / (math.log(2) * n_pixel)).mean(), (log_p / (math.log(2) * n_pixel)).mean(),
                                (logdet / (math.log(2) * n_pixel)).mean())
        model.zero_grad()
        loss.backward()
        out += [h, loss, log_p, log_det, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    inv = model[1].invconv
    w = inv.calc_weight().squeeze()
    out += [T.slogdet(w), T.linalg.slogdet(w).logabsdet - inv.w_s.sum()]
    with T.no_grad():
        h = T.from_numpy(xs[0])
        z = model[1](model[0](h)[0])[0]
        out.append(model[0].reverse(model[1].reverse(z)) - h)
    return out


def test_glow_actnorm_lu_invconv_coupling(torch):
    rng = _rng()
    weight = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    sd = glow(torch, (weight, None), None)
    xs = rng.random((3, 2, 4, 3, 3))
    ours, theirs = glow(tg, (weight, sd), xs), glow(torch, (weight, sd), xs)
    _compare(ours, theirs)
    assert abs(theirs[-2].item()) < 1e-12 and np.abs(theirs[-1].numpy()).max() < 1e-12


# ------------------------------------------------------------------------------------------ masked diffusion (MDLM)
def mdlm(T, sd, tokens, ts, unif, sample_unif, gumbels):
    """A masked (absorbing-state) discrete diffusion LM, MDLM-lite (Sahoo et al.; D3PM-absorbing): a log-linear
    masking schedule, tokens replaced by [MASK] with probability 1 - alpha_t drawn by torch.rand-like uniforms
    passed in, a small transformer denoiser whose logits are -inf at [MASK] ("zero masking prob") and carried over
    where unmasked ("carry-over unmasking"), the continuous-time NELBO weight dsigma / expm1(sigma) on the masked
    positions' log-probabilities; and ancestral sampling by gumbel-max with given noise."""
    nn = T.nn
    V, MASK, L, D = 7, 7, 6, 16
    neg_infinity = -1000000.0

    class LogLinearNoise(nn.Module):
        def __init__(self, eps=1e-3):
            super().__init__()
            self.eps = eps
            self.sigma_max = self.total_noise(T.tensor(1.0))
            self.sigma_min = self.eps + self.total_noise(T.tensor(0.0))

        def rate_noise(self, t):
            return (1 - self.eps) / (1 - (1 - self.eps) * t)

        def total_noise(self, t):
            return -T.log1p(-(1 - self.eps) * t)

        def forward(self, t):
            return self.total_noise(t), self.rate_noise(t)

    class DIT(nn.Module):
        def __init__(self):
            super().__init__()
            self.vocab_embed = nn.Embedding(V + 1, D)
            self.pos = nn.Parameter(T.randn(L, D) * 0.02)
            self.sigma_map = nn.Sequential(nn.Linear(1, D), nn.SiLU(), nn.Linear(D, 2 * D))
            self.block = nn.TransformerEncoderLayer(D, 2, 32, dropout=0.0, batch_first=True, norm_first=True)
            self.norm = nn.LayerNorm(D)
            self.output_layer = nn.Linear(D, V + 1)

        def forward(self, indices, sigma):
            x = self.vocab_embed(indices) + self.pos
            shift, scale = self.sigma_map(sigma[:, None]).chunk(2, dim=-1)
            x = x * (1 + scale[:, None, :]) + shift[:, None, :]
            x = self.block(x)
            return self.output_layer(self.norm(x))

    class Diffusion(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = DIT()
            self.noise = LogLinearNoise()
            self.mask_index = MASK

        def _subs_parameterization(self, logits, xt):
            logits[:, :, self.mask_index] += neg_infinity
            logits = logits - T.logsumexp(logits, dim=-1, keepdim=True)
            unmasked_indices = (xt != self.mask_index)
            logits[unmasked_indices] = neg_infinity
            logits[unmasked_indices, xt[unmasked_indices]] = 0
            return logits

        def forward(self, x, sigma):
            logits = self.backbone(x, sigma)
            return self._subs_parameterization(logits=logits, xt=x)

        def q_xt(self, x, move_chance, u):
            move_indices = u < move_chance
            xt = T.where(move_indices, self.mask_index, x)
            return xt

        def _forward_pass_diffusion(self, x0, t, u):
            sigma, dsigma = self.noise(t)
            unet_conditioning = sigma[:, None]
            move_chance = 1 - T.exp(-sigma[:, None])
            xt = self.q_xt(x0, move_chance, u)
            model_output = self.forward(xt, unet_conditioning.squeeze(-1))
            log_p_theta = T.gather(input=model_output, dim=-1, index=x0[:, :, None]).squeeze(-1)
            return - log_p_theta * (dsigma / T.expm1(sigma))[:, None], xt

        def _sample_prior(self, *batch_dims):
            return self.mask_index * T.ones(*batch_dims, dtype=T.int64)

        @T.no_grad()
        def _ddpm_update(self, x, t, dt, u):
            sigma_t, _ = self.noise(t)
            sigma_s, _ = self.noise(t - dt)
            move_chance_t = 1 - T.exp(-sigma_t)[:, None, None]
            move_chance_s = 1 - T.exp(-sigma_s)[:, None, None]
            log_p_x0 = self.forward(x, sigma_t)
            p_x0 = log_p_x0.exp()
            q_xs = p_x0 * (move_chance_t - move_chance_s)
            q_xs[:, :, self.mask_index] = move_chance_s[:, :, 0]
            _x = (q_xs / (-T.log(u + 1e-10)).clamp_min(1e-20)).argmax(dim=-1)  # _sample_categorical
            copy_flag = (x != self.mask_index).to(x.dtype)
            return copy_flag * x + (1 - copy_flag) * _x

    model = Diffusion()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    sched = T.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / 2))
    out = []
    model.train()
    for x0, t, u in zip(tokens, ts, unif):
        x0, t = T.from_numpy(x0), T.from_numpy(t)
        t = (1 - 1e-3) * t + 1e-3  # sampling_eps
        loss, xt = model._forward_pass_diffusion(x0, t, T.from_numpy(u))
        attention_mask = T.ones_like(x0)
        nlls = loss * attention_mask
        token_nll = nlls.sum() / attention_mask.sum()
        opt.zero_grad()
        token_nll.backward()
        out += [xt, token_nll, _grads(model)]
        T.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    out.append(model.state_dict())
    model.eval()
    x = model._sample_prior(2, L)
    steps, eps = 3, 1e-5
    timesteps = T.linspace(1, eps, steps + 1)
    dt = (1 - eps) / steps
    for i in range(steps):
        t = timesteps[i] * T.ones(x.shape[0], 1)
        x = model._ddpm_update(x, t[:, 0], dt, T.from_numpy(gumbels[i]))
        out.append(x)
    return out


def test_mdlm_masked_diffusion_lm(torch):
    rng = _rng()
    sd = mdlm(torch, None, None, None, None, None, None)
    tokens, ts = rng.integers(0, 7, (3, 4, 6)), rng.random((3, 4))
    unif, gumbels = rng.random((3, 4, 6)), rng.random((3, 2, 6, 8))
    args = tokens, ts, unif, None, gumbels
    _compare(mdlm(tg, sd, *args), mdlm(torch, sd, *args))


# ----------------------------------------------------------------------------------------------------------- NCSN
def ncsn(T, sd, xs, labels, noises, x_init, langevin_noises):
    """NCSN / NCSNv2 (ermongroup): a conditional score net with ConditionalInstanceNorm2d++ (an Embedding of
    gamma, alpha, beta per noise level; InstanceNorm2d without affine; the channel means' normalised spread),
    the output divided by the noise level, anneal_dsm training with geometric sigmas, and annealed Langevin
    dynamics under no_grad (step_lr (sigma / sigma_L)^2, clamp of the kept images, a final denoising step)."""
    nn = T.nn

    class ConditionalInstanceNorm2dPlus(nn.Module):
        def __init__(self, num_features, num_classes, bias=True):
            super().__init__()
            self.num_features = num_features
            self.bias = bias
            self.instance_norm = nn.InstanceNorm2d(num_features, affine=False, track_running_stats=False)
            self.embed = nn.Embedding(num_classes, num_features * 3)
            self.embed.weight.data[:, :2 * num_features].normal_(1, 0.02)
            self.embed.weight.data[:, 2 * num_features:].zero_()

        def forward(self, x, y):
            means = T.mean(x, dim=(2, 3))
            m = T.mean(means, dim=-1, keepdim=True)
            v = T.var(means, dim=-1, keepdim=True)
            means = (means - m) / (T.sqrt(v + 1e-5))
            h = self.instance_norm(x)
            gamma, alpha, beta = self.embed(y).chunk(3, dim=-1)
            h = h + means[..., None, None] * alpha[..., None, None]
            return gamma.view(-1, self.num_features, 1, 1) * h + beta.view(-1, self.num_features, 1, 1)

    class CondScoreNet(nn.Module):
        def __init__(self, sigmas, nf=4):
            super().__init__()
            self.register_buffer("sigmas", sigmas)
            self.begin_conv = nn.Conv2d(1, nf, 3, stride=1, padding=1)
            self.norm1 = ConditionalInstanceNorm2dPlus(nf, len(sigmas))
            self.conv1 = nn.Conv2d(nf, nf, 3, padding=1)
            self.norm2 = ConditionalInstanceNorm2dPlus(nf, len(sigmas))
            self.end_conv = nn.Conv2d(nf, 1, 3, stride=1, padding=1)
            self.act = nn.ELU()

        def forward(self, x, y):
            h = 2 * x - 1.  # (config.data.logit_transform False, rescaled)
            h = self.begin_conv(h)
            h = h + self.conv1(self.act(self.norm1(h, y)))
            h = self.end_conv(self.act(self.norm2(h, y)))
            used_sigmas = self.sigmas[y].view(x.shape[0], *([1] * len(x.shape[1:])))
            return h / used_sigmas

    def anneal_dsm_score_estimation(scorenet, samples, sigmas, labels, noise, anneal_power=2.):
        used_sigmas = sigmas[labels].view(samples.shape[0], *([1] * len(samples.shape[1:])))
        perturbed_samples = samples + noise * used_sigmas
        target = - 1 / (used_sigmas ** 2) * (perturbed_samples - samples)
        scores = scorenet(perturbed_samples, labels)
        target = target.view(target.shape[0], -1)
        scores = scores.view(scores.shape[0], -1)
        loss = 1 / 2. * ((scores - target) ** 2).sum(dim=-1) * used_sigmas.squeeze() ** anneal_power
        return loss.mean(dim=0)

    @T.no_grad()
    def anneal_Langevin_dynamics(x_mod, scorenet, sigmas, n_steps_each=2, step_lr=0.00002, denoise=True):
        images = []
        for c, sigma in enumerate(sigmas):
            labels = T.ones(x_mod.shape[0], device=x_mod.device) * c
            labels = labels.long()
            step_size = step_lr * (sigma / sigmas[-1]) ** 2
            for s in range(n_steps_each):
                grad = scorenet(x_mod, labels)
                noise = T.from_numpy(langevin_noises[c, s])
                grad_norm = T.norm(grad.view(grad.shape[0], -1), dim=-1).mean()
                noise_norm = T.norm(noise.view(noise.shape[0], -1), dim=-1).mean()
                x_mod = x_mod + step_size * grad + noise * np.sqrt(step_size * 2)
                image_norm = T.norm(x_mod.view(x_mod.shape[0], -1), dim=-1).mean()
                snr = np.sqrt(step_size) * grad_norm / noise_norm
                images.append(T.clamp(x_mod, 0.0, 1.0).to("cpu"))
                images.append(T.stack([grad_norm, image_norm, snr]))
        if denoise:
            last_noise = (len(sigmas) - 1) * T.ones(x_mod.shape[0], device=x_mod.device)
            last_noise = last_noise.long()
            x_mod = x_mod + sigmas[-1] ** 2 * scorenet(x_mod, last_noise)
            images.append(x_mod)
        return images

    sigmas_np = np.exp(np.linspace(np.log(1.), np.log(0.01), 4))
    sigmas = T.tensor(sigmas_np).float().to(T.float64)
    score = CondScoreNet(sigmas)
    if sd is None:
        return _state(score)
    _load(T, score, sd)
    optimizer = T.optim.Adam(score.parameters(), lr=1e-3, weight_decay=0.000, betas=(0.9, 0.999), amsgrad=False)
    out = []
    for X, y, noise in zip(xs, labels, noises):
        X = T.from_numpy(X) / 256. * 255. + T.from_numpy(noise[1]) / 256.
        loss = anneal_dsm_score_estimation(score, X, sigmas, T.from_numpy(y), T.from_numpy(noise[0]), 2.)
        optimizer.zero_grad()
        loss.backward()
        out += [loss, _grads(score)]
        optimizer.step()
    out.append(score.state_dict())
    score.eval()
    out += anneal_Langevin_dynamics(T.from_numpy(x_init), score, sigmas_np, step_lr=0.001)
    return out


def test_ncsn_annealed_langevin(torch):
    rng = _rng()
    sd = ncsn(torch, None, None, None, None, None, None)
    xs, labels = rng.random((3, 3, 1, 4, 4)), rng.integers(0, 4, (3, 3))
    noises = np.stack([rng.standard_normal((3, 3, 1, 4, 4)), rng.random((3, 3, 1, 4, 4))], 1)
    x_init, langevin_noises = rng.random((3, 1, 4, 4)), rng.standard_normal((4, 2, 3, 1, 4, 4))
    args = xs, labels, noises, x_init, langevin_noises
    _compare(ncsn(tg, sd, *args), ncsn(torch, sd, *args))


# --------------------------------------------------------------------------------------- improved DDPM (hybrid loss)
def improved_ddpm(T, sd, x0s, ts, noises):
    """openai/improved-diffusion's GaussianDiffusion training losses: numpy schedules (cosine alpha_bar),
    _extract_into_tensor (from_numpy, index, [..., None] then expand), a model predicting eps and the learned
    interpolated log-variance (split), normal_kl and discretized_gaussian_log_likelihood (the tanh approximation of
    the normal cdf, log(clamp(min=1e-12)), where on the edge bins), the vb term through a frozen mean
    (cat of output.detach()), mean_flat, the hybrid loss "mse + vb" with num_timesteps / 1000 rescaling."""
    nn = T.nn

    def betas_for_alpha_bar(num_diffusion_timesteps, alpha_bar, max_beta=0.999):
        betas = []
        for i in range(num_diffusion_timesteps):
            t1 = i / num_diffusion_timesteps
            t2 = (i + 1) / num_diffusion_timesteps
            betas.append(min(1 - alpha_bar(t2) / alpha_bar(t1), max_beta))
        return np.array(betas)

    def mean_flat(tensor):
        return tensor.mean(dim=list(range(1, len(tensor.shape))))

    def normal_kl(mean1, logvar1, mean2, logvar2):
        tensor = None
        for obj in (mean1, logvar1, mean2, logvar2):
            if isinstance(obj, T.Tensor):
                tensor = obj
                break
        assert tensor is not None, "at least one argument must be a Tensor"
        logvar1, logvar2 = [x if isinstance(x, T.Tensor) else T.tensor(x).to(tensor) for x in (logvar1, logvar2)]
        return 0.5 * (-1.0 + logvar2 - logvar1 + T.exp(logvar1 - logvar2)
                      + ((mean1 - mean2) ** 2) * T.exp(-logvar2))

    def approx_standard_normal_cdf(x):
        return 0.5 * (1.0 + T.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * T.pow(x, 3))))

    def discretized_gaussian_log_likelihood(x, *, means, log_scales):
        assert x.shape == means.shape == log_scales.shape
        centered_x = x - means
        inv_stdv = T.exp(-log_scales)
        plus_in = inv_stdv * (centered_x + 1.0 / 255.0)
        cdf_plus = approx_standard_normal_cdf(plus_in)
        min_in = inv_stdv * (centered_x - 1.0 / 255.0)
        cdf_min = approx_standard_normal_cdf(min_in)
        log_cdf_plus = T.log(cdf_plus.clamp(min=1e-12))
        log_one_minus_cdf_min = T.log((1.0 - cdf_min).clamp(min=1e-12))
        cdf_delta = cdf_plus - cdf_min
        log_probs = T.where(x < -0.999, log_cdf_plus,
                            T.where(x > 0.999, log_one_minus_cdf_min, T.log(cdf_delta.clamp(min=1e-12))))
        assert log_probs.shape == x.shape
        return log_probs

    def _extract_into_tensor(arr, timesteps, broadcast_shape):
        res = T.from_numpy(arr).to(device=timesteps.device)[timesteps].double()  # (.float() in the original)
        while len(res.shape) < len(broadcast_shape):
            res = res[..., None]
        return res.expand(broadcast_shape)

    class GaussianDiffusion:
        def __init__(self, *, betas):
            self.betas = betas = np.array(betas, dtype=np.float64)
            self.num_timesteps = int(betas.shape[0])
            alphas = 1.0 - betas
            self.alphas_cumprod = np.cumprod(alphas, axis=0)
            self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
            self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
            self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - self.alphas_cumprod)
            self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod)
            self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod - 1)
            self.posterior_variance = betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
            self.posterior_log_variance_clipped = np.log(np.append(self.posterior_variance[1],
                                                                   self.posterior_variance[1:]))
            self.posterior_mean_coef1 = betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
            self.posterior_mean_coef2 = ((1.0 - self.alphas_cumprod_prev) * np.sqrt(alphas)
                                         / (1.0 - self.alphas_cumprod))

        def q_sample(self, x_start, t, noise):
            return (_extract_into_tensor(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
                    + _extract_into_tensor(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

        def q_posterior_mean_variance(self, x_start, x_t, t):
            posterior_mean = (_extract_into_tensor(self.posterior_mean_coef1, t, x_t.shape) * x_start
                              + _extract_into_tensor(self.posterior_mean_coef2, t, x_t.shape) * x_t)
            posterior_variance = _extract_into_tensor(self.posterior_variance, t, x_t.shape)
            posterior_log_variance_clipped = _extract_into_tensor(self.posterior_log_variance_clipped, t, x_t.shape)
            return posterior_mean, posterior_variance, posterior_log_variance_clipped

        def p_mean_variance(self, model, x, t, clip_denoised=True):
            B, C = x.shape[:2]
            model_output = model(x, t)
            assert model_output.shape == (B, C * 2, *x.shape[2:])
            model_output, model_var_values = T.split(model_output, C, dim=1)
            min_log = _extract_into_tensor(self.posterior_log_variance_clipped, t, x.shape)
            max_log = _extract_into_tensor(np.log(self.betas), t, x.shape)
            frac = (model_var_values + 1) / 2
            model_log_variance = frac * max_log + (1 - frac) * min_log
            pred_xstart = (_extract_into_tensor(self.sqrt_recip_alphas_cumprod, t, x.shape) * x
                           - _extract_into_tensor(self.sqrt_recipm1_alphas_cumprod, t, x.shape) * model_output)
            if clip_denoised:
                pred_xstart = pred_xstart.clamp(-1, 1)
            model_mean, _, _ = self.q_posterior_mean_variance(x_start=pred_xstart, x_t=x, t=t)
            return {"mean": model_mean, "log_variance": model_log_variance, "pred_xstart": pred_xstart}

        def _vb_terms_bpd(self, model, x_start, x_t, t, clip_denoised=True):
            true_mean, _, true_log_variance_clipped = self.q_posterior_mean_variance(x_start=x_start, x_t=x_t, t=t)
            out = self.p_mean_variance(model, x_t, t, clip_denoised=clip_denoised)
            kl = normal_kl(true_mean, true_log_variance_clipped, out["mean"], out["log_variance"])
            kl = mean_flat(kl) / np.log(2.0)
            decoder_nll = -discretized_gaussian_log_likelihood(x_start, means=out["mean"],
                                                               log_scales=0.5 * out["log_variance"])
            decoder_nll = mean_flat(decoder_nll) / np.log(2.0)
            output = T.where((t == 0), decoder_nll, kl)
            return {"output": output, "pred_xstart": out["pred_xstart"]}

        def training_losses(self, model, x_start, t, noise):
            x_t = self.q_sample(x_start, t, noise=noise)
            terms = {}
            model_output = model(x_t, t)
            B, C = x_t.shape[:2]
            assert model_output.shape == (B, C * 2, *x_t.shape[2:])
            model_output, model_var_values = T.split(model_output, C, dim=1)
            frozen_out = T.cat([model_output.detach(), model_var_values], dim=1)
            terms["vb"] = self._vb_terms_bpd(model=lambda *args, r=frozen_out: r, x_start=x_start, x_t=x_t, t=t,
                                             clip_denoised=False)["output"]
            terms["vb"] *= self.num_timesteps / 1000.0
            target = noise
            assert model_output.shape == target.shape == x_start.shape
            terms["mse"] = mean_flat((target - model_output) ** 2)
            terms["loss"] = terms["mse"] + terms["vb"]
            return terms

    class TinyModel(nn.Module):
        def __init__(self, ch=2, T_steps=8):
            super().__init__()
            self.time_embed = nn.Embedding(T_steps, 8)
            self.conv_in = nn.Conv2d(ch, 8, 3, padding=1)
            self.norm = nn.GroupNorm(4, 8)
            self.conv_out = nn.Conv2d(8, 2 * ch, 3, padding=1)

        def forward(self, x, timesteps):
            h = self.conv_in(x) + self.time_embed(timesteps)[:, :, None, None]
            return self.conv_out(nn.functional.silu(self.norm(h)))

    model = TinyModel()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    diffusion = GaussianDiffusion(betas=betas_for_alpha_bar(8, lambda t: math.cos((t + 0.008) / 1.008
                                                                                   * math.pi / 2) ** 2))
    opt = T.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    out = []
    for x0, t, noise in zip(x0s, ts, noises):
        t = T.from_numpy(t)
        weights = T.from_numpy(np.ones(t.shape[0]) / t.shape[0] * t.shape[0])  # (UniformSampler: all ones)
        losses = diffusion.training_losses(model, T.from_numpy(x0), t, T.from_numpy(noise))
        loss = (losses["loss"] * weights).mean()
        opt.zero_grad()
        loss.backward()
        out += [losses, _grads(model)]
        opt.step()
    out.append(model.state_dict())
    return out


def test_improved_ddpm_hybrid_loss(torch):
    rng = _rng()
    sd = improved_ddpm(torch, None, None, None, None)
    x0s = rng.integers(0, 256, (3, 4, 2, 3, 3)) / 127.5 - 1
    ts = np.array([[0, 3, 7, 1], [2, 0, 5, 6], [4, 4, 0, 7]])
    noises = rng.standard_normal((3, 4, 2, 3, 3))
    _compare(improved_ddpm(tg, sd, x0s, ts, noises), improved_ddpm(torch, sd, x0s, ts, noises))


# ------------------------------------------------------------------------------------------------ continuous flows
def cnf(T, sd, xs, eps):
    """A continuous normalizing flow (FFJORD / the torchdiffeq cnf example): an ODE func whose time enters by a
    hypernetwork-free concat, the exact divergence by a loop of autograd.grad(create_graph=True) over dimensions
    (divergence_bf) and Hutchinson's estimator with given Rademacher eps, integrated by fixed-step RK4 (the
    augmented state [z, -logp]) and trained by backpropagation through the solver; the standard normal prior's
    log-likelihood."""
    nn = T.nn

    class ODEfunc(nn.Module):
        def __init__(self, dim=2, hidden=12, exact=True):
            super().__init__()
            self.l1 = nn.Linear(dim + 1, hidden)
            self.l2 = nn.Linear(hidden + 1, hidden)
            self.l3 = nn.Linear(hidden + 1, dim)
            self.exact = exact
            self._e = None

        def dynamics(self, t, z):
            tt = T.ones_like(z[:, :1]) * t
            h = T.tanh(self.l1(T.cat([tt, z], 1)))
            h = nn.functional.softplus(self.l2(T.cat([tt, h], 1)))
            return self.l3(T.cat([tt, h], 1))

        def forward(self, t, states):
            z = states[0]
            with T.set_grad_enabled(True):
                z.requires_grad_(True)
                dz_dt = self.dynamics(t, z)
                if self.exact:
                    sum_diag = 0.
                    for i in range(z.shape[1]):
                        sum_diag += T.autograd.grad(dz_dt[:, i].sum(), z, create_graph=True)[0].contiguous()[:, i]
                    divergence = sum_diag.contiguous()
                else:
                    e_dzdx = T.autograd.grad(dz_dt, z, self._e, create_graph=True)[0]
                    divergence = (e_dzdx * self._e).view(z.shape[0], -1).sum(dim=1)
            return dz_dt, -divergence.view(-1, 1)

    def rk4(func, y0, t0, t1, n):
        h = (t1 - t0) / n
        y, t = y0, t0
        for _ in range(n):
            k1 = func(t, y)
            k2 = func(t + h / 2, tuple(a + h / 2 * b for a, b in zip(y, k1)))
            k3 = func(t + h / 2, tuple(a + h / 2 * b for a, b in zip(y, k2)))
            k4 = func(t + h, tuple(a + h * b for a, b in zip(y, k3)))
            y = tuple(a + h / 6 * (b1 + 2 * b2 + 2 * b3 + b4) for a, b1, b2, b3, b4 in zip(y, k1, k2, k3, k4))
            t = t + h
        return y

    def standard_normal_logprob(z):
        logZ = -0.5 * math.log(2 * math.pi)
        return logZ - z.pow(2) / 2

    func = ODEfunc()
    if sd is None:
        return _state(func)
    _load(T, func, sd)
    optimizer = T.optim.Adam(func.parameters(), lr=1e-2)
    out = []
    for k, x in enumerate(xs):
        func.exact = k % 2 == 0
        x = T.from_numpy(x)
        func._e = T.from_numpy(eps[k])
        zero = T.zeros(x.shape[0], 1, dtype=x.dtype)
        z_t, delta_logp = rk4(func, (x, zero), 0.0, 1.0, 3)
        logpz = standard_normal_logprob(z_t).sum(1, keepdim=True)
        logpx = logpz - delta_logp
        loss = -T.mean(logpx)
        optimizer.zero_grad()
        loss.backward()
        out += [z_t, delta_logp, loss, _grads(func)]
        optimizer.step()
    out.append(func.state_dict())
    return out


def test_cnf_exact_and_hutchinson_divergence(torch):
    rng = _rng()
    sd = cnf(torch, None, None, None)
    xs = rng.standard_normal((3, 5, 2))
    eps = rng.integers(0, 2, (3, 5, 2)) * 2. - 1
    _compare(cnf(tg, sd, xs, eps), cnf(torch, sd, xs, eps))


# ------------------------------------------------------------------------------------ continuous-time consistency
def scm(T, sd, xs, zs, ts):
    """Continuous-time consistency training (sCM, Lu & Song): TrigFlow's f(x_t, t) = cos(t) x_t - sin(t) F(x_t / sd,
    t), the tangent dF/dt by torch.func.jvp through the network (functional_call over its parameters and buffers),
    tangent normalisation and warmup, the loss ||F - F^- - g||^2 with a stop-gradient target, adaptive weighting
    by a learned logvar MLP."""
    nn = T.nn
    sigma_d = 0.5

    class Net(nn.Module):
        def __init__(self, dim=3, hidden=16):
            super().__init__()
            self.t_embed = nn.Linear(1, hidden)
            self.inp = nn.Linear(dim, hidden)
            self.out = nn.Linear(hidden, dim)
            self.logvar = nn.Linear(1, 1)

        def forward(self, x, t, return_logvar=False):
            c_noise = (1000 * t).reshape(-1, 1) / 1000.
            h = T.nn.functional.silu(self.inp(x) + T.sin(self.t_embed(c_noise)))
            F_x = self.out(h)
            if return_logvar:
                return F_x, self.logvar(c_noise)
            return F_x

    net = Net()
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    optimizer = T.optim.RAdam(net.parameters(), lr=1e-3)
    out = []
    params = dict(net.named_parameters())
    buffers = dict(net.named_buffers())
    for step, (x0, z, t) in enumerate(zip(xs, zs, ts)):
        x0, z = T.from_numpy(x0), T.from_numpy(z) * sigma_d
        t = T.from_numpy(t).view(-1, 1)
        x_t = T.cos(t) * x0 + T.sin(t) * z
        dxt_dt = T.cos(t) * z - T.sin(t) * x0

        def model_wrapper(scaled_x_t, t):
            p = {k: v.detach() for k, v in params.items()}
            return T.func.functional_call(net, (p, buffers), (scaled_x_t, t.flatten()))

        v_x = T.cos(t) * T.sin(t) * dxt_dt / sigma_d
        v_t = T.cos(t) * T.sin(t)
        F_theta_minus, F_theta_grad = T.func.jvp(model_wrapper, (x_t / sigma_d, t), (v_x, v_t))
        F_theta_minus, F_theta_grad = F_theta_minus.detach(), F_theta_grad.detach()
        F_theta, logvar = net(x_t / sigma_d, t.flatten(), return_logvar=True)
        r = min(1.0, (step + 1) / 2)  # tangent warmup
        g = -T.cos(t) * T.cos(t) * (sigma_d * F_theta_minus - dxt_dt)
        second_term = -r * (T.cos(t) * T.sin(t) * x_t + sigma_d * F_theta_grad)
        g = g + second_term
        g_norm = T.linalg.vector_norm(g, dim=1, keepdim=True)
        g = g / (g_norm + 0.1)
        target = F_theta_minus + g
        loss = (F_theta - target) ** 2
        loss = (T.exp(-logvar) * loss.mean(dim=1, keepdim=True) + logvar).mean()
        optimizer.zero_grad()
        loss.backward()
        out += [F_theta_minus, F_theta_grad, loss, _grads(net)]
        optimizer.step()
    out.append(net.state_dict())
    return out


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # (torch.func's import)
def test_scm_consistency_jvp_tangents(torch):
    rng = _rng()
    sd = scm(torch, None, None, None, None)
    xs, zs = rng.standard_normal((3, 4, 3)) * .5, rng.standard_normal((3, 4, 3))
    ts = np.arctan(np.exp(rng.standard_normal((3, 4)) * 1.6 - 0.4) / 0.5)  # (sCM's log-normal proposal)
    _compare(scm(tg, sd, xs, zs, ts), scm(torch, sd, xs, zs, ts))


# ------------------------------------------------------------------------------------------------------ MADE / MAF
def maf(T, sd, xs, orders):
    """karpathy/pytorch-made's MADE (MaskedLinear with a uint8 mask buffer set by set_mask from numpy, F.linear of
    mask * weight, connectivity orders drawn in numpy and resampled between steps) stacked into a MAF
    (ikostrikov's pytorch-flows: MADE giving mu and log-alpha, BatchNormFlow, Reverse permutations, the log-det
    sums, the inverse by a loop over dimensions)."""
    nn = T.nn
    F = T.nn.functional

    class MaskedLinear(nn.Linear):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, bias)
            self.register_buffer("mask", T.ones(out_features, in_features))

        def set_mask(self, mask):
            self.mask.data.copy_(T.from_numpy(mask.astype(np.uint8).T))

        def forward(self, input):
            return F.linear(input, self.mask * self.weight, self.bias)

    class MADE(nn.Module):
        def __init__(self, nin, hidden_sizes, nout):
            super().__init__()
            self.nin, self.nout, self.hidden_sizes = nin, nout, hidden_sizes
            self.net = []
            hs = [nin] + hidden_sizes + [nout]
            for h0, h1 in zip(hs, hs[1:]):
                self.net.extend([MaskedLinear(h0, h1), nn.ReLU()])
            self.net.pop()
            self.net = nn.Sequential(*self.net)
            self.m = {}

        def update_masks(self, order, hidden_degrees):
            L = len(self.hidden_sizes)
            self.m[-1] = order
            for l in range(L):
                self.m[l] = hidden_degrees[l]
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

    class MADEFlow(nn.Module):  # (pytorch-flows' MADE: mu, alpha from one masked net)
        def __init__(self, num_inputs, num_hidden):
            super().__init__()
            self.made = MADE(num_inputs, [num_hidden, num_hidden], 2 * num_inputs)

        def forward(self, inputs, mode="direct"):
            if mode == "direct":
                m, a = self.made(inputs).chunk(2, 1)
                u = (inputs - m) * T.exp(-a)
                return u, -a.sum(-1, keepdim=True)
            x = T.zeros_like(inputs)
            for i_col in np.argsort(self.made.m[-1]):  # (range(D) there: its order is natural; here by degree)
                m, a = self.made(x).chunk(2, 1)
                x[:, i_col] = inputs[:, i_col] * T.exp(a[:, i_col]) + m[:, i_col]
            return x, -a.sum(-1, keepdim=True)

    class BatchNormFlow(nn.Module):
        def __init__(self, num_inputs, momentum=0.0, eps=1e-5):
            super().__init__()
            self.log_gamma = nn.Parameter(T.zeros(num_inputs))
            self.beta = nn.Parameter(T.zeros(num_inputs))
            self.momentum = momentum
            self.eps = eps
            self.register_buffer("running_mean", T.zeros(num_inputs))
            self.register_buffer("running_var", T.ones(num_inputs))

        def forward(self, inputs, mode="direct"):
            if mode == "direct":
                if self.training:
                    self.batch_mean = inputs.mean(0)
                    self.batch_var = (inputs - self.batch_mean).pow(2).mean(0) + self.eps
                    self.running_mean.mul_(self.momentum)
                    self.running_var.mul_(self.momentum)
                    self.running_mean.add_(self.batch_mean.data * (1 - self.momentum))
                    self.running_var.add_(self.batch_var.data * (1 - self.momentum))
                    mean, var = self.batch_mean, self.batch_var
                else:
                    mean, var = self.running_mean, self.running_var
                x_hat = (inputs - mean) / var.sqrt()
                y = T.exp(self.log_gamma) * x_hat + self.beta
                return y, (self.log_gamma - 0.5 * T.log(var)).sum(-1, keepdim=True)
            mean, var = (self.batch_mean, self.batch_var) if self.training else (self.running_mean,
                                                                                 self.running_var)
            x_hat = (inputs - self.beta) / T.exp(self.log_gamma)
            y = x_hat * var.sqrt() + mean
            return y, (-self.log_gamma + 0.5 * T.log(var)).sum(-1, keepdim=True)

    class Reverse(nn.Module):
        def __init__(self, num_inputs):
            super().__init__()
            self.perm = np.array(np.arange(0, num_inputs)[::-1])
            self.inv_perm = np.argsort(self.perm)

        def forward(self, inputs, mode="direct"):
            if mode == "direct":
                return inputs[:, self.perm], T.zeros(inputs.size(0), 1, device=inputs.device)
            return inputs[:, self.inv_perm], T.zeros(inputs.size(0), 1, device=inputs.device)

    class FlowSequential(nn.Sequential):
        def forward(self, inputs, mode="direct", logdets=None):
            self.num_inputs = inputs.size(-1)
            if logdets is None:
                logdets = T.zeros(inputs.size(0), 1, device=inputs.device)
            modules = self._modules.values() if mode == "direct" else reversed(self._modules.values())
            for module in modules:
                inputs, logdet = module(inputs, mode)
                logdets += logdet
            return inputs, logdets

        def log_probs(self, inputs):
            u, log_jacob = self(inputs)
            log_probs = (-0.5 * u.pow(2) - 0.5 * math.log(2 * math.pi)).sum(-1, keepdim=True)
            return (log_probs + log_jacob).sum(-1, keepdim=True)

    D = 3
    modules = []
    for _ in range(2):
        modules += [MADEFlow(D, 8), BatchNormFlow(D), Reverse(D)]
    model = FlowSequential(*modules)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    made_layers = [m.made for m in model.modules() if isinstance(m, MADEFlow)]
    optimizer = T.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    out = []
    for k, x in enumerate(xs):
        for j, made in enumerate(made_layers):
            made.update_masks(*orders[(k + j) % len(orders)])
        optimizer.zero_grad()
        loss = -model.log_probs(T.from_numpy(x)).mean()
        loss.backward()
        out += [loss, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    model.eval()
    with T.no_grad():
        u, _ = model(T.from_numpy(xs[0]))
        x_back, _ = model(u, mode="inverse")
    out += [u, x_back]
    return out


def test_made_maf_masks_and_inverse(torch):
    rng = _rng()
    sd = maf(torch, None, None, None)
    for k in ("1.beta", "4.beta", "1.log_gamma", "4.log_gamma"):  # (the last beta's gradient is beta itself: at 0,
        sd[k] = rng.standard_normal(3) * .1                      # rounding noise that Adam would blow up)
    D, H = 3, 8
    orders = []
    for _ in range(3):
        order = rng.permutation(D)
        hidden = []
        prev = order
        for _ in range(2):
            hidden.append(rng.integers(prev.min(), D - 1, size=H))
            prev = hidden[-1]
        orders.append((order, hidden))
    xs = rng.standard_normal((3, 6, D))
    ours, theirs = maf(tg, sd, xs, orders), maf(torch, sd, xs, orders)
    _compare(ours, theirs)
    np.testing.assert_allclose(theirs[-1].numpy(), xs[0], atol=1e-10)


# ------------------------------------------------------------------------------------------- neural spline flows
def nsf(T, sd, xs):
    """bayesiains/nflows' rational-quadratic spline (Durkan et al.): unconstrained_rational_quadratic_spline with
    linear tails (masked assignment into zeros_like outputs, F.pad of the derivatives by a constant), the bins by
    softmax, cumsum and F.pad, searchsorted as a sum of comparisons, gather(-1, bin_idx)[..., 0], forward and
    inverse (the quadratic's root), in a coupling layer whose parameters come from a small net; the log-likelihood
    under a standard normal, Adam with a cosine schedule and clip_grad_norm_."""
    nn = T.nn
    F = T.nn.functional
    DEFAULT_MIN_BIN_WIDTH = 1e-3
    DEFAULT_MIN_BIN_HEIGHT = 1e-3
    DEFAULT_MIN_DERIVATIVE = 1e-3

    def searchsorted(bin_locations, inputs, eps=1e-6):
        bin_locations[..., -1] += eps
        return T.sum(inputs[..., None] >= bin_locations, dim=-1) - 1

    def unconstrained_rational_quadratic_spline(inputs, unnormalized_widths, unnormalized_heights,
                                                unnormalized_derivatives, inverse=False, tails="linear",
                                                tail_bound=1.0, min_bin_width=DEFAULT_MIN_BIN_WIDTH,
                                                min_bin_height=DEFAULT_MIN_BIN_HEIGHT,
                                                min_derivative=DEFAULT_MIN_DERIVATIVE):
        inside_interval_mask = (inputs >= -tail_bound) & (inputs <= tail_bound)
        outside_interval_mask = ~inside_interval_mask
        outputs = T.zeros_like(inputs)
        logabsdet = T.zeros_like(inputs)
        if tails == "linear":
            unnormalized_derivatives = F.pad(unnormalized_derivatives, pad=(1, 1))
            constant = np.log(np.exp(1 - min_derivative) - 1)
            unnormalized_derivatives[..., 0] = constant
            unnormalized_derivatives[..., -1] = constant
            outputs[outside_interval_mask] = inputs[outside_interval_mask]
            logabsdet[outside_interval_mask] = 0
        else:
            raise RuntimeError("{} tails are not implemented.".format(tails))
        if T.any(inside_interval_mask):
            (outputs[inside_interval_mask], logabsdet[inside_interval_mask]) = rational_quadratic_spline(
                inputs=inputs[inside_interval_mask],
                unnormalized_widths=unnormalized_widths[inside_interval_mask, :],
                unnormalized_heights=unnormalized_heights[inside_interval_mask, :],
                unnormalized_derivatives=unnormalized_derivatives[inside_interval_mask, :],
                inverse=inverse, left=-tail_bound, right=tail_bound, bottom=-tail_bound, top=tail_bound,
                min_bin_width=min_bin_width, min_bin_height=min_bin_height, min_derivative=min_derivative)
        return outputs, logabsdet

    def rational_quadratic_spline(inputs, unnormalized_widths, unnormalized_heights, unnormalized_derivatives,
                                  inverse=False, left=0.0, right=1.0, bottom=0.0, top=1.0,
                                  min_bin_width=DEFAULT_MIN_BIN_WIDTH, min_bin_height=DEFAULT_MIN_BIN_HEIGHT,
                                  min_derivative=DEFAULT_MIN_DERIVATIVE):
        if T.min(inputs) < left or T.max(inputs) > right:
            raise ValueError("Input to a transform is not within its domain")
        num_bins = unnormalized_widths.shape[-1]
        widths = F.softmax(unnormalized_widths, dim=-1)
        widths = min_bin_width + (1 - min_bin_width * num_bins) * widths
        cumwidths = T.cumsum(widths, dim=-1)
        cumwidths = F.pad(cumwidths, pad=(1, 0), mode="constant", value=0.0)
        cumwidths = (right - left) * cumwidths + left
        cumwidths[..., 0] = left
        cumwidths[..., -1] = right
        widths = cumwidths[..., 1:] - cumwidths[..., :-1]
        derivatives = min_derivative + F.softplus(unnormalized_derivatives)
        heights = F.softmax(unnormalized_heights, dim=-1)
        heights = min_bin_height + (1 - min_bin_height * num_bins) * heights
        cumheights = T.cumsum(heights, dim=-1)
        cumheights = F.pad(cumheights, pad=(1, 0), mode="constant", value=0.0)
        cumheights = (top - bottom) * cumheights + bottom
        cumheights[..., 0] = bottom
        cumheights[..., -1] = top
        heights = cumheights[..., 1:] - cumheights[..., :-1]
        if inverse:
            bin_idx = searchsorted(cumheights, inputs)[..., None]
        else:
            bin_idx = searchsorted(cumwidths, inputs)[..., None]
        input_cumwidths = cumwidths.gather(-1, bin_idx)[..., 0]
        input_bin_widths = widths.gather(-1, bin_idx)[..., 0]
        input_cumheights = cumheights.gather(-1, bin_idx)[..., 0]
        delta = heights / widths
        input_delta = delta.gather(-1, bin_idx)[..., 0]
        input_derivatives = derivatives.gather(-1, bin_idx)[..., 0]
        input_derivatives_plus_one = derivatives[..., 1:].gather(-1, bin_idx)[..., 0]
        input_heights = heights.gather(-1, bin_idx)[..., 0]
        if inverse:
            a = (inputs - input_cumheights) * (input_derivatives + input_derivatives_plus_one
                                               - 2 * input_delta) + input_heights * (input_delta - input_derivatives)
            b = input_heights * input_derivatives - (inputs - input_cumheights) * (
                input_derivatives + input_derivatives_plus_one - 2 * input_delta)
            c = -input_delta * (inputs - input_cumheights)
            discriminant = b.pow(2) - 4 * a * c
            assert (discriminant >= 0).all()
            root = (2 * c) / (-b - T.sqrt(discriminant))
            outputs = root * input_bin_widths + input_cumwidths
            theta_one_minus_theta = root * (1 - root)
            denominator = input_delta + ((input_derivatives + input_derivatives_plus_one - 2 * input_delta)
                                         * theta_one_minus_theta)
            derivative_numerator = input_delta.pow(2) * (input_derivatives_plus_one * root.pow(2)
                                                         + 2 * input_delta * theta_one_minus_theta
                                                         + input_derivatives * (1 - root).pow(2))
            logabsdet = T.log(derivative_numerator) - 2 * T.log(denominator)
            return outputs, -logabsdet
        theta = (inputs - input_cumwidths) / input_bin_widths
        theta_one_minus_theta = theta * (1 - theta)
        numerator = input_heights * (input_delta * theta.pow(2) + input_derivatives * theta_one_minus_theta)
        denominator = input_delta + ((input_derivatives + input_derivatives_plus_one - 2 * input_delta)
                                     * theta_one_minus_theta)
        outputs = input_cumheights + numerator / denominator
        derivative_numerator = input_delta.pow(2) * (input_derivatives_plus_one * theta.pow(2)
                                                     + 2 * input_delta * theta_one_minus_theta
                                                     + input_derivatives * (1 - theta).pow(2))
        logabsdet = T.log(derivative_numerator) - 2 * T.log(denominator)
        return outputs, logabsdet

    class PiecewiseRationalQuadraticCoupling(nn.Module):
        def __init__(self, mask, num_bins=4, tail_bound=2.0, hidden=16):
            super().__init__()
            self.register_buffer("identity_features", T.from_numpy(np.flatnonzero(mask <= 0)))
            self.register_buffer("transform_features", T.from_numpy(np.flatnonzero(mask > 0)))
            self.num_bins, self.tail_bound = num_bins, tail_bound
            n_t = len(self.transform_features)
            self.transform_net = nn.Sequential(nn.Linear(len(self.identity_features), hidden), nn.ReLU(),
                                               nn.Linear(hidden, n_t * (3 * num_bins - 1)))

        def _coupling_transform(self, inputs, transform_params, inverse=False):
            b, d = inputs.shape
            transform_params = transform_params.reshape(b, d, -1)
            unnormalized_widths = transform_params[..., :self.num_bins] / np.sqrt(16)
            unnormalized_heights = transform_params[..., self.num_bins:2 * self.num_bins] / np.sqrt(16)
            unnormalized_derivatives = transform_params[..., 2 * self.num_bins:]
            outputs, logabsdet = unconstrained_rational_quadratic_spline(
                inputs, unnormalized_widths, unnormalized_heights, unnormalized_derivatives, inverse=inverse,
                tails="linear", tail_bound=self.tail_bound)
            return outputs, logabsdet.view(b, -1).sum(1)

        def forward(self, inputs, inverse=False):
            identity_split = inputs[:, self.identity_features, ...]
            transform_split = inputs[:, self.transform_features, ...]
            transform_params = self.transform_net(identity_split)
            transform_split, logabsdet = self._coupling_transform(transform_split, transform_params, inverse)
            outputs = T.empty_like(inputs)
            outputs[:, self.identity_features, ...] = identity_split
            outputs[:, self.transform_features, ...] = transform_split
            return outputs, logabsdet

    layers = nn.ModuleList([PiecewiseRationalQuadraticCoupling(np.array([1, 0, 1, 0])),
                            PiecewiseRationalQuadraticCoupling(np.array([0, 1, 0, 1]))])
    if sd is None:
        return _state(layers)
    _load(T, layers, sd)
    optimizer = T.optim.Adam(layers.parameters(), lr=3e-3)
    scheduler = T.optim.lr_scheduler.CosineAnnealingLR(optimizer, len(xs), 0)
    out = []
    for x in xs:
        z, total = T.from_numpy(x), 0
        for layer in layers:
            z, logabsdet = layer(z)
            total = total + logabsdet
        log_prob = -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * np.log(2 * np.pi) + total
        loss = -log_prob.mean()
        optimizer.zero_grad()
        loss.backward()
        gn = T.nn.utils.clip_grad_norm_(layers.parameters(), 5.)
        out += [z, loss, gn, _grads(layers)]
        optimizer.step()
        scheduler.step()
    out.append(layers.state_dict())
    with T.no_grad():
        z = T.from_numpy(xs[0])
        for layer in layers:
            z, _ = layer(z)
        x_back = z
        for layer in reversed(layers):
            x_back, _ = layer(x_back, inverse=True)
    out.append(x_back)
    return out


def test_neural_spline_flow_rational_quadratic(torch):
    rng = _rng()
    sd = nsf(torch, None, None)
    for k in sd:
        if k.endswith("2.weight") or k.endswith("2.bias"):
            sd[k] = sd[k] * 4  # (bins far from uniform)
    xs = rng.standard_normal((3, 7, 4)) * 1.2  # (some beyond the tail bound 2: the linear tails)
    ours, theirs = nsf(tg, sd, xs), nsf(torch, sd, xs)
    _compare(ours, theirs)
    np.testing.assert_allclose(theirs[-1].numpy(), xs[0], atol=1e-10)
    assert (np.abs(xs) > 2).any()


# ----------------------------------------------------------------------------------------------------------- DiT
def dit(T, sd, xs, ts, ys, drops):
    """facebookresearch/DiT: timm-style PatchEmbed (Conv2d, flatten(2).transpose(1, 2)), fixed 2-d sin-cos
    position embeddings from numpy copied into a frozen Parameter, TimestepEmbedder, LabelEmbedder with label
    dropout by torch.where (drop ids given), DiT blocks with adaLN-Zero (modulate, gates, chunk(6)), attention by
    F.scaled_dot_product_attention, the final layer and unpatchify by einsum('nhwpqc->nchpwq'); training on the
    noise MSE with learned sigma channels, then forward_with_cfg (classifier-free guidance)."""
    nn = T.nn
    F = T.nn.functional

    def modulate(x, shift, scale):
        return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)

    def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
        omega = np.arange(embed_dim // 2, dtype=np.float64)
        omega /= embed_dim / 2.
        omega = 1. / 10000 ** omega
        pos = pos.reshape(-1)
        out = np.einsum("m,d->md", pos, omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    def get_2d_sincos_pos_embed(embed_dim, grid_size):
        grid_h = np.arange(grid_size, dtype=np.float32)
        grid_w = np.arange(grid_size, dtype=np.float32)
        grid = np.meshgrid(grid_w, grid_h)
        grid = np.stack(grid, axis=0).reshape([2, 1, grid_size, grid_size])
        emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])
        emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])
        return np.concatenate([emb_h, emb_w], axis=1)

    class PatchEmbed(nn.Module):
        def __init__(self, img_size, patch_size, in_chans, embed_dim, bias=True):
            super().__init__()
            self.num_patches = (img_size // patch_size) ** 2
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=bias)

        def forward(self, x):
            return self.proj(x).flatten(2).transpose(1, 2)

    class Attention(nn.Module):
        def __init__(self, dim, num_heads=2, qkv_bias=True):
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = dim // num_heads
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            x = F.scaled_dot_product_attention(q, k, v, dropout_p=0.)
            x = x.transpose(1, 2).reshape(B, N, C)
            return self.proj(x)

    class Mlp(nn.Module):
        def __init__(self, in_features, hidden_features, act_layer):
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = act_layer()
            self.fc2 = nn.Linear(hidden_features, in_features)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    class TimestepEmbedder(nn.Module):
        def __init__(self, hidden_size, frequency_embedding_size=16):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(frequency_embedding_size, hidden_size, bias=True), nn.SiLU(),
                                     nn.Linear(hidden_size, hidden_size, bias=True))
            self.frequency_embedding_size = frequency_embedding_size

        @staticmethod
        def timestep_embedding(t, dim, max_period=10000):
            half = dim // 2
            freqs = T.exp(-math.log(max_period) * T.arange(start=0, end=half, dtype=T.float64) / half).to(
                device=t.device)  # (float32 there, the model's dtype)
            args = t[:, None].double() * freqs[None]
            embedding = T.cat([T.cos(args), T.sin(args)], dim=-1)
            if dim % 2:
                embedding = T.cat([embedding, T.zeros_like(embedding[:, :1])], dim=-1)
            return embedding

        def forward(self, t):
            return self.mlp(self.timestep_embedding(t, self.frequency_embedding_size))

    class LabelEmbedder(nn.Module):
        def __init__(self, num_classes, hidden_size, dropout_prob):
            super().__init__()
            use_cfg_embedding = dropout_prob > 0
            self.embedding_table = nn.Embedding(num_classes + use_cfg_embedding, hidden_size)
            self.num_classes = num_classes
            self.dropout_prob = dropout_prob

        def token_drop(self, labels, force_drop_ids=None):
            drop_ids = force_drop_ids == 1  # (torch.rand(...) < dropout_prob there: drawn outside)
            return T.where(drop_ids, self.num_classes, labels)

        def forward(self, labels, train, force_drop_ids=None):
            use_dropout = self.dropout_prob > 0
            if (train and use_dropout) or (force_drop_ids is not None):
                labels = self.token_drop(labels, force_drop_ids)
            return self.embedding_table(labels)

    class DiTBlock(nn.Module):
        def __init__(self, hidden_size, num_heads, mlp_ratio=4.0):
            super().__init__()
            self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            self.attn = Attention(hidden_size, num_heads=num_heads, qkv_bias=True)
            self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            approx_gelu = lambda: nn.GELU(approximate="tanh")  # noqa: E731
            self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio), approx_gelu)
            self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size, bias=True))

        def forward(self, x, c):
            shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
            x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
            x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
            return x

    class FinalLayer(nn.Module):
        def __init__(self, hidden_size, patch_size, out_channels):
            super().__init__()
            self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels, bias=True)
            self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size, bias=True))

        def forward(self, x, c):
            shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
            x = modulate(self.norm_final(x), shift, scale)
            return self.linear(x)

    class DiT(nn.Module):
        def __init__(self, input_size=4, patch_size=2, in_channels=2, hidden_size=8, depth=2, num_heads=2,
                     mlp_ratio=2.0, class_dropout_prob=0.1, num_classes=3, learn_sigma=True):
            super().__init__()
            self.learn_sigma = learn_sigma
            self.in_channels = in_channels
            self.out_channels = in_channels * 2 if learn_sigma else in_channels
            self.patch_size = patch_size
            self.num_heads = num_heads
            self.x_embedder = PatchEmbed(input_size, patch_size, in_channels, hidden_size, bias=True)
            self.t_embedder = TimestepEmbedder(hidden_size)
            self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
            num_patches = self.x_embedder.num_patches
            self.pos_embed = nn.Parameter(T.zeros(1, num_patches, hidden_size), requires_grad=False)
            self.blocks = nn.ModuleList([DiTBlock(hidden_size, num_heads, mlp_ratio=mlp_ratio)
                                         for _ in range(depth)])
            self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)
            self.initialize_weights()

        def initialize_weights(self):
            pos_embed = get_2d_sincos_pos_embed(self.pos_embed.shape[-1], int(self.x_embedder.num_patches ** 0.5))
            self.pos_embed.data.copy_(T.from_numpy(pos_embed).float().unsqueeze(0))

        def unpatchify(self, x):
            c = self.out_channels
            p = self.x_embedder.proj.kernel_size[0]
            h = w = int(x.shape[1] ** 0.5)
            assert h * w == x.shape[1]
            x = x.reshape(shape=(x.shape[0], h, w, p, p, c))
            x = T.einsum("nhwpqc->nchpwq", x)
            return x.reshape(shape=(x.shape[0], c, h * p, h * p))

        def forward(self, x, t, y, force_drop_ids=None):
            x = self.x_embedder(x) + self.pos_embed
            t = self.t_embedder(t)
            y = self.y_embedder(y, self.training, force_drop_ids)
            c = t + y
            for block in self.blocks:
                x = block(x, c)
            x = self.final_layer(x, c)
            return self.unpatchify(x)

        def forward_with_cfg(self, x, t, y, cfg_scale):
            half = x[: len(x) // 2]
            combined = T.cat([half, half], dim=0)
            model_out = self.forward(combined, t, y)
            eps, rest = model_out[:, :self.in_channels], model_out[:, self.in_channels:]
            cond_eps, uncond_eps = T.split(eps, len(eps) // 2, dim=0)
            half_eps = uncond_eps + cfg_scale * (cond_eps - uncond_eps)
            eps = T.cat([half_eps, half_eps], dim=0)
            return T.cat([eps, rest], dim=1)

    model = DiT()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0)
    model.train()
    out = []
    for x, t, y, drop in zip(xs, ts, ys, drops):
        x, t, y = T.from_numpy(x[0]), T.from_numpy(t), T.from_numpy(y)
        noise = T.from_numpy(xs[0][1])
        model_output = model(x + noise * 0.3, t, y, force_drop_ids=T.from_numpy(drop))
        eps_pred, _ = T.split(model_output, model.in_channels, dim=1)
        loss = ((noise - eps_pred) ** 2).mean(dim=list(range(1, len(noise.shape)))).mean()
        opt.zero_grad()
        loss.backward()
        out += [model_output, loss, _grads(model)]
        opt.step()
    out.append(model.state_dict())
    model.eval()
    with T.no_grad():
        z = T.from_numpy(xs[0][0])
        y = T.tensor([0, 2, 3, 3])
        out.append(model.forward_with_cfg(z, T.from_numpy(ts[0]), y, 4.0))
    return out


def test_dit_adaln_zero_and_cfg(torch):
    rng = _rng()
    sd = dit(torch, None, None, None, None, None)
    for k in sd:
        if "adaLN" in k or "final_layer.linear" in k:  # (adaLN-Zero: trained past the zero start)
            sd[k] = rng.standard_normal(sd[k].shape) * .1
    xs = rng.standard_normal((3, 2, 4, 2, 4, 4))
    ts, ys = rng.integers(0, 1000, (3, 4)), rng.integers(0, 3, (3, 4))
    drops = rng.random((3, 4)) < 0.3
    _compare(dit(tg, sd, xs, ts, ys, drops), dit(torch, sd, xs, ts, ys, drops))


# ------------------------------------------------------------------------------------- latent-diffusion autoencoder
def ldm_autoencoder(T, sd, xs, eps):
    """CompVis latent-diffusion's AutoencoderKL training losses: DiagonalGaussianDistribution (chunk into mean and
    clamped logvar, sample with given noise, kl summed over [1, 2, 3]), LPIPSWithDiscriminator without the LPIPS
    net (a learned logvar, nll / exp(logvar) + logvar), taming's NLayerDiscriminator (BatchNorm, LeakyReLU), the
    adaptive discriminator weight from autograd.grad of both losses w.r.t. the decoder's last layer
    (retain_graph), hinge and vanilla losses, adopt_weight, and the two optimizers' alternating steps."""
    nn = T.nn
    F = T.nn.functional

    class DiagonalGaussianDistribution(object):
        def __init__(self, parameters, deterministic=False):
            self.parameters = parameters
            self.mean, self.logvar = T.chunk(parameters, 2, dim=1)
            self.logvar = T.clamp(self.logvar, -30.0, 20.0)
            self.deterministic = deterministic
            self.std = T.exp(0.5 * self.logvar)
            self.var = T.exp(self.logvar)

        def sample(self, noise):
            return self.mean + self.std * noise  # (torch.randn(self.mean.shape) there)

        def kl(self, other=None):
            return 0.5 * T.sum(T.pow(self.mean, 2) + self.var - 1.0 - self.logvar, dim=[1, 2, 3])

        def mode(self):
            return self.mean

    class AutoencoderKL(nn.Module):
        def __init__(self, ch=2, z=2):
            super().__init__()
            self.encoder = nn.Sequential(nn.Conv2d(1, ch, 3, padding=1), nn.SiLU(), nn.Conv2d(ch, ch, 4, 2, 1))
            self.quant_conv = nn.Conv2d(ch, 2 * z, 1)
            self.post_quant_conv = nn.Conv2d(z, ch, 1)
            self.decoder = nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(ch, ch, 3, padding=1),
                                         nn.SiLU())
            self.conv_out = nn.Conv2d(ch, 1, 3, padding=1)

        def encode(self, x):
            return DiagonalGaussianDistribution(self.quant_conv(self.encoder(x)))

        def decode(self, z):
            return self.conv_out(self.decoder(self.post_quant_conv(z)))

        def forward(self, input, noise, sample_posterior=True):
            posterior = self.encode(input)
            z = posterior.sample(noise) if sample_posterior else posterior.mode()
            return self.decode(z), posterior

        def get_last_layer(self):
            return self.conv_out.weight

    class NLayerDiscriminator(nn.Module):
        def __init__(self, input_nc=1, ndf=4, n_layers=1):
            super().__init__()
            kw, padw = 4, 1
            sequence = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]
            nf_mult = 1
            for n in range(1, n_layers):
                nf_mult_prev, nf_mult = nf_mult, min(2 ** n, 8)
                sequence += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kw, 2, padw, bias=False),
                             nn.BatchNorm2d(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
            nf_mult_prev, nf_mult = nf_mult, min(2 ** n_layers, 8)
            sequence += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kw, 1, padw, bias=False),
                         nn.BatchNorm2d(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
            sequence += [nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw)]
            self.main = nn.Sequential(*sequence)

        def forward(self, input):
            return self.main(input)

    def adopt_weight(weight, global_step, threshold=0, value=0.):
        if global_step < threshold:
            weight = value
        return weight

    def hinge_d_loss(logits_real, logits_fake):
        loss_real = T.mean(F.relu(1. - logits_real))
        loss_fake = T.mean(F.relu(1. + logits_fake))
        return 0.5 * (loss_real + loss_fake)

    def vanilla_d_loss(logits_real, logits_fake):
        return 0.5 * (T.mean(T.nn.functional.softplus(-logits_real)) + T.mean(T.nn.functional.softplus(logits_fake)))

    class LPIPSWithDiscriminator(nn.Module):
        def __init__(self, disc_start, logvar_init=0.0, kl_weight=1.0, disc_factor=1.0, disc_weight=1.0,
                     disc_loss="hinge"):
            super().__init__()
            self.kl_weight = kl_weight
            self.logvar = nn.Parameter(T.ones(size=()) * logvar_init)
            self.discriminator = NLayerDiscriminator()
            self.discriminator_iter_start = disc_start
            self.disc_loss = hinge_d_loss if disc_loss == "hinge" else vanilla_d_loss
            self.disc_factor = disc_factor
            self.discriminator_weight = disc_weight

        def calculate_adaptive_weight(self, nll_loss, g_loss, last_layer=None):
            nll_grads = T.autograd.grad(nll_loss, last_layer, retain_graph=True)[0]
            g_grads = T.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
            d_weight = T.norm(nll_grads) / (T.norm(g_grads) + 1e-4)
            d_weight = T.clamp(d_weight, 0.0, 1e4).detach()
            return d_weight * self.discriminator_weight

        def forward(self, inputs, reconstructions, posteriors, optimizer_idx, global_step, last_layer=None,
                    split="train"):
            rec_loss = T.abs(inputs.contiguous() - reconstructions.contiguous())
            nll_loss = rec_loss / T.exp(self.logvar) + self.logvar
            nll_loss = T.sum(nll_loss) / nll_loss.shape[0]
            kl_loss = posteriors.kl()
            kl_loss = T.sum(kl_loss) / kl_loss.shape[0]
            if optimizer_idx == 0:
                logits_fake = self.discriminator(reconstructions.contiguous())
                g_loss = -T.mean(logits_fake)
                d_weight = self.calculate_adaptive_weight(nll_loss, g_loss, last_layer=last_layer)
                disc_factor = adopt_weight(self.disc_factor, global_step, threshold=self.discriminator_iter_start)
                loss = nll_loss + self.kl_weight * kl_loss + d_weight * disc_factor * g_loss
                log = {"{}/total_loss".format(split): loss.clone().detach().mean(),
                       "{}/logvar".format(split): self.logvar.detach(), "{}/d_weight".format(split): d_weight.detach(),
                       "{}/g_loss".format(split): g_loss.detach().mean()}
                return loss, log
            logits_real = self.discriminator(inputs.contiguous().detach())
            logits_fake = self.discriminator(reconstructions.contiguous().detach())
            disc_factor = adopt_weight(self.disc_factor, global_step, threshold=self.discriminator_iter_start)
            d_loss = disc_factor * self.disc_loss(logits_real, logits_fake)
            log = {"{}/disc_loss".format(split): d_loss.clone().detach().mean(),
                   "{}/logits_real".format(split): logits_real.detach().mean(),
                   "{}/logits_fake".format(split): logits_fake.detach().mean()}
            return d_loss, log

    ae, lossm = AutoencoderKL(), LPIPSWithDiscriminator(disc_start=1, kl_weight=1e-2)
    if sd is None:
        return _state(ae), _state(lossm)
    _load(T, ae, sd[0])
    _load(T, lossm, sd[1])
    lr = 1e-3
    opt_ae = T.optim.Adam(list(ae.encoder.parameters()) + list(ae.decoder.parameters()) + list(ae.conv_out.parameters())
                          + list(ae.quant_conv.parameters()) + list(ae.post_quant_conv.parameters()) + [lossm.logvar],
                          lr=lr, betas=(0.5, 0.9))
    opt_disc = T.optim.Adam(lossm.discriminator.parameters(), lr=lr, betas=(0.5, 0.9))
    out = []
    for global_step, (x, noise) in enumerate(zip(xs, eps)):
        lossm.disc_loss = hinge_d_loss if global_step % 2 == 0 else vanilla_d_loss
        inputs = T.from_numpy(x)
        for optimizer_idx, opt in enumerate((opt_ae, opt_disc)):
            reconstructions, posterior = ae(inputs, T.from_numpy(noise))
            loss, log = lossm(inputs, reconstructions, posterior, optimizer_idx, global_step,
                              last_layer=ae.get_last_layer(), split="train")
            opt.zero_grad()
            loss.backward()
            out += [loss, log, _grads(ae), _grads(lossm)]
            opt.step()
    out += [ae.state_dict(), lossm.state_dict()]
    return out


def test_ldm_autoencoder_kl_adaptive_disc_weight(torch):
    rng = _rng()
    sd = ldm_autoencoder(torch, None, None, None)
    xs, eps = rng.standard_normal((3, 2, 1, 8, 8)), rng.standard_normal((3, 2, 2, 4, 4))
    _compare(ldm_autoencoder(tg, sd, xs, eps), ldm_autoencoder(torch, sd, xs, eps))

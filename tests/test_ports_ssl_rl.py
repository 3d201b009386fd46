"""Self-supervised learning, continuous-control / distributional RL and optimizer-wrapper programs, ported: each
written once, as its authors write it against torch, as a function of a module ``T`` (torch or tinygrad_rnn), run
by both from the same initial weights (torch's, loaded into ours) and the same data for a few steps in float64;
losses, outputs, every parameter's gradient and the final weights (target / momentum networks, queues and centers
included) agree to ~1e-10. Random draws (augmented views, exploration and target-smoothing noise, rsample noise,
NoisyLinear's factorised noise, replay sampling) come from numpy, passed in. Skipped without torch.

Programs: lucidrains' byol-pytorch (NetWrapper's forward hook on a hidden layer, the singleton-cached lazy
projector, the deep-copied EMA target encoder updated by ``ma_params.data = ...``, the cosine momentum schedule);
the MoCo v2 CIFAR demo (SplitBatchNorm emulating shuffle-BN, the key encoder's momentum update, the normalised
queue buffer with its pointer, the symmetric InfoNCE by einsum, the kNN monitor by topk / gather / scatter);
SimSiam (stop-gradient by detach, the predictor's fixed learning rate group); Barlow Twins with its LARS optimizer
(the cross-correlation, ``off_diagonal``'s flatten / view trick, in-place div_ / add_ / pow_ on views, the
warmup-cosine schedule over two parameter groups); VICReg (variance / invariance / covariance terms, the
FullGatherLayer autograd.Function); DINO (DINOHead with the weight-normed last layer, MultiCropWrapper over two
crop sizes, DINOLoss's teacher centering / sharpening and temperature schedule, clip_gradients, the frozen last
layer, the momentum teacher by ``mul_(m).add_``); CLIP (openai/CLIP's text transformer with the causal mask and
the EOT pooling, a ViT image tower, the learnable logit_scale clamped under no_grad, open_clip's ClipLoss and
cosine_lr); sfujim's TD3 and DDPG (target policy smoothing with clamp, twin critics, delayed actor updates,
soft target updates, save / load by state dicts); cleanrl's SAC (tanh-squashed Normal rsample with the log_prob
correction, automatic entropy tuning by log_alpha, twin soft Q with targets updated as stable-baselines3's
polyak_update); Kaixhin's Rainbow (NoisyLinear, dueling C51 head, the categorical projection by index_add_,
prioritised-replay importance weights and priority updates); davda54's SAM (two-step with e_w in the optimizer
state, adaptive, a closure), michaelrzhang's Lookahead wrapper (slow weights, momentum pullback, state_dict save /
load) over gradient centralization's SGD_GC; DrQ-v2 (RandomShiftsAug by grid_sample, TruncatedNormal through
distributions.utils._standard_normal, the encoder trained through the critic); MAE (random masking by argsort /
gather, patchify by einsum, sin-cos position embeddings, norm_pix_loss, layer-wise lr decay groups);
pytorch_sac's SquashedNormal (a TransformedDistribution over a hand-written TanhTransform) with CQL's
conservative penalty; PCGrad's gradient surgery; SwAV (Sinkhorn-Knopp assignments, the queue, prototypes
re-normalised and frozen); min-decision-transformer (interleaved return / state / action tokens, padded context
windows, a rolling evaluation context); ikostrikov's TRPO (Fisher-vector products by double backward, conjugate
gradients, line search on flat parameters, an L-BFGS value fit through scipy); daisatojp's MPO (a Cholesky policy
built through tril_indices, MultivariateNormal sample / expand / log_prob, the SLSQP dual, decoupled Gaussian
KLs); CORL's EDAC (vectorized ensemble critics, the input-gradient diversity loss) with torch.func's model
ensembling (stack_module_state, functional_call under vmap; without the tutorial's .to('meta'), which tg lacks);
CORL's IQL (expectile value loss, advantage-weighted Gaussian / deterministic policies, a trainer checkpoint).
"""
import copy
import io
import math
from collections import defaultdict
from functools import partial, wraps
from importlib import import_module

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, rng as _rng, state as _state


def _off_diagonal(T):
    """barlowtwins' (and VICReg's) off_diagonal, as the repositories write it."""
    def off_diagonal(x):
        # return a flattened view of the off-diagonal elements of a square matrix
        n, m = x.shape
        assert n == m
        return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()
    return off_diagonal


# ------------------------------------------------------------------------------------------------------------- BYOL
def byol(T, sd, views, warm, steps=3):
    """lucidrains/byol-pytorch's BYOL (augmentations replaced by views drawn in numpy): the online NetWrapper with a
    forward hook on the backbone's hidden layer, the singleton-cached projector made at the first forward (the
    constructor's dry run), the predictor, the target encoder deep-copied with requires_grad off, the normalised
    MSE loss, SGD, update_moving_average, and the paper's cosine schedule of the EMA decay."""
    nn = T.nn
    F = nn.functional

    def default(val, def_val):
        return def_val if val is None else val

    def flatten(t):
        return t.reshape(t.shape[0], -1)

    def singleton(cache_key):
        def inner_fn(fn):
            @wraps(fn)
            def wrapper(self, *args, **kwargs):
                instance = getattr(self, cache_key)
                if instance is not None:
                    return instance
                instance = fn(self, *args, **kwargs)
                setattr(self, cache_key, instance)
                return instance
            return wrapper
        return inner_fn

    def get_module_device(module):
        return next(module.parameters()).device

    def set_requires_grad(model, val):
        for p in model.parameters():
            p.requires_grad = val

    def loss_fn(x, y):
        x = F.normalize(x, dim=-1, p=2)
        y = F.normalize(y, dim=-1, p=2)
        return 2 - 2 * (x * y).sum(dim=-1)

    class EMA():
        def __init__(self, beta):
            super().__init__()
            self.beta = beta

        def update_average(self, old, new):
            if old is None:
                return new
            return old * self.beta + (1 - self.beta) * new

    def update_moving_average(ema_updater, ma_model, current_model):
        for current_params, ma_params in zip(current_model.parameters(), ma_model.parameters()):
            old_weight, up_weight = ma_params.data, current_params.data
            ma_params.data = ema_updater.update_average(old_weight, up_weight)

    def MLP(dim, projection_size, hidden_size=4096):
        return nn.Sequential(
            nn.Linear(dim, hidden_size),
            nn.BatchNorm1d(hidden_size),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_size, projection_size)
        )

    class NetWrapper(nn.Module):
        def __init__(self, net, projection_size, projection_hidden_size, layer=-2):
            super().__init__()
            self.net = net
            self.layer = layer
            self.projector = None
            self.projection_size = projection_size
            self.projection_hidden_size = projection_hidden_size
            self.hidden = {}
            self.hook_registered = False

        def _find_layer(self):
            if type(self.layer) == str:
                modules = dict([*self.net.named_modules()])
                return modules.get(self.layer, None)
            elif type(self.layer) == int:
                children = [*self.net.children()]
                return children[self.layer]
            return None

        def _hook(self, _, input, output):
            device = input[0].device
            self.hidden[device] = flatten(output)

        def _register_hook(self):
            layer = self._find_layer()
            assert layer is not None, f'hidden layer ({self.layer}) not found'
            layer.register_forward_hook(self._hook)
            self.hook_registered = True

        @singleton('projector')
        def _get_projector(self, hidden):
            _, dim = hidden.shape
            projector = MLP(dim, self.projection_size, self.projection_hidden_size)
            return projector.to(hidden)

        def get_representation(self, x):
            if self.layer == -1:
                return self.net(x)
            if not self.hook_registered:
                self._register_hook()
            self.hidden.clear()
            _ = self.net(x)
            hidden = self.hidden[x.device]
            self.hidden.clear()
            assert hidden is not None, f'hidden layer {self.layer} never emitted an output'
            return hidden

        def forward(self, x, return_projection=True):
            representation = self.get_representation(x)
            if not return_projection:
                return representation
            projector = self._get_projector(representation)
            projection = projector(representation)
            return projection, representation

    class BYOL(nn.Module):
        def __init__(self, net, image_size, hidden_layer=-2, projection_size=256, projection_hidden_size=4096,
                     augment_fn=None, augment_fn2=None, moving_average_decay=0.99, use_momentum=True):
            super().__init__()
            self.net = net
            self.augment1 = augment_fn
            self.augment2 = default(augment_fn2, self.augment1)
            self.online_encoder = NetWrapper(net, projection_size, projection_hidden_size, layer=hidden_layer)
            self.use_momentum = use_momentum
            self.target_encoder = None
            self.target_ema_updater = EMA(moving_average_decay)
            self.online_predictor = MLP(projection_size, projection_size, projection_hidden_size)
            device = get_module_device(net)
            self.to(device)
            # send a mock image tensor to instantiate singleton parameters
            self.forward(T.from_numpy(warm))  # (torch.randn(2, 3, image_size, image_size, device=device))

        @singleton('target_encoder')
        def _get_target_encoder(self):
            target_encoder = copy.deepcopy(self.online_encoder)
            set_requires_grad(target_encoder, False)
            return target_encoder

        def reset_moving_average(self):
            del self.target_encoder
            self.target_encoder = None

        def update_moving_average(self):
            assert self.use_momentum, 'you do not need to update the moving average'
            assert self.target_encoder is not None, 'target encoder has not been created yet'
            update_moving_average(self.target_ema_updater, self.target_encoder, self.online_encoder)

        def forward(self, x, return_embedding=False, return_projection=True):
            assert not (self.training and x.shape[0] == 1), 'you must have greater than 1 sample'
            if return_embedding:
                return self.online_encoder(x, return_projection=return_projection)
            image_one, image_two = self.augment1(x), self.augment2(x)
            images = T.cat((image_one, image_two), dim=0)
            online_projections, _ = self.online_encoder(images)
            online_predictions = self.online_predictor(online_projections)
            online_pred_one, online_pred_two = online_predictions.chunk(2, dim=0)
            with T.no_grad():
                target_encoder = self._get_target_encoder() if self.use_momentum else self.online_encoder
                target_projections, _ = target_encoder(images)
                target_projections = target_projections.detach()
                target_proj_one, target_proj_two = target_projections.chunk(2, dim=0)
            loss_one = loss_fn(online_pred_one, target_proj_two.detach())
            loss_two = loss_fn(online_pred_two, target_proj_one.detach())
            loss = loss_one + loss_two
            return loss.mean()

    drawn = iter(views)
    dry_run = [True]

    def augment(x):  # (DefaultAug's random crops / jitter: a view drawn in numpy; the dry run's mock image as is)
        return x if dry_run[0] else T.from_numpy(next(drawn))

    resnet = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                           nn.Flatten(), nn.Linear(4, 10))
    learner = BYOL(resnet, image_size=6, hidden_layer=-2, projection_size=5, projection_hidden_size=7,
                   augment_fn=augment)
    dry_run[0] = False
    if sd is None:
        return _state(learner)
    _load(T, learner, sd)
    # (SGD, not the README's Adam: the biases in front of BatchNorm get zero gradients up to roundoff, which Adam
    # would scale up to full steps)
    opt = T.optim.SGD(learner.parameters(), lr=0.05, momentum=0.9)
    out = []
    base_tau = 0.9
    for k in range(steps):
        learner.target_ema_updater.beta = 1 - (1 - base_tau) * (math.cos(math.pi * k / steps) + 1) / 2
        loss = learner(T.from_numpy(warm))
        opt.zero_grad()
        loss.backward()
        opt.step()
        learner.update_moving_average()
        out += [loss, _grads(learner)]
    assert all(not p.requires_grad for p in learner.target_encoder.parameters())
    with T.no_grad():
        out.append(learner(T.from_numpy(warm), return_embedding=True))
    out.append(learner.state_dict())
    return out


def test_byol_ema_target_hooked_projector_and_momentum_schedule(torch):
    rng = _rng()
    warm = rng.standard_normal((4, 3, 6, 6))
    views = [rng.standard_normal((4, 3, 6, 6)) for _ in range(6)]
    sd = byol(torch, None, iter(()), warm)
    _compare(byol(tg, sd, views, warm), byol(torch, sd, views, warm))


# ------------------------------------------------------------------------------------------------------------ MoCo
def moco(T, sd, data, perms, memory, memory_labels, test, test_labels, epochs=2):
    """facebookresearch/moco's CIFAR-10 demo (moco_cifar10_demo.ipynb): SplitBatchNorm (shuffle-BN emulated on
    one device by batch-norming ``num_splits`` groups as channels), ModelBase, ModelMoCo with the symmetric loss,
    the key encoder's momentum update, the single-GPU batch shuffle (its randperm drawn in numpy) / unshuffle by
    argsort, the queue dequeue / enqueue, SGD with weight decay and the cosine adjust_learning_rate, the kNN
    monitor (feature bank, topk, gather, scatter of one-hot labels)."""
    nn = T.nn
    F = nn.functional
    drawn = iter(perms or ())

    class SplitBatchNorm(nn.BatchNorm2d):
        def __init__(self, num_features, num_splits, **kw):
            super().__init__(num_features, **kw)
            self.num_splits = num_splits

        def forward(self, input):
            N, C, H, W = input.shape
            if self.training or not self.track_running_stats:
                running_mean_split = self.running_mean.repeat(self.num_splits)
                running_var_split = self.running_var.repeat(self.num_splits)
                outcome = nn.functional.batch_norm(
                    input.view(-1, C * self.num_splits, H, W), running_mean_split, running_var_split,
                    self.weight.repeat(self.num_splits), self.bias.repeat(self.num_splits),
                    True, self.momentum, self.eps).view(N, C, H, W)
                self.running_mean.data.copy_(running_mean_split.view(self.num_splits, C).mean(dim=0))
                self.running_var.data.copy_(running_var_split.view(self.num_splits, C).mean(dim=0))
                return outcome
            else:
                return nn.functional.batch_norm(
                    input, self.running_mean, self.running_var,
                    self.weight, self.bias, False, self.momentum, self.eps)

    class ModelBase(nn.Module):
        """Common CIFAR ResNet recipe (a two-block stand-in for resnet18 here)."""
        def __init__(self, feature_dim=128, arch=None, bn_splits=16):
            super(ModelBase, self).__init__()
            norm_layer = partial(SplitBatchNorm, num_splits=bn_splits) if bn_splits > 1 else nn.BatchNorm2d
            self.net = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1, bias=False), norm_layer(4), nn.ReLU(inplace=True),
                                     nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, 1, 1, bias=False), norm_layer(6),
                                     nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(1),
                                     nn.Linear(6, feature_dim))

        def forward(self, x):
            x = self.net(x)
            # note: not normalized here
            return x

    class ModelMoCo(nn.Module):
        def __init__(self, dim=128, K=4096, m=0.99, T_=0.1, arch='resnet18', bn_splits=8, symmetric=True):
            super(ModelMoCo, self).__init__()
            self.K = K
            self.m = m
            self.T = T_
            self.symmetric = symmetric
            # create the encoders
            self.encoder_q = ModelBase(feature_dim=dim, arch=arch, bn_splits=bn_splits)
            self.encoder_k = ModelBase(feature_dim=dim, arch=arch, bn_splits=bn_splits)
            for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                param_k.data.copy_(param_q.data)  # initialize
                param_k.requires_grad = False  # not update by gradient
            # create the queue
            self.register_buffer("queue", T.randn(dim, K))
            self.queue = nn.functional.normalize(self.queue, dim=0)
            self.register_buffer("queue_ptr", T.zeros(1, dtype=T.long))

        @T.no_grad()
        def _momentum_update_key_encoder(self):
            """Momentum update of the key encoder"""
            for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                param_k.data = param_k.data * self.m + param_q.data * (1. - self.m)

        @T.no_grad()
        def _dequeue_and_enqueue(self, keys):
            batch_size = keys.shape[0]
            ptr = int(self.queue_ptr)
            assert self.K % batch_size == 0  # for simplicity
            # replace the keys at ptr (dequeue and enqueue)
            self.queue[:, ptr:ptr + batch_size] = keys.t()  # transpose
            ptr = (ptr + batch_size) % self.K  # move pointer
            self.queue_ptr[0] = ptr

        @T.no_grad()
        def _batch_shuffle_single_gpu(self, x):
            """Batch shuffle, for making use of BatchNorm."""
            # random shuffle index
            idx_shuffle = T.from_numpy(next(drawn))  # (torch.randperm(x.shape[0]).cuda())
            # index for restoring
            idx_unshuffle = T.argsort(idx_shuffle)
            return x[idx_shuffle], idx_unshuffle

        @T.no_grad()
        def _batch_unshuffle_single_gpu(self, x, idx_unshuffle):
            """Undo batch shuffle."""
            return x[idx_unshuffle]

        def contrastive_loss(self, im_q, im_k):
            # compute query features
            q = self.encoder_q(im_q)  # queries: NxC
            q = nn.functional.normalize(q, dim=1)  # already normalized
            # compute key features
            with T.no_grad():  # no gradient to keys
                # shuffle for making use of BN
                im_k_, idx_unshuffle = self._batch_shuffle_single_gpu(im_k)
                k = self.encoder_k(im_k_)  # keys: NxC
                k = nn.functional.normalize(k, dim=1)  # already normalized
                # undo shuffle
                k = self._batch_unshuffle_single_gpu(k, idx_unshuffle)
            # compute logits
            # Einstein sum is more intuitive
            # positive logits: Nx1
            l_pos = T.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
            # negative logits: NxK
            l_neg = T.einsum('nc,ck->nk', [q, self.queue.clone().detach()])
            # logits: Nx(1+K)
            logits = T.cat([l_pos, l_neg], dim=1)
            # apply temperature
            logits /= self.T
            # labels: positive key indicators
            labels = T.zeros(logits.shape[0], dtype=T.long)
            loss = nn.CrossEntropyLoss()(logits, labels)
            return loss, q, k

        def forward(self, im1, im2):
            # update the key encoder
            with T.no_grad():  # no gradient to keys
                self._momentum_update_key_encoder()
            # compute loss
            if self.symmetric:  # asymmetric loss
                loss_12, q1, k2 = self.contrastive_loss(im1, im2)
                loss_21, q2, k1 = self.contrastive_loss(im2, im1)
                loss = loss_12 + loss_21
                k = T.cat([k1, k2], dim=0)
            else:  # asymmetric loss
                loss, q, k = self.contrastive_loss(im1, im2)
            self._dequeue_and_enqueue(k)
            return loss

    def test_knn(net, memory_data, memory_targets, test_data, test_targets, classes, knn_k, knn_t):
        net.eval()
        total_top1, total_num, feature_bank = 0.0, 0, []
        with T.no_grad():
            # generate feature bank
            for data in memory_data:
                feature = net(data)
                feature = F.normalize(feature, dim=1)
                feature_bank.append(feature)
            # [D, N]
            feature_bank = T.cat(feature_bank, dim=0).t().contiguous()
            # [N]
            feature_labels = T.tensor(memory_targets, device=feature_bank.device)
            # loop test data to predict the label by weighted knn search
            for data, target in zip(test_data, test_targets):
                feature = net(data)
                feature = F.normalize(feature, dim=1)
                pred_labels = knn_predict(feature, feature_bank, feature_labels, classes, knn_k, knn_t)
                total_num += data.size(0)
                total_top1 += (pred_labels[:, 0] == target).float().sum().item()
        return total_top1 / total_num * 100, pred_labels

    def knn_predict(feature, feature_bank, feature_labels, classes, knn_k, knn_t):
        # compute cos similarity between each feature vector and feature bank ---> [B, N]
        sim_matrix = T.mm(feature, feature_bank)
        # [B, K]
        sim_weight, sim_indices = sim_matrix.topk(k=knn_k, dim=-1)
        # [B, K]
        sim_labels = T.gather(feature_labels.expand(feature.size(0), -1), dim=-1, index=sim_indices)
        sim_weight = (sim_weight / knn_t).exp()
        # counts for each class
        one_hot_label = T.zeros(feature.size(0) * knn_k, classes, device=sim_labels.device)
        # [B*K, C]
        one_hot_label = one_hot_label.scatter(dim=-1, index=sim_labels.view(-1, 1), value=1.0)
        # weighted score ---> [B, C]
        pred_scores = T.sum(one_hot_label.view(feature.size(0), -1, classes) * sim_weight.unsqueeze(dim=-1), dim=1)
        pred_labels = pred_scores.argsort(dim=-1, descending=True)
        return pred_labels

    model = ModelMoCo(dim=5, K=8, m=0.9, T_=0.1, bn_splits=2, symmetric=True)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    lr, wd, out = 0.06, 5e-4, []
    optimizer = T.optim.SGD(model.parameters(), lr=lr, weight_decay=wd, momentum=0.9)
    for epoch in range(epochs):
        # adjust_learning_rate (cosine)
        lr_ = lr * 0.5 * (1. + math.cos(math.pi * epoch / epochs))
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr_
        model.train()
        for im_1, im_2 in data:
            im_1, im_2 = T.from_numpy(im_1), T.from_numpy(im_2)
            loss = model(im_1, im_2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            out += [loss, _grads(model)]
        memory_data = [T.from_numpy(x) for x in memory]
        test_data = [T.from_numpy(x) for x in test]
        test_targets = [T.from_numpy(y) for y in test_labels]
        out += list(test_knn(model.encoder_q, memory_data, memory_labels, test_data, test_targets, 3, 4, 0.1))
    out += [model.queue, model.queue_ptr, model.state_dict()]
    return out


def test_moco_v2_queue_split_batchnorm_and_knn_monitor(torch):
    rng = _rng(1)
    sd = moco(torch, None, None, None, None, None, None, None)
    data = [(rng.standard_normal((4, 3, 4, 4)), rng.standard_normal((4, 3, 4, 4))) for _ in range(2)]
    perms = [rng.permutation(4) for _ in range(8)]
    memory = [rng.standard_normal((5, 3, 4, 4)) for _ in range(2)]
    memory_labels = rng.integers(0, 3, 10).tolist()
    test = [rng.standard_normal((3, 3, 4, 4))]
    test_labels = [rng.integers(0, 3, 3)]
    args = (data, perms, memory, memory_labels, test, test_labels)
    _compare(moco(tg, sd, *args), moco(torch, sd, *args))


# ------------------------------------------------------------------------------- SimSiam, Barlow Twins, VICReg
def _tiny_resnet(T, num_classes=10, zero_init_residual=False):
    """The torchvision resnet stand-in the three repositories build on: a conv stem, one residual basic block
    (zero_init_residual zeroes its last BN's weight), global pooling and ``fc``."""
    nn = T.nn

    class BasicBlock(nn.Module):
        def __init__(self, planes):
            super().__init__()
            self.conv1 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, num_classes, zero_init_residual):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = BasicBlock(4)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(4, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, BasicBlock):
                        nn.init.constant_(m.bn2.weight, 0)

        def forward(self, x):
            x = self.layer1(self.relu(self.bn1(self.conv1(x))))
            x = T.flatten(self.avgpool(x), 1)
            return self.fc(x)

    return ResNet(num_classes, zero_init_residual)


def simsiam(T, sd, views, epochs=3):
    """facebookresearch/simsiam: the encoder's fc replaced by the 3-layer projection MLP ending in an affine-free
    BatchNorm1d (the hijacked fc's bias frozen), the bottleneck predictor, stop-gradient by detach, the negative
    cosine similarity of nn.CosineSimilarity, SGD over the fix_lr parameter groups and adjust_learning_rate."""
    nn = T.nn

    class SimSiam(nn.Module):
        def __init__(self, base_encoder, dim=2048, pred_dim=512):
            super(SimSiam, self).__init__()
            # create the encoder
            # num_classes is the output fc dimension, zero-initialize last BNs
            self.encoder = base_encoder(num_classes=dim, zero_init_residual=True)
            # build a 3-layer projector
            prev_dim = self.encoder.fc.weight.shape[1]
            self.encoder.fc = nn.Sequential(nn.Linear(prev_dim, prev_dim, bias=False),
                                            nn.BatchNorm1d(prev_dim),
                                            nn.ReLU(inplace=True),  # first layer
                                            nn.Linear(prev_dim, prev_dim, bias=False),
                                            nn.BatchNorm1d(prev_dim),
                                            nn.ReLU(inplace=True),  # second layer
                                            self.encoder.fc,
                                            nn.BatchNorm1d(dim, affine=False))  # output layer
            self.encoder.fc[6].bias.requires_grad = False  # hack: not use bias as it is followed by BN
            # build a 2-layer predictor
            self.predictor = nn.Sequential(nn.Linear(dim, pred_dim, bias=False),
                                           nn.BatchNorm1d(pred_dim),
                                           nn.ReLU(inplace=True),  # hidden layer
                                           nn.Linear(pred_dim, dim))  # output layer

        def forward(self, x1, x2):
            # compute features for one view
            z1 = self.encoder(x1)  # NxC
            z2 = self.encoder(x2)  # NxC
            p1 = self.predictor(z1)  # NxC
            p2 = self.predictor(z2)  # NxC
            return p1, p2, z1.detach(), z2.detach()

    def adjust_learning_rate(optimizer, init_lr, epoch, epochs):
        """Decay the learning rate based on schedule"""
        cur_lr = init_lr * 0.5 * (1. + math.cos(math.pi * epoch / epochs))
        for param_group in optimizer.param_groups:
            if 'fix_lr' in param_group and param_group['fix_lr']:
                param_group['lr'] = init_lr
            else:
                param_group['lr'] = cur_lr

    model = SimSiam(partial(_tiny_resnet, T), dim=6, pred_dim=3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    init_lr = 0.05 * 4 / 256 * 64
    criterion = nn.CosineSimilarity(dim=1)
    optim_params = [{'params': model.encoder.parameters(), 'fix_lr': False},
                    {'params': model.predictor.parameters(), 'fix_lr': True}]
    optimizer = T.optim.SGD(optim_params, init_lr, momentum=0.9, weight_decay=1e-4)
    out = []
    for epoch in range(epochs):
        adjust_learning_rate(optimizer, init_lr, epoch, epochs)
        model.train()
        for images in views[epoch]:
            p1, p2, z1, z2 = model(x1=T.from_numpy(images[0]), x2=T.from_numpy(images[1]))
            loss = -(criterion(p1, z2).mean() + criterion(p2, z1).mean()) * 0.5
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            out += [loss, p1, z2, _grads(model)]
    assert model.encoder.fc[6].bias.grad is None
    out += [optimizer.state_dict()["param_groups"][1]["lr"], model.state_dict()]
    return out


def test_simsiam_stop_gradient_and_fixed_predictor_lr(torch):
    rng = _rng(2)
    views = [[rng.standard_normal((2, 5, 3, 4, 4))] for _ in range(3)]
    sd = simsiam(torch, None, None)
    _compare(simsiam(tg, sd, views), simsiam(torch, sd, views))


def _lars(T, kind):
    """barlowtwins' LARS (kind 'barlow': boolean filters, exclude_bias_and_norm a method) or VICReg's (kind
    'vicreg': the filters are functions, None for none)."""
    optim = T.optim

    class LARS(optim.Optimizer):
        def __init__(self, params, lr, weight_decay=0, momentum=0.9, eta=0.001,
                     weight_decay_filter=False, lars_adaptation_filter=False):
            defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta,
                            weight_decay_filter=weight_decay_filter, lars_adaptation_filter=lars_adaptation_filter)
            super().__init__(params, defaults)

        def exclude_bias_and_norm(self, p):
            return p.ndim == 1

        def _no_decay(self, g, p):
            if kind == 'barlow':
                return not g['weight_decay_filter'] or not self.exclude_bias_and_norm(p)
            return g['weight_decay_filter'] is None or not g['weight_decay_filter'](p)

        def _adapt(self, g, p):
            if kind == 'barlow':
                return not g['lars_adaptation_filter'] or not self.exclude_bias_and_norm(p)
            return g['lars_adaptation_filter'] is None or not g['lars_adaptation_filter'](p)

        @T.no_grad()
        def step(self):
            for g in self.param_groups:
                for p in g['params']:
                    dp = p.grad
                    if dp is None:
                        continue
                    if self._no_decay(g, p):
                        dp = dp.add(p, alpha=g['weight_decay'])
                    if self._adapt(g, p):
                        param_norm = T.norm(p)
                        update_norm = T.norm(dp)
                        one = T.ones_like(param_norm)
                        q = T.where(param_norm > 0.,
                                    T.where(update_norm > 0,
                                            (g['eta'] * param_norm / update_norm), one), one)
                        dp = dp.mul(q)
                    param_state = self.state[p]
                    if 'mu' not in param_state:
                        param_state['mu'] = T.zeros_like(p)
                    mu = param_state['mu']
                    mu.mul_(g['momentum']).add_(dp)
                    p.add_(mu, alpha=-g['lr'])
    return LARS


def barlow_twins(T, sd, views, lambd=0.0051, batch_size=4, epochs=2):
    """facebookresearch/barlowtwins main.py: the backbone with fc = nn.Identity(), the projector parsed from a
    '-'-joined string, the affine-free BatchNorm1d, the cross-correlation c.div_ / on_diag by
    torch.diagonal(c).add_(-1).pow_(2), off_diagonal(c).pow_(2), LARS over weight / bias groups with
    adjust_learning_rate's warmup then cosine, and the checkpoint dict saved and resumed (torch.save / load)."""
    nn = T.nn
    off_diagonal = _off_diagonal(T)

    class Args:
        projector = '6-6-5'
        learning_rate_weights = 0.2
        learning_rate_biases = 0.0048
        weight_decay = 1e-6
    args = Args()
    args.lambd, args.batch_size, args.epochs = lambd, batch_size, epochs

    class BarlowTwins(nn.Module):
        def __init__(self, args):
            super().__init__()
            self.args = args
            self.backbone = _tiny_resnet(T, zero_init_residual=True)
            self.backbone.fc = nn.Identity()
            # projector
            sizes = [4] + list(map(int, args.projector.split('-')))
            layers = []
            for i in range(len(sizes) - 2):
                layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=False))
                layers.append(nn.BatchNorm1d(sizes[i + 1]))
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
            self.projector = nn.Sequential(*layers)
            # normalization layer for the representations z1 and z2
            self.bn = nn.BatchNorm1d(sizes[-1], affine=False)

        def forward(self, y1, y2):
            z1 = self.projector(self.backbone(y1))
            z2 = self.projector(self.backbone(y2))
            # empirical cross-correlation matrix
            c = self.bn(z1).T @ self.bn(z2)
            # sum the cross-correlation matrix between all gpus
            c.div_(self.args.batch_size)
            on_diag = T.diagonal(c).add_(-1).pow_(2).sum()
            off_diag = off_diagonal(c).pow_(2).sum()
            loss = on_diag + self.args.lambd * off_diag
            return loss

    def adjust_learning_rate(args, optimizer, loader, step):
        max_steps = args.epochs * len(loader)
        warmup_steps = 1 * len(loader)
        base_lr = args.batch_size / 256
        if step < warmup_steps:
            lr = base_lr * step / warmup_steps
        else:
            step -= warmup_steps
            max_steps -= warmup_steps
            q = 0.5 * (1 + math.cos(math.pi * step / max_steps))
            end_lr = base_lr * 0.001
            lr = base_lr * q + end_lr * (1 - q)
        optimizer.param_groups[0]['lr'] = lr * args.learning_rate_weights
        optimizer.param_groups[1]['lr'] = lr * args.learning_rate_biases

    model = BarlowTwins(args)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    param_weights = []
    param_biases = []
    for param in model.parameters():
        if param.ndim == 1:
            param_biases.append(param)
        else:
            param_weights.append(param)
    parameters = [{'params': param_weights}, {'params': param_biases}]
    LARS = _lars(T, 'barlow')
    optimizer = LARS(parameters, lr=0, weight_decay=args.weight_decay,
                     weight_decay_filter=True, lars_adaptation_filter=True)
    out, loader = [], views
    for epoch in range(0, args.epochs):
        for step, (y1, y2) in enumerate(loader, start=epoch * len(loader)):
            y1, y2 = T.from_numpy(y1), T.from_numpy(y2)
            adjust_learning_rate(args, optimizer, loader, step)
            optimizer.zero_grad()
            loss = model.forward(y1, y2)
            loss.backward()
            out += [loss, _grads(model)]
            optimizer.step()
        if epoch == 0:  # save checkpoint, and resume from it
            state = dict(epoch=epoch + 1, model=model.state_dict(), optimizer=optimizer.state_dict())
            buf = io.BytesIO()
            T.save(state, buf)
            buf.seek(0)
            ckpt = T.load(buf, map_location='cpu')
            model.load_state_dict(ckpt['model'])
            optimizer.load_state_dict(ckpt['optimizer'])
            out.append([optimizer.state[p]['mu'] for p in param_weights])
    out.append(model.state_dict())
    return out


def test_barlow_twins_cross_correlation_and_lars(torch):
    rng = _rng(3)
    views = [(rng.standard_normal((4, 3, 4, 4)), rng.standard_normal((4, 3, 4, 4))) for _ in range(2)]
    sd = barlow_twins(torch, None, None)
    _compare(barlow_twins(tg, sd, views), barlow_twins(torch, sd, views))


def vicreg(T, sd, views, steps=3):
    """facebookresearch/vicreg main_vicreg.py: the invariance (mse), variance (relu of 1 - std by sqrt(var +
    1e-4)) and covariance (off_diagonal of x.T @ x) terms over FullGatherLayer's gathered batch (an
    autograd.Function returning a tuple, one process's world), LARS with exclude_bias_and_norm filters."""
    nn = T.nn
    F = nn.functional
    off_diagonal = _off_diagonal(T)

    class Args:
        mlp = '6-6-5'
        batch_size = 4
        sim_coeff = 25.0
        std_coeff = 25.0
        cov_coeff = 1.0
        base_lr = 0.2
        wd = 1e-6
    args = Args()

    class FullGatherLayer(T.autograd.Function):
        """Gather tensors from all process and support backward propagation for the gradients across processes."""
        @staticmethod
        def forward(ctx, x):
            output = [T.zeros_like(x) for _ in range(1)]  # (dist.get_world_size())
            output[0].copy_(x)  # (dist.all_gather(output, x))
            return tuple(output)

        @staticmethod
        def backward(ctx, *grads):
            all_gradients = T.stack(grads)
            # (dist.all_reduce(all_gradients))
            return all_gradients[0]  # (dist.get_rank())

    def Projector(args, embedding):
        mlp_spec = f"{embedding}-{args.mlp}"
        layers = []
        f = list(map(int, mlp_spec.split("-")))
        for i in range(len(f) - 2):
            layers.append(nn.Linear(f[i], f[i + 1]))
            layers.append(nn.BatchNorm1d(f[i + 1]))
            layers.append(nn.ReLU(True))
        layers.append(nn.Linear(f[-2], f[-1], bias=False))
        return nn.Sequential(*layers)

    class VICReg(nn.Module):
        def __init__(self, args):
            super().__init__()
            self.args = args
            self.num_features = int(args.mlp.split("-")[-1])
            self.backbone = _tiny_resnet(T, zero_init_residual=True)
            self.backbone.fc = nn.Identity()
            self.embedding = 4
            self.projector = Projector(args, self.embedding)

        def forward(self, x, y):
            x = self.projector(self.backbone(x))
            y = self.projector(self.backbone(y))
            repr_loss = F.mse_loss(x, y)
            x = T.cat(FullGatherLayer.apply(x), dim=0)
            y = T.cat(FullGatherLayer.apply(y), dim=0)
            x = x - x.mean(dim=0)
            y = y - y.mean(dim=0)
            std_x = T.sqrt(x.var(dim=0) + 0.0001)
            std_y = T.sqrt(y.var(dim=0) + 0.0001)
            std_loss = T.mean(F.relu(1 - std_x)) / 2 + T.mean(F.relu(1 - std_y)) / 2
            cov_x = (x.T @ x) / (self.args.batch_size - 1)
            cov_y = (y.T @ y) / (self.args.batch_size - 1)
            cov_loss = off_diagonal(cov_x).pow_(2).sum().div(
                self.num_features
            ) + off_diagonal(cov_y).pow_(2).sum().div(self.num_features)
            loss = (
                self.args.sim_coeff * repr_loss
                + self.args.std_coeff * std_loss
                + self.args.cov_coeff * cov_loss
            )
            return loss

    def exclude_bias_and_norm(p):
        return p.ndim == 1

    model = VICReg(args)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    LARS = _lars(T, 'vicreg')
    optimizer = LARS(model.parameters(), lr=0, weight_decay=args.wd, weight_decay_filter=exclude_bias_and_norm,
                     lars_adaptation_filter=exclude_bias_and_norm)
    out = []
    for step, (x, y) in enumerate(views[:steps]):
        for g in optimizer.param_groups:  # (adjust_learning_rate's warmup)
            g["lr"] = args.base_lr * args.batch_size / 256 * (step + 1) / steps
        optimizer.zero_grad()
        loss = model.forward(T.from_numpy(x), T.from_numpy(y))
        loss.backward()
        optimizer.step()
        out += [loss, _grads(model)]
    out.append(model.state_dict())
    return out


def test_vicreg_variance_invariance_covariance(torch):
    rng = _rng(4)
    views = [(rng.standard_normal((4, 3, 4, 4)), rng.standard_normal((4, 3, 4, 4))) for _ in range(3)]
    sd = vicreg(torch, None, None)
    _compare(vicreg(tg, sd, views), vicreg(torch, sd, views))


# ------------------------------------------------------------------------------------------------------------- DINO
def dino(T, sd, crops, epochs=3):
    """facebookresearch/dino: DINOHead (trunc_normal_ init by self.apply, GELU MLP, normalize, the weight-normed
    last layer with weight_g filled with 1 and frozen), MultiCropWrapper (unique_consecutive crop sizes,
    torch.empty(0) grown by cat), DINOLoss (the center buffer, the teacher temperature schedule indexed by epoch,
    the cross-view sum, update_center), utils.cosine_scheduler / get_params_groups / clip_gradients /
    cancel_gradients_last_layer, AdamW with the lr and weight-decay schedules written into param_groups, and the
    teacher's momentum update ``param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)``."""
    nn = T.nn
    F = nn.functional

    def trunc_normal_(tensor, mean=0., std=1., a=-2., b=2.):
        return nn.init.trunc_normal_(tensor, mean, std, a, b)

    class DINOHead(nn.Module):
        def __init__(self, in_dim, out_dim, use_bn=False, norm_last_layer=True, nlayers=3, hidden_dim=2048,
                     bottleneck_dim=256):
            super().__init__()
            nlayers = max(nlayers, 1)
            if nlayers == 1:
                self.mlp = nn.Linear(in_dim, bottleneck_dim)
            else:
                layers = [nn.Linear(in_dim, hidden_dim)]
                if use_bn:
                    layers.append(nn.BatchNorm1d(hidden_dim))
                layers.append(nn.GELU())
                for _ in range(nlayers - 2):
                    layers.append(nn.Linear(hidden_dim, hidden_dim))
                    if use_bn:
                        layers.append(nn.BatchNorm1d(hidden_dim))
                    layers.append(nn.GELU())
                layers.append(nn.Linear(hidden_dim, bottleneck_dim))
                self.mlp = nn.Sequential(*layers)
            self.apply(self._init_weights)
            self.last_layer = nn.utils.weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
            self.last_layer.weight_g.data.fill_(1)
            if norm_last_layer:
                self.last_layer.weight_g.requires_grad = False

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):
            x = self.mlp(x)
            x = nn.functional.normalize(x, dim=-1, p=2)
            x = self.last_layer(x)
            return x

    class MultiCropWrapper(nn.Module):
        def __init__(self, backbone, head):
            super(MultiCropWrapper, self).__init__()
            # disable layers dedicated to ImageNet labels classification
            backbone.fc, backbone.head = nn.Identity(), nn.Identity()
            self.backbone = backbone
            self.head = head

        def forward(self, x):
            # convert to list
            if not isinstance(x, list):
                x = [x]
            idx_crops = T.cumsum(T.unique_consecutive(
                T.tensor([inp.shape[-1] for inp in x]),
                return_counts=True,
            )[1], 0)
            start_idx, output = 0, T.empty(0).to(x[0].device)
            for end_idx in idx_crops:
                _out = self.backbone(T.cat(x[start_idx: end_idx]))
                # The output is a tuple with XCiT model. See:
                # https://github.com/facebookresearch/xcit/blob/master/xcit.py#L404-L405
                if isinstance(_out, tuple):
                    _out = _out[0]
                # accumulate outputs
                output = T.cat((output, _out))
                start_idx = end_idx
            # Run the head forward on the concatenated features.
            return self.head(output)

    class DINOLoss(nn.Module):
        def __init__(self, out_dim, ncrops, warmup_teacher_temp, teacher_temp,
                     warmup_teacher_temp_epochs, nepochs, student_temp=0.1,
                     center_momentum=0.9):
            super().__init__()
            self.student_temp = student_temp
            self.center_momentum = center_momentum
            self.ncrops = ncrops
            self.register_buffer("center", T.zeros(1, out_dim))
            # we apply a warm up for the teacher temperature because
            # a too high temperature makes the training instable at the beginning
            self.teacher_temp_schedule = np.concatenate((
                np.linspace(warmup_teacher_temp,
                            teacher_temp, warmup_teacher_temp_epochs),
                np.ones(nepochs - warmup_teacher_temp_epochs) * teacher_temp
            ))

        def forward(self, student_output, teacher_output, epoch):
            """Cross-entropy between softmax outputs of the teacher and student networks."""
            student_out = student_output / self.student_temp
            student_out = student_out.chunk(self.ncrops)
            # teacher centering and sharpening
            temp = self.teacher_temp_schedule[epoch]
            teacher_out = F.softmax((teacher_output - self.center) / temp, dim=-1)
            teacher_out = teacher_out.detach().chunk(2)
            total_loss = 0
            n_loss_terms = 0
            for iq, q in enumerate(teacher_out):
                for v in range(len(student_out)):
                    if v == iq:
                        # we skip cases where student and teacher operate on the same view
                        continue
                    loss = T.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1)
                    total_loss += loss.mean()
                    n_loss_terms += 1
            total_loss /= n_loss_terms
            self.update_center(teacher_output)
            return total_loss

        @T.no_grad()
        def update_center(self, teacher_output):
            """Update center used for teacher output."""
            batch_center = T.sum(teacher_output, dim=0, keepdim=True)
            # (dist.all_reduce(batch_center))
            batch_center = batch_center / (len(teacher_output) * 1)  # (dist.get_world_size())
            # ema update
            self.center = self.center * self.center_momentum + batch_center * (1 - self.center_momentum)

    def cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs=0, start_warmup_value=0):
        warmup_schedule = np.array([])
        warmup_iters = warmup_epochs * niter_per_ep
        if warmup_epochs > 0:
            warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)
        iters = np.arange(epochs * niter_per_ep - warmup_iters)
        schedule = final_value + 0.5 * (base_value - final_value) * (1 + np.cos(np.pi * iters / len(iters)))
        schedule = np.concatenate((warmup_schedule, schedule))
        assert len(schedule) == epochs * niter_per_ep
        return schedule

    def get_params_groups(model):
        regularized = []
        not_regularized = []
        for name, param in model.named_parameters():
            if not param.requires_grad:
                continue
            # we do not regularize biases nor Norm parameters
            if name.endswith(".bias") or len(param.shape) == 1:
                not_regularized.append(param)
            else:
                regularized.append(param)
        return [{'params': regularized}, {'params': not_regularized, 'weight_decay': 0.}]

    def clip_gradients(model, clip):
        norms = []
        for name, p in model.named_parameters():
            if p.grad is not None:
                param_norm = p.grad.data.norm(2)
                norms.append(param_norm.item())
                clip_coef = clip / (param_norm + 1e-6)
                if clip_coef < 1:
                    p.grad.data.mul_(clip_coef)
        return norms

    def cancel_gradients_last_layer(epoch, model, freeze_last_layer):
        if epoch >= freeze_last_layer:
            return
        for n, p in model.named_parameters():
            if "last_layer" in n:
                p.grad = None

    def backbone():
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    out_dim, local_crops_number = 7, 2
    student = MultiCropWrapper(backbone(), DINOHead(4, out_dim, use_bn=False, norm_last_layer=True, hidden_dim=6,
                                                    bottleneck_dim=5))
    teacher = MultiCropWrapper(backbone(), DINOHead(4, out_dim, False, hidden_dim=6, bottleneck_dim=5))
    if sd is None:
        return _state(student)
    _load(T, student, sd)
    # teacher and student start with the same weights
    teacher.load_state_dict(student.state_dict())
    # there is no backpropagation through the teacher, so no need for gradients
    for p in teacher.parameters():
        p.requires_grad = False
    dino_loss = DINOLoss(out_dim, local_crops_number + 2, 0.04, 0.07, 2, epochs)
    params_groups = get_params_groups(student)
    optimizer = T.optim.AdamW(params_groups)  # to use with ViTs
    niter = 1
    lr_schedule = cosine_scheduler(0.05, 1e-3, epochs, niter, warmup_epochs=1)
    wd_schedule = cosine_scheduler(0.04, 0.4, epochs, niter)
    momentum_schedule = cosine_scheduler(0.9, 1, epochs, niter)
    out = []
    for epoch in range(epochs):
        for it, images in enumerate(crops[epoch:epoch + 1]):
            it = niter * epoch + it  # global training iteration
            for i, param_group in enumerate(optimizer.param_groups):
                param_group["lr"] = lr_schedule[it]
                if i == 0:  # only the first group is regularized
                    param_group["weight_decay"] = wd_schedule[it]
            images = [T.from_numpy(im) for im in images]
            teacher_output = teacher(images[:2])  # only the 2 global views pass through the teacher
            student_output = student(images)
            loss = dino_loss(student_output, teacher_output, epoch)
            if not math.isfinite(loss.item()):
                raise RuntimeError("Loss is {}, stopping training".format(loss.item()))
            optimizer.zero_grad()
            loss.backward()
            param_norms = clip_gradients(student, 0.5)
            cancel_gradients_last_layer(epoch, student, 1)
            out += [loss, teacher_output, student_output, _grads(student), param_norms, dino_loss.center]
            optimizer.step()
            # EMA update for the teacher
            with T.no_grad():
                m = momentum_schedule[it]  # momentum parameter
                for param_q, param_k in zip(student.parameters(), teacher.parameters()):
                    param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)
    out += [student.state_dict(), teacher.state_dict(), dino_loss.state_dict()]
    return out


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
def test_dino_multicrop_centering_and_momentum_teacher(torch):
    rng = _rng(5)
    crops = [[rng.standard_normal((3, 3, 6, 6)) for _ in range(2)] + [rng.standard_normal((3, 3, 3, 3))
                                                                    for _ in range(2)] for _ in range(3)]
    sd = dino(torch, None, None)
    _compare(dino(tg, sd, crops), dino(torch, sd, crops))


# ------------------------------------------------------------------------------------------------------------- CLIP
def clip(T, sd, images, texts, steps=3):
    """openai/CLIP's model.py (QuickGELU, ResidualAttentionBlock over nn.MultiheadAttention with the causal mask
    built by fill_(-inf).triu_(1), the VisionTransformer with class_embedding / positional_embedding / ln_pre /
    ln_post / proj, encode_text's EOT pooling by text.argmax(dim=-1), initialize_parameters, the learnable
    logit_scale) trained as open_clip does: ClipLoss's symmetric cross entropy, AdamW with the gain / bias /
    logit_scale group free of weight decay, cosine_lr with warmup, and the logit_scale clamped to log(100) after
    each step under no_grad."""
    nn = T.nn
    F = nn.functional
    from collections import OrderedDict

    class QuickGELU(nn.Module):
        def forward(self, x):
            return x * T.sigmoid(1.702 * x)

    class ResidualAttentionBlock(nn.Module):
        def __init__(self, d_model, n_head, attn_mask=None):
            super().__init__()
            self.attn = nn.MultiheadAttention(d_model, n_head)
            self.ln_1 = nn.LayerNorm(d_model)
            self.mlp = nn.Sequential(OrderedDict([
                ("c_fc", nn.Linear(d_model, d_model * 4)),
                ("gelu", QuickGELU()),
                ("c_proj", nn.Linear(d_model * 4, d_model))
            ]))
            self.ln_2 = nn.LayerNorm(d_model)
            self.attn_mask = attn_mask

        def attention(self, x):
            self.attn_mask = self.attn_mask.to(dtype=x.dtype, device=x.device) if self.attn_mask is not None else None
            return self.attn(x, x, x, need_weights=False, attn_mask=self.attn_mask)[0]

        def forward(self, x):
            x = x + self.attention(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x

    class Transformer(nn.Module):
        def __init__(self, width, layers, heads, attn_mask=None):
            super().__init__()
            self.width = width
            self.layers = layers
            self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])

        def forward(self, x):
            return self.resblocks(x)

    class VisionTransformer(nn.Module):
        def __init__(self, input_resolution, patch_size, width, layers, heads, output_dim):
            super().__init__()
            self.input_resolution = input_resolution
            self.output_dim = output_dim
            self.conv1 = nn.Conv2d(in_channels=3, out_channels=width, kernel_size=patch_size, stride=patch_size,
                                   bias=False)
            scale = width ** -0.5
            self.class_embedding = nn.Parameter(scale * T.randn(width))
            self.positional_embedding = nn.Parameter(scale * T.randn((input_resolution // patch_size) ** 2 + 1, width))
            self.ln_pre = nn.LayerNorm(width)
            self.transformer = Transformer(width, layers, heads)
            self.ln_post = nn.LayerNorm(width)
            self.proj = nn.Parameter(scale * T.randn(width, output_dim))

        def forward(self, x):
            x = self.conv1(x)  # shape = [*, width, grid, grid]
            x = x.reshape(x.shape[0], x.shape[1], -1)  # shape = [*, width, grid ** 2]
            x = x.permute(0, 2, 1)  # shape = [*, grid ** 2, width]
            x = T.cat([self.class_embedding.to(x.dtype) + T.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype,
                                                                  device=x.device), x], dim=1)
            x = x + self.positional_embedding.to(x.dtype)
            x = self.ln_pre(x)
            x = x.permute(1, 0, 2)  # NLD -> LND
            x = self.transformer(x)
            x = x.permute(1, 0, 2)  # LND -> NLD
            x = self.ln_post(x[:, 0, :])
            if self.proj is not None:
                x = x @ self.proj
            return x

    class CLIP(nn.Module):
        def __init__(self, embed_dim, image_resolution, vision_layers, vision_width, vision_patch_size,
                     context_length, vocab_size, transformer_width, transformer_heads, transformer_layers):
            super().__init__()
            self.context_length = context_length
            vision_heads = vision_width // 64 or 1
            self.visual = VisionTransformer(input_resolution=image_resolution, patch_size=vision_patch_size,
                                            width=vision_width, layers=vision_layers, heads=vision_heads,
                                            output_dim=embed_dim)
            self.transformer = Transformer(width=transformer_width, layers=transformer_layers,
                                           heads=transformer_heads, attn_mask=self.build_attention_mask())
            self.vocab_size = vocab_size
            self.token_embedding = nn.Embedding(vocab_size, transformer_width)
            self.positional_embedding = nn.Parameter(T.empty(self.context_length, transformer_width))
            self.ln_final = nn.LayerNorm(transformer_width)
            self.text_projection = nn.Parameter(T.empty(transformer_width, embed_dim))
            self.logit_scale = nn.Parameter(T.ones([]) * np.log(1 / 0.07))
            self.initialize_parameters()

        def initialize_parameters(self):
            nn.init.normal_(self.token_embedding.weight, std=0.02)
            nn.init.normal_(self.positional_embedding, std=0.01)
            proj_std = (self.transformer.width ** -0.5) * ((2 * self.transformer.layers) ** -0.5)
            attn_std = self.transformer.width ** -0.5
            fc_std = (2 * self.transformer.width) ** -0.5
            for block in self.transformer.resblocks:
                nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
                nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
                nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
                nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
            if self.text_projection is not None:
                nn.init.normal_(self.text_projection, std=self.transformer.width ** -0.5)

        def build_attention_mask(self):
            # lazily create causal attention mask, with full attention between the vision tokens
            # pytorch uses additive attention mask; fill with -inf
            mask = T.empty(self.context_length, self.context_length)
            mask.fill_(float("-inf"))
            mask.triu_(1)  # zero out the lower diagonal
            return mask

        @property
        def dtype(self):
            return self.visual.conv1.weight.dtype

        def encode_image(self, image):
            return self.visual(image.type(self.dtype))

        def encode_text(self, text):
            x = self.token_embedding(text).type(self.dtype)  # [batch_size, n_ctx, d_model]
            x = x + self.positional_embedding.type(self.dtype)
            x = x.permute(1, 0, 2)  # NLD -> LND
            x = self.transformer(x)
            x = x.permute(1, 0, 2)  # LND -> NLD
            x = self.ln_final(x).type(self.dtype)
            # x.shape = [batch_size, n_ctx, transformer.width]
            # take features from the eot embedding (eot_token is the highest number in each sequence)
            x = x[T.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection
            return x

        def forward(self, image, text):
            image_features = self.encode_image(image)
            text_features = self.encode_text(text)
            # normalized features
            image_features = image_features / image_features.norm(dim=1, keepdim=True)
            text_features = text_features / text_features.norm(dim=1, keepdim=True)
            # cosine similarity as logits
            logit_scale = self.logit_scale.exp()
            logits_per_image = logit_scale * image_features @ text_features.t()
            logits_per_text = logits_per_image.t()
            # shape = [global_batch_size, global_batch_size]
            return logits_per_image, logits_per_text

    class ClipLoss(nn.Module):
        def forward(self, logits_per_image, logits_per_text):
            labels = T.arange(logits_per_image.shape[0], device=logits_per_image.device, dtype=T.long)
            total_loss = (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)) / 2
            return total_loss

    def assign_learning_rate(optimizer, new_lr):
        for param_group in optimizer.param_groups:
            param_group["lr"] = new_lr

    def _warmup_lr(base_lr, warmup_length, step):
        return base_lr * (step + 1) / warmup_length

    def cosine_lr(optimizer, base_lr, warmup_length, steps):
        def _lr_adjuster(step):
            if step < warmup_length:
                lr = _warmup_lr(base_lr, warmup_length, step)
            else:
                e = step - warmup_length
                es = steps - warmup_length
                lr = 0.5 * (1 + np.cos(np.pi * e / es)) * base_lr
            assign_learning_rate(optimizer, lr)
            return lr
        return _lr_adjuster

    model = CLIP(embed_dim=5, image_resolution=4, vision_layers=1, vision_width=6, vision_patch_size=2,
                 context_length=5, vocab_size=11, transformer_width=6, transformer_heads=2, transformer_layers=2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    exclude = lambda n, p: p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or 'logit_scale' in n  # noqa: E731
    include = lambda n, p: not exclude(n, p)  # noqa: E731
    named_parameters = list(model.named_parameters())
    gain_or_bias_params = [p for n, p in named_parameters if exclude(n, p) and p.requires_grad]
    rest_params = [p for n, p in named_parameters if include(n, p) and p.requires_grad]
    optimizer = T.optim.AdamW(
        [{"params": gain_or_bias_params, "weight_decay": 0.},
         {"params": rest_params, "weight_decay": 0.2}],
        lr=5e-2, betas=(0.9, 0.98), eps=1e-6)
    scheduler = cosine_lr(optimizer, 5e-2, 1, steps)
    loss = ClipLoss()
    out = []
    model.train()
    for step in range(steps):
        scheduler(step)
        image, text = T.from_numpy(images[step]), T.from_numpy(texts[step])
        optimizer.zero_grad()
        logits_per_image, logits_per_text = model(image, text)
        total_loss = loss(logits_per_image, logits_per_text)
        total_loss.backward()
        optimizer.step()
        # Note: we clamp to 4.6052 = ln(100), as in the original paper.
        with T.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        out += [total_loss, logits_per_image, _grads(model), model.logit_scale.detach().clone()]
    out.append(model.state_dict())
    return out


def test_clip_symmetric_infonce_with_clamped_logit_scale(torch):
    rng = _rng(6)
    images = [rng.standard_normal((3, 3, 4, 4)) for _ in range(3)]
    texts = []
    for _ in range(3):
        t = rng.integers(1, 9, (3, 5))
        t[np.arange(3), rng.integers(1, 5, 3)] = 10  # the EOT token, the highest id
        texts.append(t)
    sd = clip(torch, None, None, None)
    sd['logit_scale'] = np.array(4.7)  # (a scale past the clamp: the first step clamps it)
    _compare(clip(tg, sd, images, texts), clip(torch, sd, images, texts))


# --------------------------------------------------------------------------------------------------- TD3 and DDPG
def td3(T, sd, algo, noise, steps=6, start=3):
    """sfujim/TD3 (TD3.py and OurDDPG.py) on a tiny deterministic linear environment: Actor (max_action * tanh),
    the twin Critic with Q1, copy.deepcopy targets, the ReplayBuffer of numpy arrays sampled by np.random.randint
    (a seeded generator here), TD3's target policy smoothing (torch.randn_like noise from numpy, clamped) with the
    min of the twin targets and the delayed actor / target updates, DDPG's detached target, soft updates by
    ``target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)``, save / load of the state dicts
    and optimizers (io buffers for files), exploration noise drawn in numpy."""
    nn = T.nn
    F = nn.functional
    device = T.device("cpu")
    FloatTensor = T.DoubleTensor  # (torch.FloatTensor: the float64 run's)
    noise = iter(noise)

    def randn_like(x):  # torch.randn_like
        return T.from_numpy(next(noise)[:x.numel()].reshape(tuple(x.shape)))

    class ReplayBuffer(object):
        def __init__(self, state_dim, action_dim, max_size=int(1e6)):
            self.max_size = max_size
            self.ptr = 0
            self.size = 0
            self.state = np.zeros((max_size, state_dim))
            self.action = np.zeros((max_size, action_dim))
            self.next_state = np.zeros((max_size, state_dim))
            self.reward = np.zeros((max_size, 1))
            self.not_done = np.zeros((max_size, 1))
            self.device = T.device("cuda" if T.cuda.is_available() else "cpu")
            self.np_random = np.random.RandomState(0)

        def add(self, state, action, next_state, reward, done):
            self.state[self.ptr] = state
            self.action[self.ptr] = action
            self.next_state[self.ptr] = next_state
            self.reward[self.ptr] = reward
            self.not_done[self.ptr] = 1. - done
            self.ptr = (self.ptr + 1) % self.max_size
            self.size = min(self.size + 1, self.max_size)

        def sample(self, batch_size):
            ind = self.np_random.randint(0, self.size, size=batch_size)
            return (
                FloatTensor(self.state[ind]).to(self.device),
                FloatTensor(self.action[ind]).to(self.device),
                FloatTensor(self.next_state[ind]).to(self.device),
                FloatTensor(self.reward[ind]).to(self.device),
                FloatTensor(self.not_done[ind]).to(self.device)
            )

    class Actor(nn.Module):
        def __init__(self, state_dim, action_dim, max_action):
            super(Actor, self).__init__()
            self.l1 = nn.Linear(state_dim, 8)
            self.l2 = nn.Linear(8, 8)
            self.l3 = nn.Linear(8, action_dim)
            self.max_action = max_action

        def forward(self, state):
            a = F.relu(self.l1(state))
            a = F.relu(self.l2(a))
            return self.max_action * T.tanh(self.l3(a))

    class Critic(nn.Module):
        def __init__(self, state_dim, action_dim):
            super(Critic, self).__init__()
            # Q1 architecture
            self.l1 = nn.Linear(state_dim + action_dim, 8)
            self.l2 = nn.Linear(8, 8)
            self.l3 = nn.Linear(8, 1)
            # Q2 architecture
            self.l4 = nn.Linear(state_dim + action_dim, 8)
            self.l5 = nn.Linear(8, 8)
            self.l6 = nn.Linear(8, 1)

        def forward(self, state, action):
            sa = T.cat([state, action], 1)
            q1 = F.relu(self.l1(sa))
            q1 = F.relu(self.l2(q1))
            q1 = self.l3(q1)
            q2 = F.relu(self.l4(sa))
            q2 = F.relu(self.l5(q2))
            q2 = self.l6(q2)
            return q1, q2

        def Q1(self, state, action):
            sa = T.cat([state, action], 1)
            q1 = F.relu(self.l1(sa))
            q1 = F.relu(self.l2(q1))
            q1 = self.l3(q1)
            return q1

    class DDPGCritic(nn.Module):  # OurDDPG's Critic
        def __init__(self, state_dim, action_dim):
            super().__init__()
            self.l1 = nn.Linear(state_dim + action_dim, 8)
            self.l2 = nn.Linear(8, 8)
            self.l3 = nn.Linear(8, 1)

        def forward(self, state, action):
            q = F.relu(self.l1(T.cat([state, action], 1)))
            q = F.relu(self.l2(q))
            return self.l3(q)

    class TD3(object):
        def __init__(self, state_dim, action_dim, max_action, discount=0.99, tau=0.005, policy_noise=0.2,
                     noise_clip=0.5, policy_freq=2):
            self.actor = Actor(state_dim, action_dim, max_action).to(device)
            self.actor_target = copy.deepcopy(self.actor)
            self.actor_optimizer = T.optim.Adam(self.actor.parameters(), lr=3e-4)
            self.critic = Critic(state_dim, action_dim).to(device)
            self.critic_target = copy.deepcopy(self.critic)
            self.critic_optimizer = T.optim.Adam(self.critic.parameters(), lr=3e-4)
            self.max_action = max_action
            self.discount = discount
            self.tau = tau
            self.policy_noise = policy_noise
            self.noise_clip = noise_clip
            self.policy_freq = policy_freq
            self.total_it = 0

        def select_action(self, state):
            state = FloatTensor(state.reshape(1, -1)).to(device)
            return self.actor(state).cpu().data.numpy().flatten()

        def train(self, replay_buffer, batch_size=256):
            self.total_it += 1
            # Sample replay buffer
            state, action, next_state, reward, not_done = replay_buffer.sample(batch_size)
            with T.no_grad():
                # Select action according to policy and add clipped noise
                noise = (
                    randn_like(action) * self.policy_noise
                ).clamp(-self.noise_clip, self.noise_clip)
                next_action = (
                    self.actor_target(next_state) + noise
                ).clamp(-self.max_action, self.max_action)
                # Compute the target Q value
                target_Q1, target_Q2 = self.critic_target(next_state, next_action)
                target_Q = T.min(target_Q1, target_Q2)
                target_Q = reward + not_done * self.discount * target_Q
            # Get current Q estimates
            current_Q1, current_Q2 = self.critic(state, action)
            # Compute critic loss
            critic_loss = F.mse_loss(current_Q1, target_Q) + F.mse_loss(current_Q2, target_Q)
            # Optimize the critic
            self.critic_optimizer.zero_grad()
            critic_loss.backward()
            self.critic_optimizer.step()
            log = [critic_loss, _grads(self.critic)]
            # Delayed policy updates
            if self.total_it % self.policy_freq == 0:
                # Compute actor losse
                actor_loss = -self.critic.Q1(state, self.actor(state)).mean()
                # Optimize the actor
                self.actor_optimizer.zero_grad()
                actor_loss.backward()
                self.actor_optimizer.step()
                log += [actor_loss, _grads(self.actor)]
                # Update the frozen target models
                for param, target_param in zip(self.critic.parameters(), self.critic_target.parameters()):
                    target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)
                for param, target_param in zip(self.actor.parameters(), self.actor_target.parameters()):
                    target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)
            return log

        def save(self, files):
            for name in ("critic", "critic_optimizer", "actor", "actor_optimizer"):
                files["_" + name] = io.BytesIO()
                T.save(getattr(self, name).state_dict(), files["_" + name])
                files["_" + name].seek(0)

        def load(self, files):
            self.critic.load_state_dict(T.load(files["_critic"]))
            self.critic_optimizer.load_state_dict(T.load(files["_critic_optimizer"]))
            self.critic_target = copy.deepcopy(self.critic)
            self.actor.load_state_dict(T.load(files["_actor"]))
            self.actor_optimizer.load_state_dict(T.load(files["_actor_optimizer"]))
            self.actor_target = copy.deepcopy(self.actor)

    class DDPG(TD3):
        def __init__(self, state_dim, action_dim, max_action, discount=0.99, tau=0.005):
            super().__init__(state_dim, action_dim, max_action, discount, tau)
            self.critic = DDPGCritic(state_dim, action_dim).to(device)
            self.critic_target = copy.deepcopy(self.critic)
            self.critic_optimizer = T.optim.Adam(self.critic.parameters(), lr=3e-4)

        def train(self, replay_buffer, batch_size=256):
            # Sample replay buffer
            state, action, next_state, reward, not_done = replay_buffer.sample(batch_size)
            # Compute the target Q value
            target_Q = self.critic_target(next_state, self.actor_target(next_state))
            target_Q = reward + (not_done * self.discount * target_Q).detach()
            # Get current Q estimate
            current_Q = self.critic(state, action)
            # Compute critic loss
            critic_loss = F.mse_loss(current_Q, target_Q)
            # Optimize the critic
            self.critic_optimizer.zero_grad()
            critic_loss.backward()
            self.critic_optimizer.step()
            # Compute actor loss
            actor_loss = -self.critic(state, self.actor(state)).mean()
            # Optimize the actor
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            # Update the frozen target models
            for param, target_param in zip(self.critic.parameters(), self.critic_target.parameters()):
                target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)
            for param, target_param in zip(self.actor.parameters(), self.actor_target.parameters()):
                target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)
            return [critic_loss, actor_loss, _grads(self.critic), _grads(self.actor)]

    state_dim, action_dim, max_action = 3, 2, 2.0
    policy = (TD3 if algo == "TD3" else DDPG)(state_dim, action_dim, max_action, tau=0.05)
    if sd is None:
        return [_state(policy.actor), _state(policy.critic)]
    for net, net_sd in zip((policy.actor, policy.critic), sd):
        _load(T, net, net_sd)
    policy.actor_target, policy.critic_target = copy.deepcopy(policy.actor), copy.deepcopy(policy.critic)
    replay_buffer = ReplayBuffer(state_dim, action_dim, max_size=16)
    A = np.array([[0.9, 0.1, 0.], [0., 0.8, 0.2], [0.1, 0., 0.9]])
    B = np.array([[0.5, 0.], [0., 0.5], [0.3, -0.3]])
    state, out = np.ones(state_dim), []
    for t in range(steps):
        action = (policy.select_action(np.array(state)) + next(noise)[:action_dim] * max_action * 0.1
                  ).clip(-max_action, max_action)
        next_state = A @ state + B @ action
        reward, done = -float(next_state @ next_state), float(t == steps - 1)
        replay_buffer.add(state, action, next_state, reward, done)
        state = next_state
        out.append(action)
        if t >= start:
            out += policy.train(replay_buffer, batch_size=4)
        if t == start:
            files = {}
            policy.save(files)
            policy.load(files)
    for net in (policy.actor, policy.critic, policy.actor_target, policy.critic_target):
        out.append(net.state_dict())
    out.append(policy.critic_optimizer.state_dict()["state"])
    return out


def test_td3_and_ddpg_target_smoothing_delayed_updates_and_save_load(torch):
    rng = _rng(7)
    for algo in ("TD3", "DDPG"):
        noise = [rng.standard_normal(8) for _ in range(20)]
        sd = td3(torch, None, algo, ())
        _compare(td3(tg, sd, algo, noise), td3(torch, sd, algo, noise), where=algo)


# -------------------------------------------------------------------------------------------------------------- SAC
def sac(T, sd, noise, steps=5, learning_starts=2):
    """vwxyzjn/cleanrl's sac_continuous_action.py on a tiny deterministic environment: SoftQNetwork, the Actor with
    the tanh-rescaled log_std and the float32 action_scale / action_bias buffers, get_action's Normal rsample (its
    noise from numpy), tanh squashing and the log_prob correction, twin Q targets with the entropy term, the
    delayed policy update repeated policy_frequency times, automatic entropy tuning by log_alpha
    (target_entropy from torch.Tensor(shape)), and the targets moved by stable-baselines3's polyak_update
    (``mul_(1 - tau)`` then ``th.add(..., alpha=tau, out=...)``) and, for the second critic, by lerp_ of the
    ``torch._foreach`` kind."""
    nn = T.nn
    F = nn.functional
    optim = T.optim
    noise = iter(noise)

    class Normal(T.distributions.Normal):
        def rsample(self, sample_shape=T.Size()):
            shape = self._extended_shape(sample_shape)
            eps = T.from_numpy(next(noise)[:math.prod(shape)].reshape(tuple(shape)))
            return self.loc + eps * self.scale

    class Box:
        def __init__(self, low, high):
            self.low, self.high, self.shape = np.asarray(low), np.asarray(high), np.asarray(low).shape

    class Envs:
        single_observation_space = Box(-np.ones(3), np.ones(3))
        single_action_space = Box(np.array([-1.0, -2.0]), np.array([1.0, 2.0]))
        action_space = single_action_space
    envs = Envs()

    class SoftQNetwork(nn.Module):
        def __init__(self, env):
            super().__init__()
            self.fc1 = nn.Linear(np.array(env.single_observation_space.shape).prod()
                                 + np.prod(env.single_action_space.shape), 8)
            self.fc2 = nn.Linear(8, 8)
            self.fc3 = nn.Linear(8, 1)

        def forward(self, x, a):
            x = T.cat([x, a], 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    LOG_STD_MAX = 2
    LOG_STD_MIN = -5

    class Actor(nn.Module):
        def __init__(self, env):
            super().__init__()
            self.fc1 = nn.Linear(np.array(env.single_observation_space.shape).prod(), 8)
            self.fc2 = nn.Linear(8, 8)
            self.fc_mean = nn.Linear(8, np.prod(env.single_action_space.shape))
            self.fc_logstd = nn.Linear(8, np.prod(env.single_action_space.shape))
            # action rescaling
            self.register_buffer(
                "action_scale", T.tensor((env.action_space.high - env.action_space.low) / 2.0, dtype=T.float32)
            )
            self.register_buffer(
                "action_bias", T.tensor((env.action_space.high + env.action_space.low) / 2.0, dtype=T.float32)
            )

        def forward(self, x):
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            mean = self.fc_mean(x)
            log_std = self.fc_logstd(x)
            log_std = T.tanh(log_std)
            log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)  # From SpinUp / Denis Yarats
            return mean, log_std

        def get_action(self, x):
            mean, log_std = self(x)
            std = log_std.exp()
            normal = Normal(mean, std)
            x_t = normal.rsample()  # for reparameterization trick (mean + std * N(0,1))
            y_t = T.tanh(x_t)
            action = y_t * self.action_scale + self.action_bias
            log_prob = normal.log_prob(x_t)
            # Enforcing Action Bound
            log_prob -= T.log(self.action_scale * (1 - y_t.pow(2)) + 1e-6)
            log_prob = log_prob.sum(1, keepdim=True)
            mean = T.tanh(mean) * self.action_scale + self.action_bias
            return action, log_prob, mean

    def polyak_update(params, target_params, tau):
        with T.no_grad():
            # zip does not raise an exception if length of parameters does not match.
            for param, target_param in zip(params, target_params):
                target_param.data.mul_(1 - tau)
                T.add(target_param.data, param.data, alpha=tau, out=target_param.data)

    actor = Actor(envs)
    qf1, qf2 = SoftQNetwork(envs), SoftQNetwork(envs)
    if sd is None:
        return [_state(actor), _state(qf1), _state(qf2)]
    for net, net_sd in zip((actor, qf1, qf2), sd):
        _load(T, net, net_sd)
    qf1_target = SoftQNetwork(envs)
    qf2_target = SoftQNetwork(envs)
    qf1_target.load_state_dict(qf1.state_dict())
    qf2_target.load_state_dict(qf2.state_dict())
    q_optimizer = optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=1e-2)
    actor_optimizer = optim.Adam(list(actor.parameters()), lr=3e-3)
    # Automatic entropy tuning
    target_entropy = -T.prod(T.Tensor(envs.single_action_space.shape)).item()
    log_alpha = T.zeros(1, requires_grad=True)
    alpha = log_alpha.exp().item()
    a_optimizer = optim.Adam([log_alpha], lr=1e-2)
    gamma, tau, policy_frequency, target_network_frequency = 0.99, 0.05, 2, 1
    A = np.array([[0.9, 0.1, 0.], [0., 0.8, 0.2], [0.1, 0., 0.9]])
    B = np.array([[0.5, 0.], [0., 0.5], [0.3, -0.3]])
    rb, obs, out = [], np.ones((1, 3)), []
    for global_step in range(steps):
        actions, _, _ = actor.get_action(T.Tensor(obs))
        actions = actions.detach().cpu().numpy()
        next_obs = obs @ A.T + actions @ B.T
        rewards, dones = -(next_obs ** 2).sum(1), np.zeros(1)
        rb.append((obs, next_obs, actions, rewards, dones))
        obs = next_obs
        out.append(actions)
        if global_step < learning_starts:
            continue
        ind = [0, global_step, global_step - 1]  # (rb.sample)
        observations, next_observations, acts, rews, dns = (T.tensor(np.concatenate([rb[i][k] for i in ind]))
                                                            for k in range(5))
        with T.no_grad():
            next_state_actions, next_state_log_pi, _ = actor.get_action(next_observations)
            qf1_next_target = qf1_target(next_observations, next_state_actions)
            qf2_next_target = qf2_target(next_observations, next_state_actions)
            min_qf_next_target = T.min(qf1_next_target, qf2_next_target) - alpha * next_state_log_pi
            next_q_value = rews.flatten() + (1 - dns.flatten()) * gamma * (min_qf_next_target).view(-1)
        qf1_a_values = qf1(observations, acts).view(-1)
        qf2_a_values = qf2(observations, acts).view(-1)
        qf1_loss = F.mse_loss(qf1_a_values, next_q_value)
        qf2_loss = F.mse_loss(qf2_a_values, next_q_value)
        qf_loss = qf1_loss + qf2_loss
        # optimize the model
        q_optimizer.zero_grad()
        qf_loss.backward()
        q_optimizer.step()
        out += [qf_loss, _grads(qf1), _grads(qf2)]
        if global_step % policy_frequency == 0:  # TD 3 Delayed update support
            for _ in range(policy_frequency):  # compensate for the delay by doing 'actor_update_interval' instead of 1
                pi, log_pi, _ = actor.get_action(observations)
                qf1_pi = qf1(observations, pi)
                qf2_pi = qf2(observations, pi)
                min_qf_pi = T.min(qf1_pi, qf2_pi)
                actor_loss = ((alpha * log_pi) - min_qf_pi).mean()
                actor_optimizer.zero_grad()
                actor_loss.backward()
                actor_optimizer.step()
                with T.no_grad():
                    _, log_pi, _ = actor.get_action(observations)
                alpha_loss = (-log_alpha.exp() * (log_pi + target_entropy)).mean()
                a_optimizer.zero_grad()
                alpha_loss.backward()
                a_optimizer.step()
                alpha = log_alpha.exp().item()
                out += [actor_loss, _grads(actor), alpha_loss, log_alpha.grad, alpha]
        # update the target networks
        if global_step % target_network_frequency == 0:
            polyak_update(qf1.parameters(), qf1_target.parameters(), tau)
            with T.no_grad():
                T._foreach_lerp_(list(qf2_target.parameters()), list(qf2.parameters()), tau)
    out += [actor.state_dict(), qf1_target.state_dict(), qf2_target.state_dict(), log_alpha,
            a_optimizer.state_dict()["state"]]
    return out


def test_sac_tanh_squashed_rsample_autotuned_alpha_and_polyak(torch):
    rng = _rng(8)
    noise = [rng.standard_normal(6) for _ in range(40)]
    sd = sac(torch, None, ())
    _compare(sac(tg, sd, noise), sac(torch, sd, noise))


# ---------------------------------------------------------------------------------------------------------- Rainbow
def rainbow(T, sd, data, noise, steps=3):
    """Kaixhin/Rainbow: NoisyLinear (factorised Gaussian noise by _scale_noise's sign * sqrt|x| and ger, the
    epsilon buffers; its torch.randn from numpy), the data-efficient DQN with the dueling C51 head (softmax /
    log_softmax over atoms), Agent.learn (double-Q next actions by the support-weighted sum, the categorical
    projection: clamp, floor / ceil to int64, the masked l / u fix-ups, offsets by linspace, two index_add_ into
    m.view(-1)), the importance-weighted loss, clip_grad_norm_, and a proportional prioritised replay (the
    (capacity * probs) ** -beta weights normalised by their max, priorities from loss.detach())."""
    nn = T.nn
    F = nn.functional
    noise = iter(noise)

    def randn(size, device=None):  # torch.randn
        return T.from_numpy(next(noise)[:size].copy())

    class NoisyLinear(nn.Module):
        def __init__(self, in_features, out_features, std_init=0.5):
            super(NoisyLinear, self).__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.std_init = std_init
            self.weight_mu = nn.Parameter(T.empty(out_features, in_features))
            self.weight_sigma = nn.Parameter(T.empty(out_features, in_features))
            self.register_buffer('weight_epsilon', T.empty(out_features, in_features))
            self.bias_mu = nn.Parameter(T.empty(out_features))
            self.bias_sigma = nn.Parameter(T.empty(out_features))
            self.register_buffer('bias_epsilon', T.empty(out_features))
            self.reset_parameters()
            self.reset_noise()

        def reset_parameters(self):
            mu_range = 1 / math.sqrt(self.in_features)
            self.weight_mu.data.uniform_(-mu_range, mu_range)
            self.weight_sigma.data.fill_(self.std_init / math.sqrt(self.in_features))
            self.bias_mu.data.uniform_(-mu_range, mu_range)
            self.bias_sigma.data.fill_(self.std_init / math.sqrt(self.out_features))

        def _scale_noise(self, size):
            x = randn(size, device=self.weight_mu.device)
            return x.sign().mul_(x.abs().sqrt_())

        def reset_noise(self):
            epsilon_in = self._scale_noise(self.in_features)
            epsilon_out = self._scale_noise(self.out_features)
            self.weight_epsilon.copy_(epsilon_out.ger(epsilon_in))
            self.bias_epsilon.copy_(epsilon_out)

        def forward(self, input):
            if self.training:
                return F.linear(input, self.weight_mu + self.weight_sigma * self.weight_epsilon,
                                self.bias_mu + self.bias_sigma * self.bias_epsilon)
            else:
                return F.linear(input, self.weight_mu, self.bias_mu)

    class DQN(nn.Module):
        def __init__(self, args, action_space):
            super(DQN, self).__init__()
            self.atoms = args.atoms
            self.action_space = action_space
            self.convs = nn.Sequential(nn.Conv2d(args.history_length, 3, 3, stride=2, padding=0), nn.ReLU(),
                                       nn.Conv2d(3, 4, 2, stride=1, padding=0), nn.ReLU())
            self.conv_output_size = 16
            self.fc_h_v = NoisyLinear(self.conv_output_size, args.hidden_size, std_init=args.noisy_std)
            self.fc_h_a = NoisyLinear(self.conv_output_size, args.hidden_size, std_init=args.noisy_std)
            self.fc_z_v = NoisyLinear(args.hidden_size, self.atoms, std_init=args.noisy_std)
            self.fc_z_a = NoisyLinear(args.hidden_size, action_space * self.atoms, std_init=args.noisy_std)

        def forward(self, x, log=False):
            x = self.convs(x)
            x = x.view(-1, self.conv_output_size)
            v = self.fc_z_v(F.relu(self.fc_h_v(x)))  # Value stream
            a = self.fc_z_a(F.relu(self.fc_h_a(x)))  # Advantage stream
            v, a = v.view(-1, 1, self.atoms), a.view(-1, self.action_space, self.atoms)
            q = v + a - a.mean(1, keepdim=True)  # Combine streams
            if log:  # Use log softmax for numerical stability
                q = F.log_softmax(q, dim=2)  # Log probabilities with action over second dimension
            else:
                q = F.softmax(q, dim=2)  # Probabilities with action over second dimension
            return q

        def reset_noise(self):
            for name, module in self.named_children():
                if 'fc' in name:
                    module.reset_noise()

    class Args:
        atoms, V_min, V_max, history_length, hidden_size, noisy_std = 7, -2.0, 2.0, 2, 6, 0.1
        batch_size, multi_step, discount, norm_clip, learning_rate, adam_eps = 4, 3, 0.99, 10, 1e-2, 1.5e-4
        priority_exponent, priority_weight = 0.5, 0.4
    args = Args()

    class Agent():
        def __init__(self, args, action_space):
            self.action_space = action_space
            self.atoms = args.atoms
            self.Vmin = args.V_min
            self.Vmax = args.V_max
            self.support = T.linspace(args.V_min, args.V_max, self.atoms)  # Support (range) of z
            self.delta_z = (args.V_max - args.V_min) / (self.atoms - 1)
            self.batch_size = args.batch_size
            self.n = args.multi_step
            self.discount = args.discount
            self.norm_clip = args.norm_clip
            self.online_net = DQN(args, self.action_space)
            self.online_net.train()
            self.target_net = DQN(args, self.action_space)

        def finish_init(self):
            self.update_target_net()
            self.target_net.train()
            for param in self.target_net.parameters():
                param.requires_grad = False
            self.optimiser = T.optim.Adam(self.online_net.parameters(), lr=args.learning_rate, eps=args.adam_eps)

        # Resets noisy weights in all linear layers (of online net only)
        def reset_noise(self):
            self.online_net.reset_noise()

        # Acts based on single state (no batch)
        def act(self, state):
            with T.no_grad():
                return (self.online_net(state.unsqueeze(0)) * self.support).sum(2).argmax(1).item()

        def learn(self, mem):
            # Sample transitions
            idxs, states, actions, returns, next_states, nonterminals, weights = mem.sample(self.batch_size)
            # Calculate current state probabilities (online network noise already sampled)
            log_ps = self.online_net(states, log=True)  # Log probabilities log p(s_t, ·; θonline)
            log_ps_a = log_ps[range(self.batch_size), actions]  # log p(s_t, a_t; θonline)
            with T.no_grad():
                # Calculate nth next state probabilities
                pns = self.online_net(next_states)  # Probabilities p(s_t+n, ·; θonline)
                dns = self.support.expand_as(pns) * pns  # Distribution d_t+n = (z, p(s_t+n, ·; θonline))
                # Perform argmax action selection using online network: argmax_a[(z, p(s_t+n, a; θonline))]
                argmax_indices_ns = dns.sum(2).argmax(1)
                self.target_net.reset_noise()  # Sample new target net noise
                pns = self.target_net(next_states)  # Probabilities p(s_t+n, ·; θtarget)
                # Double-Q probabilities p(s_t+n, argmax_a[(z, p(s_t+n, a; θonline))]; θtarget)
                pns_a = pns[range(self.batch_size), argmax_indices_ns]
                # Compute Tz (Bellman operator T applied to z)
                Tz = returns.unsqueeze(1) + nonterminals * (self.discount ** self.n) * self.support.unsqueeze(0)
                Tz = Tz.clamp(min=self.Vmin, max=self.Vmax)  # Clamp between supported values
                # Compute L2 projection of Tz onto fixed support z
                b = (Tz - self.Vmin) / self.delta_z  # b = (Tz - Vmin) / Δz
                l, u = b.floor().to(T.int64), b.ceil().to(T.int64)
                # Fix disappearing probability mass when l = b = u (b is int)
                l[(u > 0) * (l == u)] -= 1
                u[(l < (self.atoms - 1)) * (l == u)] += 1
                # Distribute probability of Tz
                m = states.new_zeros(self.batch_size, self.atoms)
                offset = T.linspace(0, ((self.batch_size - 1) * self.atoms), self.batch_size).unsqueeze(1).expand(
                    self.batch_size, self.atoms).to(actions)
                # m_l = m_l + p(s_t+n, a*)(u - b)
                m.view(-1).index_add_(0, (l + offset).view(-1), (pns_a * (u.float() - b)).view(-1))
                # m_u = m_u + p(s_t+n, a*)(b - l)
                m.view(-1).index_add_(0, (u + offset).view(-1), (pns_a * (b - l.float())).view(-1))
            loss = -T.sum(m * log_ps_a, 1)  # Cross-entropy loss (minimises DKL(m||p(s_t, a_t)))
            self.online_net.zero_grad()
            (weights * loss).mean().backward()  # Backpropagate importance-weighted minibatch loss
            grads = _grads(self.online_net)
            nn.utils.clip_grad_norm_(self.online_net.parameters(), self.norm_clip)  # Clip gradients by L2 norm
            self.optimiser.step()
            mem.update_priorities(idxs, loss.detach().cpu().numpy())  # Update priorities of sampled transitions
            return [loss, m, grads]

        def update_target_net(self):
            self.target_net.load_state_dict(self.online_net.state_dict())

    class ReplayMemory():
        """memory.py's interface over a flat proportional sampler (the segment tree's draws made by rng)."""
        def __init__(self, args, capacity, transitions, rng):
            self.capacity = capacity
            self.priority_weight = args.priority_weight
            self.priority_exponent = args.priority_exponent
            self.transitions = transitions
            self.priorities = np.ones(len(transitions))
            self.rng = rng

        def sample(self, batch_size):
            p_total = self.priorities.sum()
            probs = self.priorities / p_total
            idxs = self.rng.choice(len(self.transitions), batch_size, p=probs)
            probs = probs[idxs]
            states, actions, returns, next_states, nonterminals = (
                T.tensor(np.stack([self.transitions[i][k] for i in idxs])) for k in range(5))
            capacity = self.capacity
            weights = (capacity * probs) ** -self.priority_weight  # Compute importance-sampling weights w
            # Normalise by max importance-sampling weight from batch
            weights = T.tensor(weights / weights.max(), dtype=T.float32)
            return idxs, states, actions, returns, next_states, nonterminals.unsqueeze(1), weights

        def update_priorities(self, idxs, priorities):
            priorities = np.power(priorities, self.priority_exponent)
            self.priorities[idxs] = priorities

    dqn = Agent(args, action_space=3)
    if sd is None:
        return _state(dqn.online_net)
    _load(T, dqn.online_net, sd)
    dqn.finish_init()
    mem = ReplayMemory(args, 8, data, np.random.default_rng(0))
    out = []
    for step in range(steps):
        dqn.reset_noise()
        out.append(dqn.act(T.tensor(data[step][0])))
        out += dqn.learn(mem)
        out.append(mem.priorities.copy())
        if step == 1:
            dqn.update_target_net()
    out += [dqn.online_net.state_dict(), dqn.target_net.state_dict()]
    return out


def test_rainbow_c51_projection_noisy_nets_and_prioritised_weights(torch):
    rng = _rng(9)
    data = [(rng.standard_normal((2, 7, 7)), int(rng.integers(0, 3)), float(rng.standard_normal() * 2),
             rng.standard_normal((2, 7, 7)), float(i != 3)) for i in range(8)]
    for i in (3, 4):  # (a terminal transition whose return is on an atom: the l == u fix-ups)
        data[i] = data[i][:2] + (0.0,) + data[i][3:4] + (0.0,)
    noise = [rng.standard_normal(21) for _ in range(80)]
    sd = rainbow(torch, None, None, noise)
    _compare(rainbow(tg, sd, data, noise), rainbow(torch, sd, data, noise))


# ------------------------------------------------------------------------------------- SAM, Lookahead, SGD_GC
def sam(T, sd, data, adaptive, steps=3):
    """davda54/sam: the SAM optimizer (a base optimizer built over its param_groups, defaults merged, first_step's
    ``old_p`` in self.state and e_w = (p^2 if adaptive) * grad * scale.to(p), second_step restoring p.data, step
    with the closure wrapped by torch.enable_grad(), _grad_norm by torch.norm of a stack, load_state_dict
    re-pointing the base optimizer's groups) driving a small wide-resnet-like CNN as example/train.py does:
    disable_running_stats / enable_running_stats by BatchNorm momentum, smooth_crossentropy (scatter_ of the
    smoothed one-hot, kl_div reduction='none'), the StepLR helper, both the two-call and the closure forms."""
    nn = T.nn
    F = nn.functional

    class SAM(T.optim.Optimizer):
        def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, **kwargs):
            assert rho >= 0.0, f"Invalid rho, should be non-negative: {rho}"
            defaults = dict(rho=rho, adaptive=adaptive, **kwargs)
            super(SAM, self).__init__(params, defaults)
            self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
            self.param_groups = self.base_optimizer.param_groups
            self.defaults.update(self.base_optimizer.defaults)

        @T.no_grad()
        def first_step(self, zero_grad=False):
            grad_norm = self._grad_norm()
            for group in self.param_groups:
                scale = group["rho"] / (grad_norm + 1e-12)
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self.state[p]["old_p"] = p.data.clone()
                    e_w = (T.pow(p, 2) if group["adaptive"] else 1.0) * p.grad * scale.to(p)
                    p.add_(e_w)  # climb to the local maximum "w + e(w)"
            if zero_grad:
                self.zero_grad()

        @T.no_grad()
        def second_step(self, zero_grad=False):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    p.data = self.state[p]["old_p"]  # get back to "w" from "w + e(w)"
            self.base_optimizer.step()  # do the actual "sharpness-aware" update
            if zero_grad:
                self.zero_grad()

        @T.no_grad()
        def step(self, closure=None):
            assert closure is not None, "Sharpness Aware Minimization requires closure, but it was not provided"
            closure = T.enable_grad()(closure)  # the closure should do a full forward-backward pass
            self.first_step(zero_grad=True)
            closure()
            self.second_step()

        def _grad_norm(self):
            shared_device = self.param_groups[0]["params"][0].device  # put everything on the same device
            norm = T.norm(
                T.stack([
                    ((T.abs(p) if group["adaptive"] else 1.0) * p.grad).norm(p=2).to(shared_device)
                    for group in self.param_groups for p in group["params"]
                    if p.grad is not None
                ]),
                p=2
            )
            return norm

        def load_state_dict(self, state_dict):
            super().load_state_dict(state_dict)
            self.base_optimizer.param_groups = self.param_groups

    def disable_running_stats(model):
        def _disable(module):
            if isinstance(module, nn.BatchNorm2d):
                module.backup_momentum = module.momentum
                module.momentum = 0
        model.apply(_disable)

    def enable_running_stats(model):
        def _enable(module):
            if isinstance(module, nn.BatchNorm2d) and hasattr(module, "backup_momentum"):
                module.momentum = module.backup_momentum
        model.apply(_enable)

    def smooth_crossentropy(pred, gold, smoothing=0.1):
        n_class = pred.size(1)
        one_hot = T.full_like(pred, fill_value=smoothing / (n_class - 1))
        one_hot.scatter_(dim=1, index=gold.unsqueeze(1), value=1.0 - smoothing)
        log_prob = F.log_softmax(pred, dim=1)
        return F.kl_div(input=log_prob, target=one_hot, reduction='none').sum(-1)

    class StepLR:
        def __init__(self, optimizer, learning_rate: float, total_epochs: int):
            self.optimizer = optimizer
            self.total_epochs = total_epochs
            self.base = learning_rate

        def __call__(self, epoch):
            if epoch < self.total_epochs * 3 / 10:
                lr = self.base
            elif epoch < self.total_epochs * 6 / 10:
                lr = self.base * 0.2
            elif epoch < self.total_epochs * 8 / 10:
                lr = self.base * 0.2 ** 2
            else:
                lr = self.base * 0.2 ** 3
            for param_group in self.optimizer.param_groups:
                param_group["lr"] = lr

        def lr(self) -> float:
            return self.optimizer.param_groups[0]["lr"]

    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    base_optimizer = T.optim.SGD
    optimizer = SAM(model.parameters(), base_optimizer, rho=2.0 if adaptive else 0.05, adaptive=adaptive,
                    lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = StepLR(optimizer, 0.1, steps)
    out = []
    for epoch in range(steps):
        model.train()
        inputs, targets = (T.from_numpy(a) for a in data[epoch])
        if epoch % 2 == 0:
            # first forward-backward step
            enable_running_stats(model)
            predictions = model(inputs)
            loss = smooth_crossentropy(predictions, targets, smoothing=0.1)
            loss.mean().backward()
            out += [loss, _grads(model)]
            optimizer.first_step(zero_grad=True)
            out.append([optimizer.state[p]["old_p"] for p in model.parameters()])
            # second forward-backward step
            disable_running_stats(model)
            smooth_crossentropy(model(inputs), targets, smoothing=0.1).mean().backward()
            out.append(_grads(model))
            optimizer.second_step(zero_grad=True)
        else:
            def closure():
                loss = smooth_crossentropy(model(inputs), targets)
                loss.mean().backward()
                out.append(loss)
                return loss
            loss = smooth_crossentropy(model(inputs), targets)
            loss.mean().backward()
            optimizer.step(closure)
            optimizer.zero_grad()
        with T.no_grad():
            correct = T.argmax(predictions.data, 1) == targets
        out += [correct, model.state_dict()]
        scheduler(epoch)
        out.append(scheduler.lr())
    state = optimizer.state_dict()
    optimizer.load_state_dict(state)
    assert optimizer.base_optimizer.param_groups is optimizer.param_groups
    out.append(optimizer.base_optimizer.state_dict()["state"])
    return out


def test_sam_two_step_and_closure(torch):
    rng = _rng(10)
    data = [(rng.standard_normal((4, 3, 4, 4)), rng.integers(0, 3, 4)) for _ in range(3)]
    sd = sam(torch, None, None, False)
    for adaptive in (False, True):
        _compare(sam(tg, sd, data, adaptive), sam(torch, sd, data, adaptive), where=f"adaptive={adaptive}")


def lookahead_gc(T, sd, data, steps=7):
    """michaelrzhang/lookahead's Lookahead wrapper (an Optimizer subclass that never calls Optimizer.__init__:
    param_groups a property of the inner optimizer's, a defaultdict state of cached slow weights, the pullback of
    the inner momentum, state_dict / load_state_dict delegated, saved and resumed by torch.save / load, evaluation
    on the slow weights by _backup_and_load_cache) around Yonghongwei/Gradient-Centralization's SGD_GC
    (``required``, the deprecated add_(Number, Tensor) overloads, the gradient centred over all but the first dim)
    training a small CNN regressor."""
    import warnings
    nn = T.nn
    F = nn.functional
    Optimizer = T.optim.Optimizer
    required = import_module(T.__name__ + ".optim.optimizer").required  # (from torch.optim.optimizer import ...)

    class SGD_GC(Optimizer):
        def __init__(self, params, lr=required, momentum=0, dampening=0,
                     weight_decay=0, nesterov=False):
            if lr is not required and lr < 0.0:
                raise ValueError("Invalid learning rate: {}".format(lr))
            if momentum < 0.0:
                raise ValueError("Invalid momentum value: {}".format(momentum))
            if weight_decay < 0.0:
                raise ValueError("Invalid weight_decay value: {}".format(weight_decay))
            defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                            weight_decay=weight_decay, nesterov=nesterov)
            if nesterov and (momentum <= 0 or dampening != 0):
                raise ValueError("Nesterov momentum requires a momentum and zero dampening")
            super(SGD_GC, self).__init__(params, defaults)

        def __setstate__(self, state):
            super(SGD_GC, self).__setstate__(state)
            for group in self.param_groups:
                group.setdefault('nesterov', False)

        def step(self, closure=None):
            loss = None
            if closure is not None:
                loss = closure()
            for group in self.param_groups:
                weight_decay = group['weight_decay']
                momentum = group['momentum']
                dampening = group['dampening']
                nesterov = group['nesterov']
                for p in group['params']:
                    if p.grad is None:
                        continue
                    d_p = p.grad.data
                    if weight_decay != 0:
                        d_p.add_(weight_decay, p.data)
                    # GC operation for Conv layers and FC layers
                    if len(list(d_p.size())) > 1:
                        d_p.add_(-d_p.mean(dim=tuple(range(1, len(list(d_p.size())))), keepdim=True))
                    if momentum != 0:
                        param_state = self.state[p]
                        if 'momentum_buffer' not in param_state:
                            buf = param_state['momentum_buffer'] = T.clone(d_p).detach()
                        else:
                            buf = param_state['momentum_buffer']
                            buf.mul_(momentum).add_(1 - dampening, d_p)
                        if nesterov:
                            d_p = d_p.add(momentum, buf)
                        else:
                            d_p = buf
                    p.data.add_(-group['lr'], d_p)
            return loss

    class Lookahead(Optimizer):
        """
        PyTorch implementation of the lookahead wrapper.
        Lookahead Optimizer: https://arxiv.org/abs/1907.08610
        """

        def __init__(self, optimizer, la_steps=5, la_alpha=0.8, pullback_momentum="none"):
            """optimizer: inner optimizer
            la_steps (int): number of lookahead steps
            la_alpha (float): linear interpolation factor. 1.0 recovers the inner optimizer.
            pullback_momentum (str): change to inner optimizer momentum on interpolation update
            """
            self.optimizer = optimizer
            self._la_step = 0  # counter for inner optimizer
            self.la_alpha = la_alpha
            self._total_la_steps = la_steps
            pullback_momentum = pullback_momentum.lower()
            assert pullback_momentum in ["reset", "pullback", "none"]
            self.pullback_momentum = pullback_momentum
            self.state = defaultdict(dict)
            # Cache the current optimizer parameters
            for group in optimizer.param_groups:
                for p in group['params']:
                    param_state = self.state[p]
                    param_state['cached_params'] = T.zeros_like(p.data)
                    param_state['cached_params'].copy_(p.data)
                    if self.pullback_momentum == "pullback":
                        param_state['cached_mom'] = T.zeros_like(p.data)

        def __getstate__(self):
            return {
                'state': self.state,
                'optimizer': self.optimizer,
                'la_alpha': self.la_alpha,
                '_la_step': self._la_step,
                '_total_la_steps': self._total_la_steps,
                'pullback_momentum': self.pullback_momentum
            }

        def zero_grad(self):
            self.optimizer.zero_grad()

        def get_la_step(self):
            return self._la_step

        def state_dict(self):
            return self.optimizer.state_dict()

        def load_state_dict(self, state_dict):
            self.optimizer.load_state_dict(state_dict)

        def _backup_and_load_cache(self):
            """Useful for performing evaluation on the slow weights (which typically generalize better)"""
            for group in self.optimizer.param_groups:
                for p in group['params']:
                    param_state = self.state[p]
                    param_state['backup_params'] = T.zeros_like(p.data)
                    param_state['backup_params'].copy_(p.data)
                    p.data.copy_(param_state['cached_params'])

        def _clear_and_load_backup(self):
            for group in self.optimizer.param_groups:
                for p in group['params']:
                    param_state = self.state[p]
                    p.data.copy_(param_state['backup_params'])
                    del param_state['backup_params']

        @property
        def param_groups(self):
            return self.optimizer.param_groups

        def step(self, closure=None):
            """Performs a single Lookahead optimization step.
            Arguments:
                closure (callable, optional): A closure that reevaluates the model
                    and returns the loss.
            """
            loss = self.optimizer.step(closure)
            self._la_step += 1
            if self._la_step >= self._total_la_steps:
                self._la_step = 0
                # Lookahead and cache the current optimizer parameters
                for group in self.optimizer.param_groups:
                    for p in group['params']:
                        param_state = self.state[p]
                        p.data.mul_(self.la_alpha).add_(param_state['cached_params'], alpha=1.0 - self.la_alpha)
                        param_state['cached_params'].copy_(p.data)
                        if self.pullback_momentum == "pullback":
                            internal_momentum = self.optimizer.state[p]["momentum_buffer"]
                            self.optimizer.state[p]["momentum_buffer"] = internal_momentum.mul_(self.la_alpha).add_(
                                1.0 - self.la_alpha, param_state["cached_mom"])
                            param_state["cached_mom"] = self.optimizer.state[p]["momentum_buffer"]
                        elif self.pullback_momentum == "reset":
                            self.optimizer.state[p]["momentum_buffer"] = T.zeros_like(p.data)
            return loss

    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(12, 2))
    if sd is None:
        return _state(model)
    _load(T, model, sd)

    base = SGD_GC(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True)
    optimizer, out = Lookahead(base, la_steps=3, la_alpha=0.5, pullback_momentum="pullback"), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (add_(Number, Tensor) is deprecated)
        for step in range(steps):
            x, y = (T.from_numpy(a) for a in data[step])
            optimizer.zero_grad()
            loss = F.smooth_l1_loss(model(x), y)
            loss.backward()
            out += [loss, _grads(model)]
            optimizer.step()
            if step == 3:  # checkpoint the inner optimizer (its state_dict) and resume; evaluate on the slow weights
                buf = io.BytesIO()
                T.save(optimizer.state_dict(), buf)
                buf.seek(0)
                optimizer.load_state_dict(T.load(buf))
                optimizer._backup_and_load_cache()
                with T.no_grad():
                    out.append(model(x))
                optimizer._clear_and_load_backup()
                out.append(optimizer.get_la_step())
        out += [model.state_dict(), [s["momentum_buffer"] for s in optimizer.optimizer.state.values()]]
    out.append([s["cached_params"] for s in optimizer.state.values()])
    return out


def test_lookahead_over_gradient_centralized_sgd_with_resume(torch):
    rng = _rng(11)
    data = [(rng.standard_normal((3, 2, 4, 4)), rng.standard_normal((3, 2))) for _ in range(7)]
    sd = lookahead_gc(torch, None, None)
    _compare(lookahead_gc(tg, sd, data), lookahead_gc(torch, sd, data))


# ---------------------------------------------------------------------------------------------------------- DrQ-v2
def drqv2(T, sd, batches, noise, steps=3):
    """facebookresearch/drqv2: RandomShiftsAug (replicate F.pad, a base grid from linspace / repeat / cat, integer
    shifts scaled into grid units, F.grid_sample; its torch.randint drawn in numpy), the conv Encoder on uint8
    frames (obs / 255 - 0.5), Actor and twin Critic with LayerNorm + Tanh trunks, utils.weight_init (orthogonal_
    with calculate_gain('relu')), utils.TruncatedNormal (a Normal subclass sampling through
    distributions.utils._standard_normal, clipped noise, the straight-through clamp x - x.detach() +
    clamped.detach()), the 'linear(init,final,duration)' stddev schedule, update_critic / update_actor with
    zero_grad(set_to_none=True) and the encoder trained through the critic only, soft_update_params."""
    import re
    nn = T.nn
    F = nn.functional
    pyd = T.distributions
    import_module(T.__name__ + ".distributions.utils")._standard_normal  # (the program imports it from there)
    noise = iter(noise)

    def _standard_normal(shape, dtype, device):  # (its draws from numpy)
        return T.from_numpy(next(noise)[:math.prod(shape)].reshape(tuple(shape)).copy()).to(dtype=dtype, device=device)

    def randint(low, high, size, device=None, dtype=None):  # torch.randint
        return T.from_numpy(next(noise)[:math.prod(size)].reshape(size)).abs().mul(high).floor().clamp(
            low, high - 1).to(dtype=dtype, device=device)

    class utils:
        class eval_mode:
            def __init__(self, *models):
                self.models = models

            def __enter__(self):
                self.prev_states = []
                for model in self.models:
                    self.prev_states.append(model.training)
                    model.train(False)

            def __exit__(self, *args):
                for model, state in zip(self.models, self.prev_states):
                    model.train(state)
                return False

        @staticmethod
        def weight_init(m):
            if isinstance(m, nn.Linear):
                nn.init.orthogonal_(m.weight.data)
                if hasattr(m.bias, 'data'):
                    m.bias.data.fill_(0.0)
            elif isinstance(m, nn.Conv2d) or isinstance(m, nn.ConvTranspose2d):
                gain = nn.init.calculate_gain('relu')
                nn.init.orthogonal_(m.weight.data, gain)
                if hasattr(m.bias, 'data'):
                    m.bias.data.fill_(0.0)

        @staticmethod
        def soft_update_params(net, target_net, tau):
            for param, target_param in zip(net.parameters(), target_net.parameters()):
                target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)

        @staticmethod
        def to_torch(xs, device):
            return tuple(T.as_tensor(x, device=device) for x in xs)

        class TruncatedNormal(pyd.Normal):
            def __init__(self, loc, scale, low=-1.0, high=1.0, eps=1e-6):
                super().__init__(loc, scale, validate_args=False)
                self.low = low
                self.high = high
                self.eps = eps

            def _clamp(self, x):
                clamped_x = T.clamp(x, self.low + self.eps, self.high - self.eps)
                x = x - x.detach() + clamped_x.detach()
                return x

            def sample(self, clip=None, sample_shape=T.Size()):
                shape = self._extended_shape(sample_shape)
                eps = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
                eps *= self.scale
                if clip is not None:
                    eps = T.clamp(eps, -clip, clip)
                x = self.loc + eps
                return self._clamp(x)

        @staticmethod
        def schedule(schdl, step):
            try:
                return float(schdl)
            except ValueError:
                match = re.match(r'linear\((.+),(.+),(.+)\)', schdl)
                if match:
                    init, final, duration = [float(g) for g in match.groups()]
                    mix = np.clip(step / duration, 0.0, 1.0)
                    return (1.0 - mix) * init + mix * final
            raise NotImplementedError(schdl)

    class RandomShiftsAug(nn.Module):
        def __init__(self, pad):
            super().__init__()
            self.pad = pad

        def forward(self, x):
            n, c, h, w = x.size()
            assert h == w
            padding = tuple([self.pad] * 4)
            x = F.pad(x, padding, 'replicate')
            eps = 1.0 / (h + 2 * self.pad)
            arange = T.linspace(-1.0 + eps, 1.0 - eps, h + 2 * self.pad, device=x.device, dtype=x.dtype)[:h]
            arange = arange.unsqueeze(0).repeat(h, 1).unsqueeze(2)
            base_grid = T.cat([arange, arange.transpose(1, 0)], dim=2)
            base_grid = base_grid.unsqueeze(0).repeat(n, 1, 1, 1)
            shift = randint(0, 2 * self.pad + 1, size=(n, 1, 1, 2), device=x.device, dtype=x.dtype)
            shift *= 2.0 / (h + 2 * self.pad)
            grid = base_grid + shift
            return F.grid_sample(x, grid, padding_mode='zeros', align_corners=False)

    class Encoder(nn.Module):
        def __init__(self, obs_shape):
            super().__init__()
            assert len(obs_shape) == 3
            self.repr_dim = 4 * 2 * 2
            self.convnet = nn.Sequential(nn.Conv2d(obs_shape[0], 4, 3, stride=2), nn.ReLU(),
                                         nn.Conv2d(4, 4, 3, stride=1), nn.ReLU())
            self.apply(utils.weight_init)

        def forward(self, obs):
            obs = obs / 255.0 - 0.5
            h = self.convnet(obs)
            h = h.view(h.shape[0], -1)
            return h

    class Actor(nn.Module):
        def __init__(self, repr_dim, action_shape, feature_dim, hidden_dim):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(repr_dim, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())
            self.policy = nn.Sequential(nn.Linear(feature_dim, hidden_dim), nn.ReLU(inplace=True),
                                        nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True),
                                        nn.Linear(hidden_dim, action_shape[0]))
            self.apply(utils.weight_init)

        def forward(self, obs, std):
            h = self.trunk(obs)
            mu = self.policy(h)
            mu = T.tanh(mu)
            std = T.ones_like(mu) * std
            dist = utils.TruncatedNormal(mu, std)
            return dist

    class Critic(nn.Module):
        def __init__(self, repr_dim, action_shape, feature_dim, hidden_dim):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(repr_dim, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())
            self.Q1 = nn.Sequential(
                nn.Linear(feature_dim + action_shape[0], hidden_dim),
                nn.ReLU(inplace=True), nn.Linear(hidden_dim, hidden_dim),
                nn.ReLU(inplace=True), nn.Linear(hidden_dim, 1))
            self.Q2 = nn.Sequential(
                nn.Linear(feature_dim + action_shape[0], hidden_dim),
                nn.ReLU(inplace=True), nn.Linear(hidden_dim, hidden_dim),
                nn.ReLU(inplace=True), nn.Linear(hidden_dim, 1))
            self.apply(utils.weight_init)

        def forward(self, obs, action):
            h = self.trunk(obs)
            h_action = T.cat([h, action], dim=-1)
            q1 = self.Q1(h_action)
            q2 = self.Q2(h_action)
            return q1, q2

    class DrQV2Agent:
        def __init__(self, obs_shape, action_shape, device, lr, feature_dim, hidden_dim, critic_target_tau,
                     num_expl_steps, update_every_steps, stddev_schedule, stddev_clip, use_tb):
            self.device = device
            self.critic_target_tau = critic_target_tau
            self.update_every_steps = update_every_steps
            self.use_tb = use_tb
            self.num_expl_steps = num_expl_steps
            self.stddev_schedule = stddev_schedule
            self.stddev_clip = stddev_clip
            # models
            self.encoder = Encoder(obs_shape).to(device)
            self.actor = Actor(self.encoder.repr_dim, action_shape, feature_dim, hidden_dim).to(device)
            self.critic = Critic(self.encoder.repr_dim, action_shape, feature_dim, hidden_dim).to(device)
            self.critic_target = Critic(self.encoder.repr_dim, action_shape, feature_dim, hidden_dim).to(device)
            self.lr = lr
            # data augmentation
            self.aug = RandomShiftsAug(pad=1)

        def finish(self):  # (after the weights are loaded: the rest of __init__)
            self.critic_target.load_state_dict(self.critic.state_dict())
            # optimizers
            self.encoder_opt = T.optim.Adam(self.encoder.parameters(), lr=self.lr)
            self.actor_opt = T.optim.Adam(self.actor.parameters(), lr=self.lr)
            self.critic_opt = T.optim.Adam(self.critic.parameters(), lr=self.lr)
            self.train()
            self.critic_target.train()

        def train(self, training=True):
            self.training = training
            self.encoder.train(training)
            self.actor.train(training)
            self.critic.train(training)

        def act(self, obs, step, eval_mode):
            obs = T.as_tensor(obs, device=self.device)
            obs = self.encoder(obs.unsqueeze(0))
            stddev = utils.schedule(self.stddev_schedule, step)
            dist = self.actor(obs, stddev)
            if eval_mode:
                action = dist.mean
            else:
                action = dist.sample(clip=None)
                if step < self.num_expl_steps:
                    action.uniform_(-1.0, 1.0)
            return action.cpu().numpy()[0]

        def update_critic(self, obs, action, reward, discount, next_obs, step):
            metrics = dict()
            with T.no_grad():
                stddev = utils.schedule(self.stddev_schedule, step)
                dist = self.actor(next_obs, stddev)
                next_action = dist.sample(clip=self.stddev_clip)
                target_Q1, target_Q2 = self.critic_target(next_obs, next_action)
                target_V = T.min(target_Q1, target_Q2)
                target_Q = reward + (discount * target_V)
            Q1, Q2 = self.critic(obs, action)
            critic_loss = F.mse_loss(Q1, target_Q) + F.mse_loss(Q2, target_Q)
            if self.use_tb:
                metrics['critic_target_q'] = target_Q.mean().item()
                metrics['critic_q1'] = Q1.mean().item()
                metrics['critic_q2'] = Q2.mean().item()
                metrics['critic_loss'] = critic_loss.item()
            # optimize encoder and critic
            self.encoder_opt.zero_grad(set_to_none=True)
            self.critic_opt.zero_grad(set_to_none=True)
            critic_loss.backward()
            metrics['grads'] = [_grads(self.encoder), _grads(self.critic)]
            self.critic_opt.step()
            self.encoder_opt.step()
            return metrics

        def update_actor(self, obs, step):
            metrics = dict()
            stddev = utils.schedule(self.stddev_schedule, step)
            dist = self.actor(obs, stddev)
            action = dist.sample(clip=self.stddev_clip)
            log_prob = dist.log_prob(action).sum(-1, keepdim=True)
            Q1, Q2 = self.critic(obs, action)
            Q = T.min(Q1, Q2)
            actor_loss = -Q.mean()
            # optimize actor
            self.actor_opt.zero_grad(set_to_none=True)
            actor_loss.backward()
            self.actor_opt.step()
            if self.use_tb:
                metrics['actor_loss'] = actor_loss.item()
                metrics['actor_logprob'] = log_prob.mean().item()
                metrics['actor_ent'] = dist.entropy().sum(dim=-1).mean().item()
            metrics['actor_grads'] = _grads(self.actor)
            return metrics

        def update(self, replay_iter, step):
            metrics = dict()
            if step % self.update_every_steps != 0:
                return metrics
            batch = next(replay_iter)
            obs, action, reward, discount, next_obs = utils.to_torch(batch, self.device)
            # augment
            obs = self.aug(obs.double())  # (.float() in the float32 original)
            next_obs = self.aug(next_obs.double())
            # encode
            obs = self.encoder(obs)
            with T.no_grad():
                next_obs = self.encoder(next_obs)
            if self.use_tb:
                metrics['batch_reward'] = reward.mean().item()
            # update critic
            metrics.update(self.update_critic(obs, action, reward, discount, next_obs, step))
            # update actor
            metrics.update(self.update_actor(obs.detach(), step))
            # update critic target
            utils.soft_update_params(self.critic, self.critic_target, self.critic_target_tau)
            return metrics

    agent = DrQV2Agent((3, 9, 9), (2,), T.device("cpu"), 1e-2, 5, 6, 0.05, 0, 1, 'linear(1.0,0.1,4)', 0.3, True)
    if sd is None:
        return [_state(agent.encoder), _state(agent.actor), _state(agent.critic)]
    for net, net_sd in zip((agent.encoder, agent.actor, agent.critic), sd):
        _load(T, net, net_sd)
    agent.finish()
    out = []
    for step in range(steps):
        with T.no_grad(), utils.eval_mode(agent):
            out.append(agent.act(batches[step][0][0], step, eval_mode=step == 0))
        metrics = agent.update(iter(batches[step:]), step)
        out.append([metrics[k] for k in sorted(metrics)])
    out += [agent.encoder.state_dict(), agent.actor.state_dict(), agent.critic_target.state_dict()]
    return out


def test_drqv2_random_shifts_truncated_normal_and_encoder_through_critic(torch):
    rng = _rng(12)
    batches = [(rng.integers(0, 256, (4, 3, 9, 9)).astype(np.uint8), rng.uniform(-1, 1, (4, 2)),
                rng.standard_normal((4, 1)), np.full((4, 1), 0.99), rng.integers(0, 256, (4, 3, 9, 9)).astype(np.uint8))
               for _ in range(3)]
    noise = [rng.standard_normal(8) for _ in range(30)]
    sd = drqv2(torch, None, None, ())
    _compare(drqv2(tg, sd, batches, noise), drqv2(torch, sd, batches, noise))


# ------------------------------------------------------------------------------------------------------------- MAE
def mae(T, sd, imgs, noise, epochs=3, norm_pix_loss=True):
    """facebookresearch/mae models_mae.py: MaskedAutoencoderViT with timm-style PatchEmbed / Attention / Block,
    the fixed 2-d sin-cos position embeddings from numpy copied in by .data.copy_(torch.from_numpy(...).float()),
    xavier_uniform_ of the patch projection viewed 2-d, random_masking (argsort of noise - its torch.rand drawn in
    numpy - gather of the kept tokens, the mask un-shuffled by gather), the decoder's mask tokens gathered back,
    patchify / unpatchify by reshape(shape=...) and einsum, the norm_pix_loss; util/lr_decay.py's layer-wise
    lr-decay parameter groups (get_layer_id_for_vit, lr_scale) for fine-tuning and util/lr_sched.py's half-cycle
    cosine with warmup; AdamW with no weight decay on norms, biases and tokens."""
    nn = T.nn
    noise = iter(noise)

    def rand(*size, device=None):  # torch.rand
        return T.from_numpy(next(noise)[:math.prod(size)].reshape(size).copy())

    # --------------------------------------------------------
    # 2D sine-cosine position embedding
    # --------------------------------------------------------
    def get_2d_sincos_pos_embed(embed_dim, grid_size, cls_token=False):
        grid_h = np.arange(grid_size, dtype=np.float32)
        grid_w = np.arange(grid_size, dtype=np.float32)
        grid = np.meshgrid(grid_w, grid_h)  # here w goes first
        grid = np.stack(grid, axis=0)
        grid = grid.reshape([2, 1, grid_size, grid_size])
        pos_embed = get_2d_sincos_pos_embed_from_grid(embed_dim, grid)
        if cls_token:
            pos_embed = np.concatenate([np.zeros([1, embed_dim]), pos_embed], axis=0)
        return pos_embed

    def get_2d_sincos_pos_embed_from_grid(embed_dim, grid):
        assert embed_dim % 2 == 0
        # use half of dimensions to encode grid_h
        emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])  # (H*W, D/2)
        emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])  # (H*W, D/2)
        emb = np.concatenate([emb_h, emb_w], axis=1)  # (H*W, D)
        return emb

    def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
        assert embed_dim % 2 == 0
        omega = np.arange(embed_dim // 2, dtype=np.float64)
        omega /= embed_dim / 2.
        omega = 1. / 10000**omega  # (D/2,)
        pos = pos.reshape(-1)  # (M,)
        out = np.einsum('m,d->md', pos, omega)  # (M, D/2), outer product
        emb_sin = np.sin(out)  # (M, D/2)
        emb_cos = np.cos(out)  # (M, D/2)
        emb = np.concatenate([emb_sin, emb_cos], axis=1)  # (M, D)
        return emb

    class PatchEmbed(nn.Module):  # timm.models.vision_transformer.PatchEmbed
        def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768):
            super().__init__()
            img_size, patch_size = (img_size, img_size), (patch_size, patch_size)
            self.img_size, self.patch_size = img_size, patch_size
            self.grid_size = (img_size[0] // patch_size[0], img_size[1] // patch_size[1])
            self.num_patches = self.grid_size[0] * self.grid_size[1]
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

        def forward(self, x):
            x = self.proj(x).flatten(2).transpose(1, 2)  # BCHW -> BNC
            return x

    class Attention(nn.Module):  # timm's
        def __init__(self, dim, num_heads=8, qkv_bias=False):
            super().__init__()
            self.num_heads = num_heads
            head_dim = dim // num_heads
            self.scale = head_dim ** -0.5
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)  # make torchscript happy (cannot use tensor as tuple)
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            x = (attn @ v).transpose(1, 2).reshape(B, N, C)
            x = self.proj(x)
            return x

    class Mlp(nn.Module):
        def __init__(self, in_features, hidden_features):
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden_features, in_features)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    class Block(nn.Module):
        def __init__(self, dim, num_heads, mlp_ratio=4., qkv_bias=False, norm_layer=nn.LayerNorm):
            super().__init__()
            self.norm1 = norm_layer(dim)
            self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias)
            self.norm2 = norm_layer(dim)
            self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio))

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            x = x + self.mlp(self.norm2(x))
            return x

    class MaskedAutoencoderViT(nn.Module):
        """ Masked Autoencoder with VisionTransformer backbone
        """
        def __init__(self, img_size=224, patch_size=16, in_chans=3,
                     embed_dim=1024, depth=24, num_heads=16,
                     decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=16,
                     mlp_ratio=4., norm_layer=nn.LayerNorm, norm_pix_loss=False):
            super().__init__()
            # MAE encoder specifics
            self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
            num_patches = self.patch_embed.num_patches
            self.cls_token = nn.Parameter(T.zeros(1, 1, embed_dim))
            self.pos_embed = nn.Parameter(T.zeros(1, num_patches + 1, embed_dim),
                                          requires_grad=False)  # fixed sin-cos embedding
            self.blocks = nn.ModuleList([
                Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, norm_layer=norm_layer)
                for i in range(depth)])
            self.norm = norm_layer(embed_dim)
            # MAE decoder specifics
            self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim, bias=True)
            self.mask_token = nn.Parameter(T.zeros(1, 1, decoder_embed_dim))
            self.decoder_pos_embed = nn.Parameter(T.zeros(1, num_patches + 1, decoder_embed_dim),
                                                  requires_grad=False)  # fixed sin-cos embedding
            self.decoder_blocks = nn.ModuleList([
                Block(decoder_embed_dim, decoder_num_heads, mlp_ratio, qkv_bias=True, norm_layer=norm_layer)
                for i in range(decoder_depth)])
            self.decoder_norm = norm_layer(decoder_embed_dim)
            self.decoder_pred = nn.Linear(decoder_embed_dim, patch_size**2 * in_chans, bias=True)  # decoder to patch
            self.norm_pix_loss = norm_pix_loss
            self.initialize_weights()

        def initialize_weights(self):
            # initialization
            # initialize (and freeze) pos_embed by sin-cos embedding
            pos_embed = get_2d_sincos_pos_embed(self.pos_embed.shape[-1], int(self.patch_embed.num_patches**.5),
                                                cls_token=True)
            self.pos_embed.data.copy_(T.from_numpy(pos_embed).float().unsqueeze(0))
            decoder_pos_embed = get_2d_sincos_pos_embed(self.decoder_pos_embed.shape[-1],
                                                        int(self.patch_embed.num_patches**.5), cls_token=True)
            self.decoder_pos_embed.data.copy_(T.from_numpy(decoder_pos_embed).float().unsqueeze(0))
            # initialize patch_embed like nn.Linear (instead of nn.Conv2d)
            w = self.patch_embed.proj.weight.data
            T.nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
            # timm's trunc_normal_(std=.02) is effectively normal_(std=0.02) as cutoff is too big (2.)
            T.nn.init.normal_(self.cls_token, std=.02)
            T.nn.init.normal_(self.mask_token, std=.02)
            # initialize nn.Linear and nn.LayerNorm
            self.apply(self._init_weights)

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                # we use xavier_uniform following official JAX ViT:
                T.nn.init.xavier_uniform_(m.weight)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)

        def patchify(self, imgs):
            """
            imgs: (N, 3, H, W)
            x: (N, L, patch_size**2 *3)
            """
            p = self.patch_embed.patch_size[0]
            assert imgs.shape[2] == imgs.shape[3] and imgs.shape[2] % p == 0
            h = w = imgs.shape[2] // p
            x = imgs.reshape(shape=(imgs.shape[0], 3, h, p, w, p))
            x = T.einsum('nchpwq->nhwpqc', x)
            x = x.reshape(shape=(imgs.shape[0], h * w, p**2 * 3))
            return x

        def unpatchify(self, x):
            """
            x: (N, L, patch_size**2 *3)
            imgs: (N, 3, H, W)
            """
            p = self.patch_embed.patch_size[0]
            h = w = int(x.shape[1]**.5)
            assert h * w == x.shape[1]
            x = x.reshape(shape=(x.shape[0], h, w, p, p, 3))
            x = T.einsum('nhwpqc->nchpwq', x)
            imgs = x.reshape(shape=(x.shape[0], 3, h * p, h * p))
            return imgs

        def random_masking(self, x, mask_ratio):
            """
            Perform per-sample random masking by per-sample shuffling.
            Per-sample shuffling is done by argsort random noise.
            x: [N, L, D], sequence
            """
            N, L, D = x.shape  # batch, length, dim
            len_keep = int(L * (1 - mask_ratio))
            noise = rand(N, L, device=x.device)  # noise in [0, 1]
            # sort noise for each sample
            ids_shuffle = T.argsort(noise, dim=1)  # ascend: small is keep, large is remove
            ids_restore = T.argsort(ids_shuffle, dim=1)
            # keep the first subset
            ids_keep = ids_shuffle[:, :len_keep]
            x_masked = T.gather(x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, D))
            # generate the binary mask: 0 is keep, 1 is remove
            mask = T.ones([N, L], device=x.device)
            mask[:, :len_keep] = 0
            # unshuffle to get the binary mask
            mask = T.gather(mask, dim=1, index=ids_restore)
            return x_masked, mask, ids_restore

        def forward_encoder(self, x, mask_ratio):
            # embed patches
            x = self.patch_embed(x)
            # add pos embed w/o cls token
            x = x + self.pos_embed[:, 1:, :]
            # masking: length -> length * mask_ratio
            x, mask, ids_restore = self.random_masking(x, mask_ratio)
            # append cls token
            cls_token = self.cls_token + self.pos_embed[:, :1, :]
            cls_tokens = cls_token.expand(x.shape[0], -1, -1)
            x = T.cat((cls_tokens, x), dim=1)
            # apply Transformer blocks
            for blk in self.blocks:
                x = blk(x)
            x = self.norm(x)
            return x, mask, ids_restore

        def forward_decoder(self, x, ids_restore):
            # embed tokens
            x = self.decoder_embed(x)
            # append mask tokens to sequence
            mask_tokens = self.mask_token.repeat(x.shape[0], ids_restore.shape[1] + 1 - x.shape[1], 1)
            x_ = T.cat([x[:, 1:, :], mask_tokens], dim=1)  # no cls token
            x_ = T.gather(x_, dim=1, index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))  # unshuffle
            x = T.cat([x[:, :1, :], x_], dim=1)  # append cls token
            # add pos embed
            x = x + self.decoder_pos_embed
            # apply Transformer blocks
            for blk in self.decoder_blocks:
                x = blk(x)
            x = self.decoder_norm(x)
            # predictor projection
            x = self.decoder_pred(x)
            # remove cls token
            x = x[:, 1:, :]
            return x

        def forward_loss(self, imgs, pred, mask):
            """
            imgs: [N, 3, H, W]
            pred: [N, L, p*p*3]
            mask: [N, L], 0 is keep, 1 is remove,
            """
            target = self.patchify(imgs)
            if self.norm_pix_loss:
                mean = target.mean(dim=-1, keepdim=True)
                var = target.var(dim=-1, keepdim=True)
                target = (target - mean) / (var + 1.e-6)**.5
            loss = (pred - target) ** 2
            loss = loss.mean(dim=-1)  # [N, L], mean loss per patch
            loss = (loss * mask).sum() / mask.sum()  # mean loss on removed patches
            return loss

        def forward(self, imgs, mask_ratio=0.75):
            latent, mask, ids_restore = self.forward_encoder(imgs, mask_ratio)
            pred = self.forward_decoder(latent, ids_restore)  # [N, L, p*p*3]
            loss = self.forward_loss(imgs, pred, mask)
            return loss, pred, mask

    def get_layer_id_for_vit(name, num_layers):
        """
        Assign a parameter with its layer id
        Following BEiT: https://github.com/microsoft/unilm/blob/master/beit/optim_factory.py#L33
        """
        if name in ['cls_token', 'pos_embed']:
            return 0
        elif name.startswith('patch_embed'):
            return 0
        elif name.startswith('blocks'):
            return int(name.split('.')[1]) + 1
        else:
            return num_layers

    def param_groups_lrd(model, weight_decay=0.05, no_weight_decay_list=[], layer_decay=.75):
        """
        Parameter groups for layer-wise lr decay
        Following BEiT: https://github.com/microsoft/unilm/blob/master/beit/optim_factory.py#L58
        """
        param_group_names = {}
        param_groups = {}
        num_layers = len(model.blocks) + 1
        layer_scales = list(layer_decay ** (num_layers - i) for i in range(num_layers + 1))
        for n, p in model.named_parameters():
            if not p.requires_grad:
                continue
            # no decay: all 1D parameters and model specific ones
            if p.ndim == 1 or n in no_weight_decay_list:
                g_decay = "no_decay"
                this_decay = 0.
            else:
                g_decay = "decay"
                this_decay = weight_decay
            layer_id = get_layer_id_for_vit(n, num_layers)
            group_name = "layer_%d_%s" % (layer_id, g_decay)
            if group_name not in param_group_names:
                this_scale = layer_scales[layer_id]
                param_group_names[group_name] = {
                    "lr_scale": this_scale,
                    "weight_decay": this_decay,
                    "params": [],
                }
                param_groups[group_name] = {
                    "lr_scale": this_scale,
                    "weight_decay": this_decay,
                    "params": [],
                }
            param_group_names[group_name]["params"].append(n)
            param_groups[group_name]["params"].append(p)
        return list(param_groups.values())

    def adjust_learning_rate(optimizer, epoch, lr, min_lr, warmup_epochs, epochs):
        """Decay the learning rate with half-cycle cosine after warmup"""
        if epoch < warmup_epochs:
            lr = lr * epoch / warmup_epochs
        else:
            lr = min_lr + (lr - min_lr) * 0.5 * \
                (1. + math.cos(math.pi * (epoch - warmup_epochs) / (epochs - warmup_epochs)))
        for param_group in optimizer.param_groups:
            if "lr_scale" in param_group:
                param_group["lr"] = lr * param_group["lr_scale"]
            else:
                param_group["lr"] = lr
        return lr

    model = MaskedAutoencoderViT(img_size=4, patch_size=2, in_chans=3, embed_dim=8, depth=2, num_heads=2,
                                 decoder_embed_dim=4, decoder_depth=1, decoder_num_heads=2, mlp_ratio=2,
                                 norm_layer=partial(nn.LayerNorm, eps=1e-6), norm_pix_loss=norm_pix_loss)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    out = []
    # pre-training: optim_factory.param_groups_weight_decay
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias") or name in ('cls_token', 'mask_token'):
            no_decay.append(param)
        else:
            decay.append(param)
    optimizer = T.optim.AdamW([{'params': no_decay, 'weight_decay': 0.}, {'params': decay, 'weight_decay': 0.05}],
                              lr=1e-2, betas=(0.9, 0.95))
    model.train(True)
    for epoch in range(epochs):
        samples = T.from_numpy(imgs[epoch])
        out.append(adjust_learning_rate(optimizer, epoch + 0.5, 1e-2, 1e-4, 1, epochs))
        loss, pred, mask = model(samples, mask_ratio=0.75)
        loss.backward()
        out += [loss, model.unpatchify(pred), mask, _grads(model)]
        optimizer.step()
        optimizer.zero_grad()
    # fine-tuning the encoder with layer-wise lr decay
    groups = param_groups_lrd(model, 0.05, no_weight_decay_list={'pos_embed', 'cls_token'}, layer_decay=0.65)
    optimizer = T.optim.AdamW(groups, lr=1e-2)
    adjust_learning_rate(optimizer, 1.0, 1e-2, 1e-4, 1, epochs)
    latent, _, _ = model.forward_encoder(T.from_numpy(imgs[0]), 0.5)
    ft_loss = latent[:, 0].pow(2).mean()
    ft_loss.backward()
    optimizer.step()
    out += [ft_loss, [g["lr"] for g in optimizer.param_groups], model.state_dict()]
    return out


def test_mae_random_masking_patchify_and_layer_decay(torch):
    rng = _rng(13)
    imgs = [rng.standard_normal((2, 3, 4, 4)) for _ in range(3)]
    noise = [rng.random(8) for _ in range(4)]
    sd = mae(torch, None, None, noise)
    _compare(mae(tg, sd, imgs, noise), mae(torch, sd, imgs, noise))


# ------------------------------------------------------------------------------ pytorch_sac's SquashedNormal + CQL
def sac_cql(T, sd, batches, noise, cql=True, steps=3):
    """denisyarats/pytorch_sac's agent (utils.mlp, weight_init, DiagGaussianActor with the tanh-bounded log_std,
    the SquashedNormal TransformedDistribution over a hand-written TanhTransform - domain / codomain constraints,
    bijective, sign, _call / _inverse / log_abs_det_jacobian by softplus, cache_size=1 - its mean through the
    transforms, log_alpha a leaf made by requires_grad = True, the detached alpha loss, soft_update_params) with
    the conservative Q-learning penalty of young-geng's CQL (uniform random actions, the policy's current and next
    actions repeated per sample, logsumexp over the importance-weighted Q's, the min-Q weight). Base-Normal rsample
    / sample and uniform_ noise come from numpy."""
    nn = T.nn
    F = nn.functional
    pyd = T.distributions
    noise = iter(noise)

    class Normal(pyd.Normal):  # (the base distribution's rsample, its draws from numpy)
        def rsample(self, sample_shape=T.Size()):
            shape = self._extended_shape(sample_shape)
            eps = T.from_numpy(next(noise)[:math.prod(shape)].reshape(tuple(shape)).copy())
            return self.loc + eps * self.scale

        def sample(self, sample_shape=T.Size()):
            with T.no_grad():
                return self.rsample(sample_shape)

    def uniform_(t, a, b):  # (Tensor.uniform_, from numpy)
        with T.no_grad():
            return t.copy_(T.from_numpy(next(noise)[:t.numel()].reshape(tuple(t.shape)) * (b - a) / 2 + (a + b) / 2))

    class utils:
        @staticmethod
        def weight_init(m):
            """Custom weight init for Conv2D and Linear layers."""
            if isinstance(m, nn.Linear):
                nn.init.orthogonal_(m.weight.data)
                if hasattr(m.bias, 'data'):
                    m.bias.data.fill_(0.0)

        @staticmethod
        def mlp(input_dim, hidden_dim, output_dim, hidden_depth, output_mod=None):
            if hidden_depth == 0:
                mods = [nn.Linear(input_dim, output_dim)]
            else:
                mods = [nn.Linear(input_dim, hidden_dim), nn.ReLU(inplace=True)]
                for i in range(hidden_depth - 1):
                    mods += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True)]
                mods.append(nn.Linear(hidden_dim, output_dim))
            if output_mod is not None:
                mods.append(output_mod)
            trunk = nn.Sequential(*mods)
            return trunk

        @staticmethod
        def soft_update_params(net, target_net, tau):
            for param, target_param in zip(net.parameters(), target_net.parameters()):
                target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)

    class TanhTransform(pyd.transforms.Transform):
        domain = pyd.constraints.real
        codomain = pyd.constraints.interval(-1.0, 1.0)
        bijective = True
        sign = +1

        def __init__(self, cache_size=1):
            super().__init__(cache_size=cache_size)

        @staticmethod
        def atanh(x):
            return 0.5 * (x.log1p() - (-x).log1p())

        def __eq__(self, other):
            return isinstance(other, TanhTransform)

        def _call(self, x):
            return x.tanh()

        def _inverse(self, y):
            # We do not clamp to the boundary here as it may degrade the performance of certain algorithms.
            # one should use `cache_size=1` instead
            return self.atanh(y)

        def log_abs_det_jacobian(self, x, y):
            # We use a formula that is more numerically stable, see details in the following link
            # https://github.com/tensorflow/probability/commit/ef6bb176e0ebd1cf6e25c6b5cecdd2428c22963f
            return 2. * (math.log(2.) - x - F.softplus(-2. * x))

    class SquashedNormal(pyd.transformed_distribution.TransformedDistribution):
        def __init__(self, loc, scale):
            self.loc = loc
            self.scale = scale
            self.base_dist = Normal(loc, scale)
            transforms = [TanhTransform()]
            super().__init__(self.base_dist, transforms)

        @property
        def mean(self):
            mu = self.loc
            for tr in self.transforms:
                mu = tr(mu)
            return mu

    class DiagGaussianActor(nn.Module):
        """torch.distributions implementation of an diagonal Gaussian policy."""
        def __init__(self, obs_dim, action_dim, hidden_dim, hidden_depth, log_std_bounds):
            super().__init__()
            self.log_std_bounds = log_std_bounds
            self.trunk = utils.mlp(obs_dim, hidden_dim, 2 * action_dim, hidden_depth)
            self.outputs = dict()
            self.apply(utils.weight_init)

        def forward(self, obs):
            mu, log_std = self.trunk(obs).chunk(2, dim=-1)
            # constrain log_std inside [log_std_min, log_std_max]
            log_std = T.tanh(log_std)
            log_std_min, log_std_max = self.log_std_bounds
            log_std = log_std_min + 0.5 * (log_std_max - log_std_min) * (log_std + 1)
            std = log_std.exp()
            self.outputs['mu'] = mu
            self.outputs['std'] = std
            dist = SquashedNormal(mu, std)
            return dist

    class DoubleQCritic(nn.Module):
        """Critic network, employes double Q-learning."""
        def __init__(self, obs_dim, action_dim, hidden_dim, hidden_depth):
            super().__init__()
            self.Q1 = utils.mlp(obs_dim + action_dim, hidden_dim, 1, hidden_depth)
            self.Q2 = utils.mlp(obs_dim + action_dim, hidden_dim, 1, hidden_depth)
            self.outputs = dict()
            self.apply(utils.weight_init)

        def forward(self, obs, action):
            assert obs.size(0) == action.size(0)
            obs_action = T.cat([obs, action], dim=-1)
            q1 = self.Q1(obs_action)
            q2 = self.Q2(obs_action)
            self.outputs['q1'] = q1
            self.outputs['q2'] = q2
            return q1, q2

    class SACAgent:
        """SAC algorithm."""
        def __init__(self, obs_dim, action_dim, action_range, device, discount, init_temperature, alpha_lr,
                     alpha_betas, actor_lr, actor_betas, actor_update_frequency, critic_lr, critic_betas, critic_tau,
                     critic_target_update_frequency, batch_size, learnable_temperature):
            self.action_range = action_range
            self.device = T.device(device)
            self.discount = discount
            self.critic_tau = critic_tau
            self.actor_update_frequency = actor_update_frequency
            self.critic_target_update_frequency = critic_target_update_frequency
            self.batch_size = batch_size
            self.learnable_temperature = learnable_temperature
            self.critic = DoubleQCritic(obs_dim, action_dim, 6, 2).to(self.device)
            self.critic_target = DoubleQCritic(obs_dim, action_dim, 6, 2).to(self.device)
            self.actor = DiagGaussianActor(obs_dim, action_dim, 6, 2, [-5, 2]).to(self.device)
            self.log_alpha = T.tensor(np.log(init_temperature)).to(self.device)
            self.log_alpha.requires_grad = True
            # set target entropy to -|A|
            self.target_entropy = -action_dim
            self.lrs = (actor_lr, actor_betas, alpha_lr, alpha_betas, critic_lr, critic_betas)

        def finish(self):  # (after the weights are loaded: the rest of __init__)
            actor_lr, actor_betas, alpha_lr, alpha_betas, critic_lr, critic_betas = self.lrs
            self.critic_target.load_state_dict(self.critic.state_dict())
            # optimizers
            self.actor_optimizer = T.optim.Adam(self.actor.parameters(), lr=actor_lr, betas=actor_betas)
            self.critic_optimizer = T.optim.Adam(self.critic.parameters(), lr=critic_lr, betas=critic_betas)
            self.log_alpha_optimizer = T.optim.Adam([self.log_alpha], lr=alpha_lr, betas=alpha_betas)
            self.train()
            self.critic_target.train()

        def train(self, training=True):
            self.training = training
            self.actor.train(training)
            self.critic.train(training)

        @property
        def alpha(self):
            return self.log_alpha.exp()

        def act(self, obs, sample=False):
            obs = T.FloatTensor(obs).to(self.device).double()
            obs = obs.unsqueeze(0)
            dist = self.actor(obs)
            action = dist.sample() if sample else dist.mean
            action = action.clamp(*self.action_range)
            assert action.ndim == 2 and action.shape[0] == 1
            return action[0].detach().numpy()

        def cql_penalty(self, obs, action, next_obs, q1_pred, q2_pred, num=2, temp=1.0, weight=1.0):
            """young-geng/CQL's conservative term (SimpleSAC/conservative_sac.py)."""
            batch_size, action_dim = action.shape
            cql_random_actions = uniform_(action.new_empty((batch_size, num, action_dim)), -1, 1)
            obs_rep = obs.unsqueeze(1).repeat(1, num, 1).reshape(-1, obs.shape[-1])
            next_obs_rep = next_obs.unsqueeze(1).repeat(1, num, 1).reshape(-1, obs.shape[-1])
            cur_dist, next_dist = self.actor(obs_rep), self.actor(next_obs_rep)
            cql_current_actions = cur_dist.rsample()
            cql_current_log_pis = cur_dist.log_prob(cql_current_actions).sum(-1)
            cql_next_actions = next_dist.rsample()
            cql_next_log_pis = next_dist.log_prob(cql_next_actions).sum(-1)
            cql_current_actions, cql_next_actions = cql_current_actions.detach(), cql_next_actions.detach()
            cql_current_log_pis, cql_next_log_pis = cql_current_log_pis.detach(), cql_next_log_pis.detach()
            qs = [self.critic(obs_rep, a.reshape(-1, action_dim)) for a in
                  (cql_random_actions, cql_current_actions, cql_next_actions)]
            random_density = np.log(0.5 ** action_dim)
            out = []
            for k, q_pred in enumerate((q1_pred, q2_pred)):
                q_rand, q_cur, q_next = (q[k].view(batch_size, num) for q in qs)
                cql_cat_q = T.cat([
                    q_rand - random_density,
                    q_next - cql_next_log_pis.view(batch_size, num).detach(),
                    q_cur - cql_current_log_pis.view(batch_size, num).detach()], dim=1)
                cql_ood = T.logsumexp(cql_cat_q / temp, dim=1) * temp
                out.append(T.clamp(cql_ood - q_pred.view(-1), -1e3, 1e3).mean() * weight)
            return out[0] + out[1]

        def update_critic(self, obs, action, reward, next_obs, not_done, step):
            dist = self.actor(next_obs)
            next_action = dist.rsample()
            log_prob = dist.log_prob(next_action).sum(-1, keepdim=True)
            target_Q1, target_Q2 = self.critic_target(next_obs, next_action)
            target_V = T.min(target_Q1, target_Q2) - self.alpha.detach() * log_prob
            target_Q = reward + (not_done * self.discount * target_V)
            target_Q = target_Q.detach()
            # get current Q estimates
            current_Q1, current_Q2 = self.critic(obs, action)
            critic_loss = F.mse_loss(current_Q1, target_Q) + F.mse_loss(current_Q2, target_Q)
            if cql:
                critic_loss = critic_loss + self.cql_penalty(obs, action, next_obs, current_Q1, current_Q2)
            # Optimize the critic
            self.critic_optimizer.zero_grad()
            critic_loss.backward()
            self.critic_optimizer.step()
            return [critic_loss, _grads(self.critic)]

        def update_actor_and_alpha(self, obs, step):
            dist = self.actor(obs)
            action = dist.rsample()
            log_prob = dist.log_prob(action).sum(-1, keepdim=True)
            actor_Q1, actor_Q2 = self.critic(obs, action)
            actor_Q = T.min(actor_Q1, actor_Q2)
            actor_loss = (self.alpha.detach() * log_prob - actor_Q).mean()
            # optimize the actor
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            out = [actor_loss, _grads(self.actor), -log_prob.mean()]
            if self.learnable_temperature:
                self.log_alpha_optimizer.zero_grad()
                alpha_loss = (self.alpha * (-log_prob - self.target_entropy).detach()).mean()
                alpha_loss.backward()
                self.log_alpha_optimizer.step()
                out += [alpha_loss, self.log_alpha.grad]
            return out

        def update(self, batch, step):
            obs, action, reward, next_obs, not_done, not_done_no_max = (T.as_tensor(x) for x in batch)
            out = self.update_critic(obs, action, reward, next_obs, not_done_no_max, step)
            if step % self.actor_update_frequency == 0:
                out += self.update_actor_and_alpha(obs, step)
            if step % self.critic_target_update_frequency == 0:
                utils.soft_update_params(self.critic, self.critic_target, self.critic_tau)
            return out

    agent = SACAgent(3, 2, [-1, 1], "cpu", 0.99, 0.1, 1e-2, [0.9, 0.999], 1e-2, [0.9, 0.999], 1, 1e-2,
                     [0.9, 0.999], 0.05, 2, 4, True)
    if sd is None:
        return [_state(agent.actor), _state(agent.critic)]
    for net, net_sd in zip((agent.actor, agent.critic), sd):
        _load(T, net, net_sd)
    agent.finish()
    out = []
    for step in range(steps):
        out += [agent.act(batches[step][0][0], sample=False), agent.act(batches[step][0][1], sample=True)]
        out += agent.update(batches[step], step)
    dist = agent.actor(T.as_tensor(batches[0][0]))
    y = T.as_tensor(batches[0][1]) * 0.9
    out += [dist.log_prob(y), dist.mean, agent.log_alpha, agent.actor.state_dict(),
            agent.critic_target.state_dict()]
    return out


def test_pytorch_sac_squashed_normal_transform_and_cql_penalty(torch):
    rng = _rng(14)
    batches = [(rng.standard_normal((4, 3)), rng.uniform(-0.9, 0.9, (4, 2)), rng.standard_normal((4, 1)),
                rng.standard_normal((4, 3)), np.ones((4, 1)), np.ones((4, 1))) for _ in range(3)]
    noise = [rng.standard_normal(16) for _ in range(60)]
    sd = sac_cql(torch, None, None, ())
    for cql in (False, True):
        _compare(sac_cql(tg, sd, batches, noise, cql), sac_cql(torch, sd, batches, noise, cql), where=f"cql={cql}")


# ----------------------------------------------------------------------------------------------------------- PCGrad
def pcgrad(T, sd, data, reduction='mean', steps=3):
    """WeiChengTseng/Pytorch-PCGrad: the PCGrad wrapper (per-objective backward with retain_graph, gradients
    retrieved / flattened with has-grad masks, copy.deepcopy of the gradient list, random.shuffle'd projections of
    conflicting gradients by torch.dot, the shared / unshared merge through boolean-mask setitem, _unflatten_grad by
    np.prod slices, p.grad assigned) over Adam, training the repository's multi-task example (a shared trunk, two
    heads, one of them using a parameter the other task never touches)."""
    import random
    nn = T.nn

    class PCGrad():
        def __init__(self, optimizer, reduction='mean'):
            self._optim, self._reduction = optimizer, reduction
            return

        @property
        def optimizer(self):
            return self._optim

        def zero_grad(self):
            """clear the gradient of the parameters"""
            return self._optim.zero_grad(set_to_none=True)

        def step(self):
            """update the parameters with the gradient"""
            return self._optim.step()

        def pc_backward(self, objectives):
            """calculate the gradient of the parameters
            input:
            - objectives: a list of objectives
            """
            grads, shapes, has_grads = self._pack_grad(objectives)
            pc_grad = self._project_conflicting(grads, has_grads)
            pc_grad = self._unflatten_grad(pc_grad, shapes[0])
            self._set_grad(pc_grad)
            return

        def _project_conflicting(self, grads, has_grads, shapes=None):
            shared = T.stack(has_grads).prod(0).bool()
            pc_grad = copy.deepcopy(grads)
            for g_i in pc_grad:
                random.shuffle(grads)
                for g_j in grads:
                    g_i_g_j = T.dot(g_i, g_j)
                    if g_i_g_j < 0:
                        g_i -= (g_i_g_j) * g_j / (g_j.norm()**2)
            merged_grad = T.zeros_like(grads[0]).to(grads[0].device)
            if self._reduction == 'mean':
                merged_grad[shared] = T.stack([g[shared] for g in pc_grad]).mean(dim=0)
            elif self._reduction == 'sum':
                merged_grad[shared] = T.stack([g[shared] for g in pc_grad]).sum(dim=0)
            else:
                exit('invalid reduction method')
            merged_grad[~shared] = T.stack([g[~shared] for g in pc_grad]).sum(dim=0)
            return merged_grad

        def _set_grad(self, grads):
            """set the modified gradients to the network"""
            idx = 0
            for group in self._optim.param_groups:
                for p in group['params']:
                    # if p.grad is None: continue
                    p.grad = grads[idx]
                    idx += 1
            return

        def _pack_grad(self, objectives):
            """pack the gradient of the parameters of the network for each objective
            output:
            - grad: a list of the gradient of the parameters
            - shape: a list of the shape of the parameters
            - has_grad: a list of mask represent whether the parameter has gradient
            """
            grads, shapes, has_grads = [], [], []
            for obj in objectives:
                self._optim.zero_grad(set_to_none=True)
                obj.backward(retain_graph=True)
                grad, shape, has_grad = self._retrieve_grad()
                grads.append(self._flatten_grad(grad, shape))
                has_grads.append(self._flatten_grad(has_grad, shape))
                shapes.append(shape)
            return grads, shapes, has_grads

        def _unflatten_grad(self, grads, shapes):
            unflatten_grad, idx = [], 0
            for shape in shapes:
                length = np.prod(shape)
                unflatten_grad.append(grads[idx:idx + length].view(shape).clone())
                idx += length
            return unflatten_grad

        def _flatten_grad(self, grads, shapes):
            flatten_grad = T.cat([g.flatten() for g in grads])
            return flatten_grad

        def _retrieve_grad(self):
            """get the gradient of the parameters of the network with specific objective
            output:
            - grad: a list of the gradient of the parameters
            - shape: a list of the shape of the parameters
            - has_grad: a list of mask represent whether the parameter has gradient
            """
            grad, shape, has_grad = [], [], []
            for group in self._optim.param_groups:
                for p in group['params']:
                    # if p.grad is None: continue
                    # tackle the multi-head scenario
                    if p.grad is None:
                        shape.append(p.shape)
                        grad.append(T.zeros_like(p).to(p.device))
                        has_grad.append(T.zeros_like(p).to(p.device))
                        continue
                    shape.append(p.grad.shape)
                    grad.append(p.grad.clone())
                    has_grad.append(T.ones_like(p).to(p.device))
            return grad, shape, has_grad

    class TestNet(nn.Module):
        def __init__(self):
            super().__init__()
            self._linear = nn.Linear(3, 4)

        def forward(self, x):
            return self._linear(x)

    class MultiHeadTestNet(nn.Module):
        def __init__(self):
            super().__init__()
            self._linear = nn.Linear(3, 2)
            self._head1 = nn.Linear(2, 4)
            self._head2 = nn.Linear(2, 4)

        def forward(self, x):
            feat = self._linear(x)
            return self._head1(feat), self._head2(feat)

    nets = nn.ModuleDict(dict(single=TestNet(), multi=MultiHeadTestNet()))
    if sd is None:
        return _state(nets)
    _load(T, nets, sd)
    random.seed(0)
    out = []
    for name, net in nets.items():
        pc_adam = PCGrad(T.optim.Adam(net.parameters(), lr=0.05), reduction)
        lossi, lossj = nn.L1Loss(), nn.MSELoss()
        for step in range(steps):
            x, y = T.from_numpy(data[step][0]), T.from_numpy(data[step][1])
            pc_adam.zero_grad()
            if name == "single":
                y_pred = net(x)
                loss1, loss2 = lossi(y_pred, y), lossj(y_pred, y)
            else:
                y_pred_1, y_pred_2 = net(x)
                loss1, loss2 = lossi(y_pred_1, y), lossj(y_pred_2, y)
            pc_adam.pc_backward([loss1, loss2])
            out += [loss1, loss2, _grads(net)]
            pc_adam.step()
        out.append(net.state_dict())
    return out


def test_pcgrad_gradient_surgery_single_and_multi_head(torch):
    rng = _rng(15)
    data = [(rng.standard_normal((5, 3)), rng.standard_normal((5, 4))) for _ in range(3)]
    sd = pcgrad(torch, None, None)
    for reduction in ("mean", "sum"):
        _compare(pcgrad(tg, sd, data, reduction), pcgrad(torch, sd, data, reduction), where=reduction)


# ------------------------------------------------------------------------------------------------------------- SwAV
def swav(T, sd, crops, epochs=3):
    """facebookresearch/swav main_swav.py: the multi-crop ResNet forward (unique_consecutive crop sizes,
    forward_backbone per resolution, the projection head with BatchNorm1d, l2 normalisation, the prototypes
    Linear), prototypes re-normalised under no_grad by weight.copy_, the feature queue (its rolling update by
    clone, queue-augmented scores by torch.mm with prototypes.weight.t()), distributed_sinkhorn's iterations
    (one process), the swapped-prediction loss over np.delete'd views, the prototypes' gradients cancelled for
    the first iterations, SGD with the warmup + cosine schedule written per iteration."""
    nn = T.nn
    F = nn.functional

    class Args:
        nmb_crops = [2, 2]
        crops_for_assign = [0, 1]
        temperature = 0.1
        epsilon = 0.05
        sinkhorn_iterations = 3
        feat_dim = 4
        nmb_prototypes = 5
        queue_length = 3
        epoch_queue_starts = 1
        freeze_prototypes_niters = 2
        world_size = 1
        base_lr, final_lr, warmup_epochs, start_warmup = 0.6, 0.0006, 1, 0.
    args = Args()

    class ResNet(nn.Module):
        def __init__(self, normalize=False, output_dim=0, hidden_mlp=0, nmb_prototypes=0, eval_mode=False):
            super(ResNet, self).__init__()
            self.eval_mode = eval_mode
            self.padding = nn.ConstantPad2d(1, 0.0)
            self.conv1 = nn.Conv2d(3, 6, kernel_size=3, stride=1, padding=0, bias=False)
            self.bn1 = nn.BatchNorm2d(6)
            self.relu = nn.ReLU(inplace=True)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            # normalize output features
            self.l2norm = normalize
            # projection head
            if output_dim == 0:
                self.projection_head = None
            elif hidden_mlp == 0:
                self.projection_head = nn.Linear(6, output_dim)
            else:
                self.projection_head = nn.Sequential(
                    nn.Linear(6, hidden_mlp),
                    nn.BatchNorm1d(hidden_mlp),
                    nn.ReLU(inplace=True),
                    nn.Linear(hidden_mlp, output_dim),
                )
            # prototype layer
            self.prototypes = None
            if isinstance(nmb_prototypes, list):
                raise NotImplementedError("MultiPrototypes")
            elif nmb_prototypes > 0:
                self.prototypes = nn.Linear(output_dim, nmb_prototypes, bias=False)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def forward_backbone(self, x):
            x = self.padding(x)
            x = self.conv1(x)
            x = self.bn1(x)
            x = self.relu(x)
            if self.eval_mode:
                return x
            x = self.avgpool(x)
            x = T.flatten(x, 1)
            return x

        def forward_head(self, x):
            if self.projection_head is not None:
                x = self.projection_head(x)
            if self.l2norm:
                x = nn.functional.normalize(x, dim=1, p=2)
            if self.prototypes is not None:
                return x, self.prototypes(x)
            return x

        def forward(self, inputs):
            if not isinstance(inputs, list):
                inputs = [inputs]
            idx_crops = T.cumsum(T.unique_consecutive(
                T.tensor([inp.shape[-1] for inp in inputs]),
                return_counts=True,
            )[1], 0)
            start_idx = 0
            for end_idx in idx_crops:
                _out = self.forward_backbone(T.cat(inputs[start_idx: end_idx]))
                if start_idx == 0:
                    output = _out
                else:
                    output = T.cat((output, _out))
                start_idx = end_idx
            return self.forward_head(output)

    @T.no_grad()
    def distributed_sinkhorn(out):
        Q = T.exp(out / args.epsilon).t()  # Q is K-by-B for consistency with notations from our paper
        B = Q.shape[1] * args.world_size  # number of samples to assign
        K = Q.shape[0]  # how many prototypes
        # make the matrix sums to 1
        sum_Q = T.sum(Q)
        # (dist.all_reduce(sum_Q))
        Q /= sum_Q
        for it in range(args.sinkhorn_iterations):
            # normalize each row: total weight per prototype must be 1/K
            sum_of_rows = T.sum(Q, dim=1, keepdim=True)
            # (dist.all_reduce(sum_of_rows))
            Q /= sum_of_rows
            Q /= K
            # normalize each column: total weight per sample must be 1/B
            Q /= T.sum(Q, dim=0, keepdim=True)
            Q /= B
        Q *= B  # the colomns must sum to 1 so that Q is an assignment
        return Q.t()

    model = ResNet(normalize=True, hidden_mlp=5, output_dim=args.feat_dim, nmb_prototypes=args.nmb_prototypes)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.SGD(model.parameters(), lr=args.base_lr, momentum=0.9, weight_decay=1e-6)
    iters_per_epoch = 1
    warmup_lr_schedule = np.linspace(args.start_warmup, args.base_lr, iters_per_epoch * args.warmup_epochs)
    iters = np.arange(iters_per_epoch * (epochs - args.warmup_epochs))
    cosine_lr_schedule = np.array([args.final_lr + 0.5 * (args.base_lr - args.final_lr) * (1 + math.cos(
        math.pi * t / (iters_per_epoch * (epochs - args.warmup_epochs)))) for t in iters])
    lr_schedule = np.concatenate((warmup_lr_schedule, cosine_lr_schedule))
    queue = None
    out = []
    for epoch in range(epochs):
        # optionally starts a queue
        if args.queue_length > 0 and epoch >= args.epoch_queue_starts and queue is None:
            queue = T.zeros(len(args.crops_for_assign), args.queue_length // args.world_size, args.feat_dim)
        use_the_queue = False
        model.train()
        for it, inputs in enumerate(crops[epoch:epoch + 1]):
            inputs = [T.from_numpy(x) for x in inputs]
            # update learning rate
            iteration = epoch * iters_per_epoch + it
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr_schedule[iteration]
            # normalize the prototypes
            with T.no_grad():
                w = model.prototypes.weight.data.clone()
                w = nn.functional.normalize(w, dim=1, p=2)
                model.prototypes.weight.copy_(w)
            # ============ multi-res forward passes ... ============
            embedding, output = model(inputs)
            embedding = embedding.detach()
            bs = inputs[0].size(0)
            # ============ swav loss ... ============
            loss = 0
            for i, crop_id in enumerate(args.crops_for_assign):
                with T.no_grad():
                    out_ = output[bs * crop_id: bs * (crop_id + 1)].detach()
                    # time to use the queue
                    if queue is not None:
                        if use_the_queue or not T.all(queue[i, -1, :] == 0):
                            use_the_queue = True
                            out_ = T.cat((T.mm(queue[i], model.prototypes.weight.t()), out_))
                        # fill the queue
                        queue[i, bs:] = queue[i, :-bs].clone()
                        queue[i, :bs] = embedding[crop_id * bs: (crop_id + 1) * bs]
                    # get assignments
                    q = distributed_sinkhorn(out_)[-bs:]
                # cluster assignment prediction
                subloss = 0
                for v in np.delete(np.arange(np.sum(args.nmb_crops)), crop_id):
                    x = output[bs * v: bs * (v + 1)] / args.temperature
                    subloss -= T.mean(T.sum(q * F.log_softmax(x, dim=1), dim=1))
                loss += subloss / (np.sum(args.nmb_crops) - 1)
            loss /= len(args.crops_for_assign)
            # ============ backward and optim step ... ============
            optimizer.zero_grad()
            loss.backward()
            # cancel gradients for the prototypes
            if iteration < args.freeze_prototypes_niters:
                for name, p in model.named_parameters():
                    if "prototypes" in name:
                        p.grad = None
            out += [loss, output, _grads(model), use_the_queue]
            optimizer.step()
        if queue is not None:
            out.append(queue.clone())
    out.append(model.state_dict())
    return out


def test_swav_sinkhorn_queue_and_frozen_prototypes(torch):
    rng = _rng(16)
    crops = [[rng.standard_normal((3, 3, 6, 6)) for _ in range(2)] + [rng.standard_normal((3, 3, 4, 4))
                                                                    for _ in range(2)] for _ in range(3)]
    sd = swav(torch, None, None)
    _compare(swav(tg, sd, crops), swav(torch, sd, crops))


# ------------------------------------------------------------------------------------------- Decision Transformer
def decision_transformer(T, sd, trajs, steps=3):
    """nikhilbarhate99/min-decision-transformer: MaskedCausalAttention (a tril mask buffer, masked_fill with -inf),
    Block, the DecisionTransformer (timestep Embedding, return / state / action embeddings stacked and
    interleaved by stack / permute / reshape, embed_ln, tanh actions, predictions read from the interleaved
    tokens), the D4RL dataset's discount_cumsum, random context windows and zero padding with a traj_mask, the
    masked MSE on actions, AdamW with LambdaLR warmup and clip_grad_norm_, and evaluate_on_env's rolling context
    under no_grad."""
    nn = T.nn
    F = nn.functional

    class MaskedCausalAttention(nn.Module):
        def __init__(self, h_dim, max_T, n_heads, drop_p):
            super().__init__()
            self.n_heads = n_heads
            self.max_T = max_T
            self.q_net = nn.Linear(h_dim, h_dim)
            self.k_net = nn.Linear(h_dim, h_dim)
            self.v_net = nn.Linear(h_dim, h_dim)
            self.proj_net = nn.Linear(h_dim, h_dim)
            self.att_drop = nn.Dropout(drop_p)
            self.proj_drop = nn.Dropout(drop_p)
            ones = T.ones((max_T, max_T))
            mask = T.tril(ones).view(1, 1, max_T, max_T)
            # register buffer makes sure mask does not get updated
            # during backpropagation
            self.register_buffer('mask', mask)

        def forward(self, x):
            B, T_, C = x.shape  # batch size, seq length, h_dim * n_heads
            N, D = self.n_heads, C // self.n_heads  # N = num heads, D = attention dim
            # rearrange q, k, v as (B, N, T, D)
            q = self.q_net(x).view(B, T_, N, D).transpose(1, 2)
            k = self.k_net(x).view(B, T_, N, D).transpose(1, 2)
            v = self.v_net(x).view(B, T_, N, D).transpose(1, 2)
            # weights (B, N, T, T)
            weights = q @ k.transpose(2, 3) / math.sqrt(D)
            # causal mask applied to weights
            weights = weights.masked_fill(self.mask[..., :T_, :T_] == 0, float('-inf'))
            # normalize weights, all -inf -> 0 after softmax
            normalized_weights = F.softmax(weights, dim=-1)
            # attention (B, N, T, D)
            attention = self.att_drop(normalized_weights @ v)
            # gather heads and project (B, N, T, D) -> (B, T, N*D)
            attention = attention.transpose(1, 2).contiguous().view(B, T_, N * D)
            out = self.proj_drop(self.proj_net(attention))
            return out

    class Block(nn.Module):
        def __init__(self, h_dim, max_T, n_heads, drop_p):
            super().__init__()
            self.attention = MaskedCausalAttention(h_dim, max_T, n_heads, drop_p)
            self.mlp = nn.Sequential(
                nn.Linear(h_dim, 4 * h_dim),
                nn.GELU(),
                nn.Linear(4 * h_dim, h_dim),
                nn.Dropout(drop_p),
            )
            self.ln1 = nn.LayerNorm(h_dim)
            self.ln2 = nn.LayerNorm(h_dim)

        def forward(self, x):
            # Attention -> LayerNorm -> MLP -> LayerNorm
            x = x + self.attention(x)  # residual
            x = self.ln1(x)
            x = x + self.mlp(x)  # residual
            x = self.ln2(x)
            return x

    class DecisionTransformer(nn.Module):
        def __init__(self, state_dim, act_dim, n_blocks, h_dim, context_len, n_heads, drop_p, max_timestep=4096):
            super().__init__()
            self.state_dim = state_dim
            self.act_dim = act_dim
            self.h_dim = h_dim
            # transformer blocks
            input_seq_len = 3 * context_len
            blocks = [Block(h_dim, input_seq_len, n_heads, drop_p) for _ in range(n_blocks)]
            self.transformer = nn.Sequential(*blocks)
            # projection heads (project to embedding)
            self.embed_ln = nn.LayerNorm(h_dim)
            self.embed_timestep = nn.Embedding(max_timestep, h_dim)
            self.embed_rtg = T.nn.Linear(1, h_dim)
            self.embed_state = T.nn.Linear(state_dim, h_dim)
            # continuous actions
            self.embed_action = T.nn.Linear(act_dim, h_dim)
            use_action_tanh = True  # True for continuous actions
            # prediction heads
            self.predict_rtg = T.nn.Linear(h_dim, 1)
            self.predict_state = T.nn.Linear(h_dim, state_dim)
            self.predict_action = nn.Sequential(
                *([nn.Linear(h_dim, act_dim)] + ([nn.Tanh()] if use_action_tanh else []))
            )

        def forward(self, timesteps, states, actions, returns_to_go):
            B, T_, _ = states.shape
            time_embeddings = self.embed_timestep(timesteps)
            # time embeddings are treated similar to positional embeddings
            state_embeddings = self.embed_state(states) + time_embeddings
            action_embeddings = self.embed_action(actions) + time_embeddings
            returns_embeddings = self.embed_rtg(returns_to_go) + time_embeddings
            # stack rtg, states and actions and reshape sequence as
            # (r1, s1, a1, r2, s2, a2 ...)
            h = T.stack(
                (returns_embeddings, state_embeddings, action_embeddings), dim=1
            ).permute(0, 2, 1, 3).reshape(B, 3 * T_, self.h_dim)
            h = self.embed_ln(h)
            # transformer and prediction
            h = self.transformer(h)
            # get h reshaped such that its size = (B x 3 x T x h_dim) and
            # h[:, 0, t] is conditioned on r_0, s_0, a_0 ... r_t
            # h[:, 1, t] is conditioned on r_0, s_0, a_0 ... r_t, s_t
            # h[:, 2, t] is conditioned on r_0, s_0, a_0 ... r_t, s_t, a_t
            h = h.reshape(B, T_, 3, self.h_dim).permute(0, 2, 1, 3)
            # get predictions
            return_preds = self.predict_rtg(h[:, 2])  # predict next rtg given r, s, a
            state_preds = self.predict_state(h[:, 2])  # predict next state given r, s, a
            action_preds = self.predict_action(h[:, 1])  # predict action given r, s
            return state_preds, action_preds, return_preds

    def discount_cumsum(x, gamma):
        disc_cumsum = np.zeros_like(x)
        disc_cumsum[-1] = x[-1]
        for t in reversed(range(x.shape[0] - 1)):
            disc_cumsum[t] = x[t] + gamma * disc_cumsum[t + 1]
        return disc_cumsum

    class D4RLTrajectoryDataset:
        def __init__(self, trajectories, context_len, rtg_scale, starts):
            self.context_len = context_len
            self.trajectories = trajectories
            self.starts = iter(starts)  # (random.randint's draws)
            # calculate min len of traj, state mean and variance
            # and returns_to_go for all traj
            min_len = 10**6
            states = []
            for traj in self.trajectories:
                traj_len = traj['observations'].shape[0]
                min_len = min(min_len, traj_len)
                states.append(traj['observations'])
                # calculate returns to go and rescale them
                traj['returns_to_go'] = discount_cumsum(traj['rewards'], 1.0) / rtg_scale
            # used for input normalization
            states = np.concatenate(states, axis=0)
            self.state_mean, self.state_std = np.mean(states, axis=0), np.std(states, axis=0) + 1e-6
            # normalize states
            for traj in self.trajectories:
                traj['observations'] = (traj['observations'] - self.state_mean) / self.state_std

        def __len__(self):
            return len(self.trajectories)

        def __getitem__(self, idx):
            traj = self.trajectories[idx]
            traj_len = traj['observations'].shape[0]
            if traj_len >= self.context_len:
                # sample random index to slice trajectory
                si = next(self.starts) % (traj_len - self.context_len + 1)
                states = T.from_numpy(traj['observations'][si: si + self.context_len])
                actions = T.from_numpy(traj['actions'][si: si + self.context_len])
                returns_to_go = T.from_numpy(traj['returns_to_go'][si: si + self.context_len])
                timesteps = T.arange(start=si, end=si + self.context_len, step=1)
                # all ones since no padding
                traj_mask = T.ones(self.context_len, dtype=T.long)
            else:
                padding_len = self.context_len - traj_len
                # padding with zeros
                states = T.from_numpy(traj['observations'])
                states = T.cat([states, T.zeros(([padding_len] + list(states.shape[1:])), dtype=states.dtype)],
                               dim=0)
                actions = T.from_numpy(traj['actions'])
                actions = T.cat([actions, T.zeros(([padding_len] + list(actions.shape[1:])), dtype=actions.dtype)],
                                dim=0)
                returns_to_go = T.from_numpy(traj['returns_to_go'])
                returns_to_go = T.cat([returns_to_go, T.zeros(([padding_len] + list(returns_to_go.shape[1:])),
                                                              dtype=returns_to_go.dtype)], dim=0)
                timesteps = T.arange(start=0, end=self.context_len, step=1)
                traj_mask = T.cat([T.ones(traj_len, dtype=T.long), T.zeros(padding_len, dtype=T.long)], dim=0)
            return timesteps, states, actions, returns_to_go, traj_mask

    state_dim, act_dim, context_len = 3, 2, 4
    model = DecisionTransformer(state_dim=state_dim, act_dim=act_dim, n_blocks=2, h_dim=8, context_len=context_len,
                                n_heads=2, drop_p=0.0, max_timestep=16)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    traj_dataset = D4RLTrajectoryDataset([{k: v.copy() for k, v in t.items()} for t in trajs], context_len, 10.0,
                                         [3, 1, 4, 1, 5, 9, 2, 6, 5])
    traj_data_loader = T.utils.data.DataLoader(traj_dataset, batch_size=3, shuffle=False, drop_last=True)
    data_iter = iter(traj_data_loader)
    warmup_steps = 2
    optimizer = T.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    scheduler = T.optim.lr_scheduler.LambdaLR(optimizer, lambda steps: min((steps + 1) / warmup_steps, 1))
    out = []
    for _ in range(steps):
        model.train()
        try:
            timesteps, states, actions, returns_to_go, traj_mask = next(data_iter)
        except StopIteration:
            data_iter = iter(traj_data_loader)
            timesteps, states, actions, returns_to_go, traj_mask = next(data_iter)
        returns_to_go = returns_to_go.unsqueeze(dim=-1)  # B x T x 1
        action_target = T.clone(actions).detach()
        state_preds, action_preds, return_preds = model.forward(timesteps=timesteps, states=states,
                                                                actions=actions, returns_to_go=returns_to_go)
        # only consider non padded elements
        action_preds = action_preds.view(-1, act_dim)[traj_mask.view(-1,) > 0]
        action_target = action_target.view(-1, act_dim)[traj_mask.view(-1,) > 0]
        action_loss = F.mse_loss(action_preds, action_target, reduction='mean')
        optimizer.zero_grad()
        action_loss.backward()
        out += [action_loss, _grads(model)]
        T.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        scheduler.step()
    # evaluate_on_env (a linear environment), the context rolled over the last context_len steps
    model.eval()
    eval_batch_size, max_test_ep_len, rtg_target, rtg_scale = 1, 6, 5.0, 10.0
    state_mean = T.from_numpy(traj_dataset.state_mean)
    state_std = T.from_numpy(traj_dataset.state_std)
    timesteps = T.arange(start=0, end=max_test_ep_len, step=1)
    timesteps = timesteps.repeat(eval_batch_size, 1)
    with T.no_grad():
        actions = T.zeros((eval_batch_size, max_test_ep_len, act_dim), dtype=T.float64)
        states = T.zeros((eval_batch_size, max_test_ep_len, state_dim), dtype=T.float64)
        rewards_to_go = T.zeros((eval_batch_size, max_test_ep_len, 1), dtype=T.float64)
        running_state, running_rtg = np.ones(state_dim), rtg_target / rtg_scale
        for t in range(max_test_ep_len):
            states[0, t] = T.from_numpy(running_state)
            states[0, t] = (states[0, t] - state_mean) / state_std
            rewards_to_go[0, t] = running_rtg
            if t < context_len:
                _, act_preds, _ = model.forward(timesteps[:, :context_len], states[:, :context_len],
                                                actions[:, :context_len], rewards_to_go[:, :context_len])
                act = act_preds[0, t].detach()
            else:
                _, act_preds, _ = model.forward(timesteps[:, t - context_len + 1:t + 1],
                                                states[:, t - context_len + 1:t + 1],
                                                actions[:, t - context_len + 1:t + 1],
                                                rewards_to_go[:, t - context_len + 1:t + 1])
                act = act_preds[0, -1].detach()
            running_state = 0.9 * running_state + np.r_[act.cpu().numpy(), 0.0]
            running_reward = -float(running_state @ running_state)
            actions[0, t] = act
            running_rtg = running_rtg - (running_reward / rtg_scale)
        out += [actions, states, rewards_to_go]
    out.append(model.state_dict())
    return out


def test_decision_transformer_interleaved_tokens_and_rolling_context(torch):
    rng = _rng(17)
    trajs = []
    for n in (6, 3, 5):
        trajs.append(dict(observations=rng.standard_normal((n, 3)), actions=rng.uniform(-1, 1, (n, 2)),
                          rewards=rng.standard_normal(n)))
    sd = decision_transformer(torch, None, None)
    _compare(decision_transformer(tg, sd, trajs), decision_transformer(torch, sd, trajs))


# ------------------------------------------------------------------------------------------------------------- TRPO
def trpo(T, sd, noise, batch_steps=6, updates=2):
    """ikostrikov/pytorch-trpo: Policy / Value nets (weights scaled by .data.mul_), normal_log_density, the
    flat-parameter utilities (get_flat_params_from, set_flat_params_to, get_flat_grad_from), update_params' GAE
    recursion into torch.Tensor(n, 1) buffers, the value net fitted by scipy's fmin_l_bfgs_b on flat numpy
    parameters (backward, grads zeroed by .data.fill_), trpo_step's Fisher-vector product (autograd.grad with
    create_graph=True, then of kl_v), conjugate_gradients, the line search with set_flat_params_to, Variable, and
    select_action's torch.normal (its noise from numpy); a ZFilter running state normaliser in numpy."""
    import scipy.optimize
    nn = T.nn
    Variable = T.autograd.Variable
    noise = iter(noise)

    def normal(mean, std):  # torch.normal(action_mean, action_std)
        return mean + std * T.from_numpy(next(noise)[:mean.numel()].reshape(tuple(mean.shape)).copy())

    class Policy(nn.Module):
        def __init__(self, num_inputs, num_outputs):
            super(Policy, self).__init__()
            self.affine1 = nn.Linear(num_inputs, 8)
            self.affine2 = nn.Linear(8, 8)
            self.action_mean = nn.Linear(8, num_outputs)
            self.action_mean.weight.data.mul_(0.1)
            self.action_mean.bias.data.mul_(0.0)
            self.action_log_std = nn.Parameter(T.zeros(1, num_outputs))
            self.saved_actions = []
            self.rewards = []
            self.final_value = 0

        def forward(self, x):
            x = T.tanh(self.affine1(x))
            x = T.tanh(self.affine2(x))
            action_mean = self.action_mean(x)
            action_log_std = self.action_log_std.expand_as(action_mean)
            action_std = T.exp(action_log_std)
            return action_mean, action_log_std, action_std

    class Value(nn.Module):
        def __init__(self, num_inputs):
            super(Value, self).__init__()
            self.affine1 = nn.Linear(num_inputs, 8)
            self.affine2 = nn.Linear(8, 8)
            self.value_head = nn.Linear(8, 1)
            self.value_head.weight.data.mul_(0.1)
            self.value_head.bias.data.mul_(0.0)

        def forward(self, x):
            x = T.tanh(self.affine1(x))
            x = T.tanh(self.affine2(x))
            state_values = self.value_head(x)
            return state_values

    def normal_log_density(x, mean, log_std, std):
        var = std.pow(2)
        log_density = -(x - mean).pow(2) / (2 * var) - 0.5 * math.log(2 * math.pi) - log_std
        return log_density.sum(1, keepdim=True)

    def get_flat_params_from(model):
        params = []
        for param in model.parameters():
            params.append(param.data.view(-1))
        flat_params = T.cat(params)
        return flat_params

    def set_flat_params_to(model, flat_params):
        prev_ind = 0
        for param in model.parameters():
            flat_size = int(np.prod(list(param.size())))
            param.data.copy_(flat_params[prev_ind:prev_ind + flat_size].view(param.size()))
            prev_ind += flat_size

    def get_flat_grad_from(net, grad_grad=False):
        grads = []
        for param in net.parameters():
            if grad_grad:
                grads.append(param.grad.grad.view(-1))
            else:
                grads.append(param.grad.view(-1))
        flat_grad = T.cat(grads)
        return flat_grad

    def conjugate_gradients(Avp, b, nsteps, residual_tol=1e-10):
        x = T.zeros(b.size())
        r = b.clone()
        p = b.clone()
        rdotr = T.dot(r, r)
        for i in range(nsteps):
            _Avp = Avp(p)
            alpha = rdotr / T.dot(p, _Avp)
            x += alpha * p
            r -= alpha * _Avp
            new_rdotr = T.dot(r, r)
            betta = new_rdotr / rdotr
            p = r + betta * p
            rdotr = new_rdotr
            if rdotr < residual_tol:
                break
        return x

    def linesearch(model, f, x, fullstep, expected_improve_rate, max_backtracks=10, accept_ratio=.1):
        fval = f(True).data
        for (_n_backtracks, stepfrac) in enumerate(.5**np.arange(max_backtracks)):
            xnew = x + stepfrac * fullstep
            set_flat_params_to(model, xnew)
            newfval = f(True).data
            actual_improve = fval - newfval
            expected_improve = expected_improve_rate * stepfrac
            ratio = actual_improve / expected_improve
            if ratio.item() > accept_ratio and actual_improve.item() > 0:
                return True, xnew
        return False, x

    def trpo_step(model, get_loss, get_kl, max_kl, damping):
        loss = get_loss()
        grads = T.autograd.grad(loss, model.parameters())
        loss_grad = T.cat([grad.view(-1) for grad in grads]).data

        def Fvp(v):
            kl = get_kl()
            kl = kl.mean()
            grads = T.autograd.grad(kl, model.parameters(), create_graph=True)
            flat_grad_kl = T.cat([grad.view(-1) for grad in grads])
            kl_v = (flat_grad_kl * Variable(v)).sum()
            grads = T.autograd.grad(kl_v, model.parameters())
            flat_grad_grad_kl = T.cat([grad.contiguous().view(-1) for grad in grads]).data
            return flat_grad_grad_kl + v * damping

        stepdir = conjugate_gradients(Fvp, -loss_grad, 10)
        shs = 0.5 * (stepdir * Fvp(stepdir)).sum(0, keepdim=True)
        lm = T.sqrt(shs / max_kl)
        fullstep = stepdir / lm[0]
        neggdotstepdir = (-loss_grad * stepdir).sum(0, keepdim=True)
        prev_params = get_flat_params_from(model)
        success, new_params = linesearch(model, get_loss, prev_params, fullstep, neggdotstepdir / lm[0])
        set_flat_params_to(model, new_params)
        return [loss, loss_grad, stepdir, lm, success]

    class RunningStat(object):
        def __init__(self, shape):
            self._n = 0
            self._M = np.zeros(shape)
            self._S = np.zeros(shape)

        def push(self, x):
            x = np.asarray(x)
            assert x.shape == self._M.shape
            self._n += 1
            if self._n == 1:
                self._M[...] = x
            else:
                oldM = self._M.copy()
                self._M[...] = oldM + (x - oldM) / self._n
                self._S[...] = self._S + (x - oldM) * (x - self._M)

        @property
        def std(self):
            return np.sqrt(self._S / (self._n - 1)) if self._n > 1 else np.sqrt(np.square(self._M))

    class ZFilter:
        """y = (x-mean)/std, using running estimates of mean,std"""
        def __init__(self, shape, demean=True, destd=True, clip=10.0):
            self.demean, self.destd, self.clip = demean, destd, clip
            self.rs = RunningStat(shape)

        def __call__(self, x, update=True):
            if update:
                self.rs.push(x)
            if self.demean:
                x = x - self.rs._M
            if self.destd:
                x = x / (self.rs.std + 1e-8)
            if self.clip:
                x = np.clip(x, -self.clip, self.clip)
            return x

    num_inputs, num_actions = 3, 2
    policy_net, value_net = Policy(num_inputs, num_actions), Value(num_inputs)
    if sd is None:
        return [_state(policy_net), _state(value_net)]
    for net, net_sd in zip((policy_net, value_net), sd):
        _load(T, net, net_sd)
    gamma, tau, l2_reg, max_kl, damping = 0.995, 0.97, 1e-3, 1e-2, 1e-1

    def select_action(state):
        state = T.from_numpy(state).unsqueeze(0)
        action_mean, _, action_std = policy_net(Variable(state))
        action = normal(action_mean, action_std)
        return action

    def update_params(batch):
        rewards = T.Tensor(batch["reward"])
        masks = T.Tensor(batch["mask"])
        actions = T.Tensor(np.concatenate(batch["action"], 0))
        states = T.Tensor(np.array(batch["state"]))
        values = value_net(Variable(states))
        returns = T.Tensor(actions.size(0), 1)
        deltas = T.Tensor(actions.size(0), 1)
        advantages = T.Tensor(actions.size(0), 1)
        prev_return = 0
        prev_value = 0
        prev_advantage = 0
        for i in reversed(range(rewards.size(0))):
            returns[i] = rewards[i] + gamma * prev_return * masks[i]
            deltas[i] = rewards[i] + gamma * prev_value * masks[i] - values.data[i]
            advantages[i] = deltas[i] + gamma * tau * prev_advantage * masks[i]
            prev_return = returns[i, 0]
            prev_value = values.data[i, 0]
            prev_advantage = advantages[i, 0]
        targets = Variable(returns)

        # Original code uses the same LBFGS to optimize the value loss
        def get_value_loss(flat_params):
            set_flat_params_to(value_net, T.Tensor(flat_params))
            for param in value_net.parameters():
                if param.grad is not None:
                    param.grad.data.fill_(0)
            values_ = value_net(Variable(states))
            value_loss = (values_ - targets).pow(2).mean()
            # weight decay
            for param in value_net.parameters():
                value_loss += param.pow(2).sum() * l2_reg
            value_loss.backward()
            return (value_loss.data.double().numpy(), get_flat_grad_from(value_net).data.double().numpy())

        flat_params, _, opt_info = scipy.optimize.fmin_l_bfgs_b(get_value_loss,
                                                                get_flat_params_from(value_net).double().numpy(),
                                                                maxiter=5)
        set_flat_params_to(value_net, T.Tensor(flat_params))
        advantages = (advantages - advantages.mean()) / advantages.std()
        action_means, action_log_stds, action_stds = policy_net(Variable(states))
        fixed_log_prob = normal_log_density(Variable(actions), action_means, action_log_stds, action_stds).data.clone()

        def get_loss(volatile=False):
            if volatile:
                with T.no_grad():
                    action_means, action_log_stds, action_stds = policy_net(Variable(states))
            else:
                action_means, action_log_stds, action_stds = policy_net(Variable(states))
            log_prob = normal_log_density(Variable(actions), action_means, action_log_stds, action_stds)
            action_loss = -Variable(advantages) * T.exp(log_prob - Variable(fixed_log_prob))
            return action_loss.mean()

        def get_kl():
            mean1, log_std1, std1 = policy_net(Variable(states))
            mean0 = Variable(mean1.data)
            log_std0 = Variable(log_std1.data)
            std0 = Variable(std1.data)
            kl = log_std1 - log_std0 + (std0.pow(2) + (mean0 - mean1).pow(2)) / (2.0 * std1.pow(2)) - 0.5
            return kl.sum(1, keepdim=True)

        return [values, advantages, flat_params, opt_info["nit"]] + trpo_step(policy_net, get_loss, get_kl, max_kl,
                                                                              damping)

    running_state = ZFilter((num_inputs,), clip=5)
    A = np.array([[0.9, 0.1, 0.], [0., 0.8, 0.2], [0.1, 0., 0.9]])
    B = np.array([[0.5, 0.], [0., 0.5], [0.3, -0.3]])
    out = []
    for i_episode in range(updates):
        batch = dict(state=[], action=[], mask=[], reward=[])
        state = running_state(np.ones(num_inputs) * (i_episode + 1))
        raw = np.ones(num_inputs) * (i_episode + 1)
        for t in range(batch_steps):
            action = select_action(state)
            action = action.data[0].numpy()
            raw = A @ raw + B @ action
            reward, done = -float(raw @ raw), t == batch_steps - 1
            next_state = running_state(raw)
            mask = 0 if done else 1
            batch["state"].append(state)
            batch["action"].append(np.array([action]))
            batch["mask"].append(mask)
            batch["reward"].append(reward)
            state = next_state
        out += update_params(batch)
    out += [policy_net.state_dict(), value_net.state_dict()]
    return out


def test_trpo_fisher_vector_conjugate_gradient_and_lbfgs_value(torch):
    rng = _rng(18)
    noise = [rng.standard_normal(2) for _ in range(20)]
    sd = trpo(torch, None, ())
    _compare(trpo(tg, sd, noise), trpo(torch, sd, noise))


# -------------------------------------------------------------------------------------------------------------- MPO
def mpo(T, sd, batches, noise, iterations=2):
    """daisatojp/mpo: the Actor's Cholesky factor (softplus on the diagonal entries picked by triangular-number
    indices, setitem through tril_indices into zeros), MultivariateNormal(loc, scale_tril) with sample((N,)) and
    expand((N, K)).log_prob, the TD critic update on sampled next actions, the E-step's dual minimised by
    scipy.optimize.minimize (SLSQP) on the target Q's in numpy, softmax weights qij, the M-step with gaussian_kl
    (det, inverse, clamp_min, batched traces) and the Lagrange multipliers stepped and np.clip'ped, clip_grad_norm_,
    target networks synced by load_state_dict. MultivariateNormal's draws come from numpy."""
    from scipy.optimize import minimize
    nn = T.nn
    F = nn.functional
    noise = iter(noise)

    class MultivariateNormal(T.distributions.MultivariateNormal):  # (its draws from numpy)
        def rsample(self, sample_shape=T.Size()):
            shape = self._extended_shape(sample_shape)
            eps = T.from_numpy(next(noise)[:math.prod(shape)].reshape(tuple(shape)).copy())
            return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

        def sample(self, sample_shape=T.Size()):
            with T.no_grad():
                return self.rsample(sample_shape)

    def bt(m):
        return m.transpose(dim0=-2, dim1=-1)

    def btr(m):
        return m.diagonal(dim1=-2, dim2=-1).sum(-1)

    def gaussian_kl(μi, μ, Ai, A):
        """decoupled KL between two multivariate gaussian distribution
        C_μ = KL(f(x|μi,Σi)||f(x|μ,Σi))
        C_Σ = KL(f(x|μi,Σi)||f(x|μi,Σ))"""
        n = A.size(-1)
        μi = μi.unsqueeze(-1)  # (B, n, 1)
        μ = μ.unsqueeze(-1)  # (B, n, 1)
        Σi = Ai @ bt(Ai)  # (B, n, n)
        Σ = A @ bt(A)  # (B, n, n)
        Σi_det = Σi.det()  # (B,)
        Σ_det = Σ.det()  # (B,)
        # determinant can be minus due to numerical calculation error
        # https://github.com/daisatojp/mpo/issues/11
        Σi_det = T.clamp_min(Σi_det, 1e-6)
        Σ_det = T.clamp_min(Σ_det, 1e-6)
        Σi_inv = Σi.inverse()  # (B, n, n)
        Σ_inv = Σ.inverse()  # (B, n, n)
        inner_μ = ((μ - μi).transpose(-2, -1) @ Σi_inv @ (μ - μi)).squeeze()  # (B,)
        inner_Σ = T.log(Σ_det / Σi_det) - n + btr(Σ_inv @ Σi)  # (B,)
        C_μ = 0.5 * T.mean(inner_μ)
        C_Σ = 0.5 * T.mean(inner_Σ)
        return C_μ, C_Σ, T.mean(Σi_det), T.mean(Σ_det)

    class Box:
        low, high, shape = np.array([-1.0, -2.0]), np.array([1.0, 2.0]), (2,)

    class Env:
        observation_space = type("Obs", (), {"shape": (3,)})
        action_space = Box()

    class Actor(nn.Module):
        def __init__(self, env):
            super(Actor, self).__init__()
            self.env = env
            self.ds = env.observation_space.shape[0]
            self.da = env.action_space.shape[0]
            self.lin1 = nn.Linear(self.ds, 6)
            self.lin2 = nn.Linear(6, 6)
            self.mean_layer = nn.Linear(6, self.da)
            self.cholesky_layer = nn.Linear(6, (self.da * (self.da + 1)) // 2)

        def forward(self, state):
            device = state.device
            B = state.size(0)
            da = self.da
            action_low = T.from_numpy(self.env.action_space.low)[None, ...].to(device)  # (1, da)
            action_high = T.from_numpy(self.env.action_space.high)[None, ...].to(device)  # (1, da)
            x = F.relu(self.lin1(state))
            x = F.relu(self.lin2(x))
            mean = T.sigmoid(self.mean_layer(x))  # (B, da)
            mean = action_low + (action_high - action_low) * mean
            cholesky_vector = self.cholesky_layer(x)  # (B, (da*(da+1))//2)
            cholesky_diag_index = T.arange(da, dtype=T.long) + 1
            cholesky_diag_index = (cholesky_diag_index * (cholesky_diag_index + 1)) // 2 - 1
            cholesky_vector[:, cholesky_diag_index] = F.softplus(cholesky_vector[:, cholesky_diag_index])
            tril_indices = T.tril_indices(row=da, col=da, offset=0)
            cholesky = T.zeros(size=(B, da, da)).to(device)  # (dtype=torch.float32 in the float32 original)
            cholesky[:, tril_indices[0], tril_indices[1]] = cholesky_vector
            return mean, cholesky

    class Critic(nn.Module):
        def __init__(self, env):
            super(Critic, self).__init__()
            self.ds = env.observation_space.shape[0]
            self.da = env.action_space.shape[0]
            self.lin1 = nn.Linear(self.ds + self.da, 6)
            self.lin2 = nn.Linear(6, 6)
            self.lin3 = nn.Linear(6, 1)

        def forward(self, state, action):
            h = T.cat([state, action], dim=1)  # (B, ds+da)
            h = F.relu(self.lin1(h))  # (B, 256)
            h = F.relu(self.lin2(h))  # (B, 256)
            v = self.lin3(h)  # (B, 1)
            return v

    env = Env()
    actor, critic = Actor(env), Critic(env)
    if sd is None:
        return [_state(actor), _state(critic)]
    for net, net_sd in zip((actor, critic), sd):
        _load(T, net, net_sd)
    target_actor, target_critic = Actor(env), Critic(env)
    for target_param, param in zip(target_actor.parameters(), actor.parameters()):
        target_param.data.copy_(param.data)
        target_param.requires_grad = False
    for target_param, param in zip(target_critic.parameters(), critic.parameters()):
        target_param.data.copy_(param.data)
        target_param.requires_grad = False
    actor_optimizer = T.optim.Adam(actor.parameters(), lr=1e-2)
    critic_optimizer = T.optim.Adam(critic.parameters(), lr=1e-2)
    norm_loss_q = nn.SmoothL1Loss()
    ε_dual, ε_kl_μ, ε_kl_Σ = 0.1, 0.01, 1e-4
    α_μ_scale, α_Σ_scale, α_μ_max, α_Σ_max = 1.0, 100.0, 0.1, 10.0
    η, η_μ, η_Σ = 0.5, 0.0, 0.0  # (η = np.random.rand() in the original)
    γ, sample_action_num, lagrange_iteration_num = 0.99, 3, 2
    ds, da = 3, 2
    out = []
    for it in range(iterations):
        state_batch, action_batch, next_state_batch, reward_batch = (T.from_numpy(x) for x in batches[it])
        K = state_batch.size(0)
        N = sample_action_num
        # Policy Evaluation (__update_critic_td)
        B = state_batch.size(0)
        with T.no_grad():
            r = reward_batch  # (B,)
            π_μ, π_A = target_actor.forward(next_state_batch)  # (B,)
            π = MultivariateNormal(π_μ, scale_tril=π_A)  # (B,)
            sampled_next_actions = π.sample((N,)).transpose(0, 1)  # (B, sample_num, da)
            expanded_next_states = next_state_batch[:, None, :].expand(-1, N, -1)  # (B, sample_num, ds)
            expected_next_q = target_critic.forward(
                expanded_next_states.reshape(-1, ds),  # (B * sample_num, ds)
                sampled_next_actions.reshape(-1, da)  # (B * sample_num, da)
            ).reshape(B, N).mean(dim=1)  # (B,)
            y = r + γ * expected_next_q
        critic_optimizer.zero_grad()
        t = critic(state_batch, action_batch).squeeze()
        loss_q = norm_loss_q(y, t)
        loss_q.backward()
        critic_optimizer.step()
        out += [loss_q, _grads(critic)]
        # E-Step of Policy Improvement
        with T.no_grad():
            b_μ, b_A = target_actor.forward(state_batch)  # (K,)
            b = MultivariateNormal(b_μ, scale_tril=b_A)  # (K,)
            sampled_actions = b.sample((N,))  # (N, K, da)
            expanded_states = state_batch[None, ...].expand(N, -1, -1)  # (N, K, ds)
            target_q = target_critic.forward(
                expanded_states.reshape(-1, ds),  # (N * K, ds)
                sampled_actions.reshape(-1, da)  # (N * K, da)
            ).reshape(N, K)  # (N, K)
            target_q_np = target_q.cpu().transpose(0, 1).numpy()  # (K, N)

        def dual(η):
            """dual function of the non-parametric variational
            g(η) = η*ε + η \\mean \\log (\\mean \\exp(Q(a, s)/η))"""
            max_q = np.max(target_q_np, 1)
            return η * ε_dual + np.mean(max_q) \
                + η * np.mean(np.log(np.mean(np.exp((target_q_np - max_q[:, None]) / η), axis=1)))

        bounds = [(1e-6, None)]
        res = minimize(dual, np.array([η]), method='SLSQP', bounds=bounds)
        η = res.x[0]
        qij = T.softmax(target_q / η, dim=0)  # (N, K) or (da, K)
        out += [η, qij]
        # M-Step of Policy Improvement
        for _ in range(lagrange_iteration_num):
            μ, A = actor.forward(state_batch)
            π1 = MultivariateNormal(loc=μ, scale_tril=b_A)  # (K,)
            π2 = MultivariateNormal(loc=b_μ, scale_tril=A)  # (K,)
            loss_p = T.mean(
                qij * (
                    π1.expand((N, K)).log_prob(sampled_actions)  # (N, K)
                    + π2.expand((N, K)).log_prob(sampled_actions)  # (N, K)
                )
            )
            kl_μ, kl_Σ, Σi_det, Σ_det = gaussian_kl(μi=b_μ, μ=μ, Ai=b_A, A=A)
            # Update lagrange multipliers by gradient descent
            η_μ -= α_μ_scale * (ε_kl_μ - kl_μ).detach().item()
            η_Σ -= α_Σ_scale * (ε_kl_Σ - kl_Σ).detach().item()
            η_μ = np.clip(0.0, η_μ, α_μ_max)
            η_Σ = np.clip(0.0, η_Σ, α_Σ_max)
            actor_optimizer.zero_grad()
            loss_l = -(loss_p + η_μ * (ε_kl_μ - kl_μ) + η_Σ * (ε_kl_Σ - kl_Σ))
            loss_l.backward()
            out += [loss_p, kl_μ, kl_Σ, Σi_det, loss_l, _grads(actor)]
            nn.utils.clip_grad_norm_(actor.parameters(), 0.1)
            actor_optimizer.step()
        # update target networks
        target_actor.load_state_dict(actor.state_dict())
        target_critic.load_state_dict(critic.state_dict())
    out += [actor.state_dict(), critic.state_dict()]
    return out


def test_mpo_cholesky_policy_dual_and_decoupled_kl(torch):
    rng = _rng(19)
    batches = [(rng.standard_normal((4, 3)), rng.uniform(-1, 1, (4, 2)), rng.standard_normal((4, 3)),
                rng.standard_normal(4)) for _ in range(2)]
    noise = [rng.standard_normal(24) for _ in range(8)]
    sd = mpo(torch, None, None, ())
    _compare(mpo(tg, sd, batches, noise), mpo(torch, sd, batches, noise))


# --------------------------------------------------------------------------------------- EDAC / vmapped ensembles
def edac(T, sd, batches, noise, steps=3):
    """tinkoff-ai/CORL's EDAC (edac.py): VectorizedLinear ensembles (a (E, in, out) weight initialised per member
    with kaiming_uniform_ on its slices, x @ weight + bias over a leading ensemble dim), the VectorizedCritic
    (state / action repeated per member by unsqueeze + repeat_interleave), the tanh-Normal Actor, the diversity
    loss (autograd.grad of the ensemble's Q's with respect to the requires_grad_ actions, create_graph=True,
    normalised gradients, their pairwise products masked by an eye), automatic alpha, soft_update by
    ``target_param.data.copy_((1 - tau) * target_param.data + tau * source_param.data)``; and the same critics
    evaluated as torch.func's model ensembling does (stack_module_state, functional_call under vmap over the
    members, with in_dims=(0, 0, None))."""
    nn = T.nn
    F = nn.functional
    noise = iter(noise)

    class Normal(T.distributions.Normal):  # (its draws from numpy)
        def rsample(self, sample_shape=T.Size()):
            shape = self._extended_shape(sample_shape)
            eps = T.from_numpy(next(noise)[:math.prod(shape)].reshape(tuple(shape)).copy())
            return self.loc + eps * self.scale

    def soft_update(target, source, tau):
        for target_param, source_param in zip(target.parameters(), source.parameters()):
            target_param.data.copy_((1 - tau) * target_param.data + tau * source_param.data)

    class VectorizedLinear(nn.Module):
        def __init__(self, in_features, out_features, ensemble_size):
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.ensemble_size = ensemble_size
            self.weight = nn.Parameter(T.empty(ensemble_size, in_features, out_features))
            self.bias = nn.Parameter(T.empty(ensemble_size, 1, out_features))
            self.reset_parameters()

        def reset_parameters(self):
            # default pytorch init for nn.Linear module
            for layer in range(self.ensemble_size):
                nn.init.kaiming_uniform_(self.weight[layer], a=math.sqrt(5))
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(self.weight[0])
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)

        def forward(self, x):
            # input: [ensemble_size, batch_size, input_size]
            # weight: [ensemble_size, input_size, out_size]
            # out: [ensemble_size, batch_size, out_size]
            return x @ self.weight + self.bias

    class Actor(nn.Module):
        def __init__(self, state_dim, action_dim, hidden_dim, max_action=1.0):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(state_dim, hidden_dim), nn.ReLU(),
                                       nn.Linear(hidden_dim, hidden_dim), nn.ReLU())
            # with separate layers works better than with Linear(hidden_dim, 2 * action_dim)
            self.mu = nn.Linear(hidden_dim, action_dim)
            self.log_sigma = nn.Linear(hidden_dim, action_dim)
            # init as in the EDAC paper
            for layer in self.trunk[::2]:
                T.nn.init.constant_(layer.bias, 0.1)
            T.nn.init.uniform_(self.mu.weight, -1e-3, 1e-3)
            T.nn.init.uniform_(self.mu.bias, -1e-3, 1e-3)
            T.nn.init.uniform_(self.log_sigma.weight, -1e-3, 1e-3)
            T.nn.init.uniform_(self.log_sigma.bias, -1e-3, 1e-3)
            self.action_dim = action_dim
            self.max_action = max_action

        def forward(self, state, deterministic=False, need_log_prob=False):
            hidden = self.trunk(state)
            mu, log_sigma = self.mu(hidden), self.log_sigma(hidden)
            # clipping params from EDAC paper, not as in SAC paper (-20, 2)
            log_sigma = T.clip(log_sigma, -5, 2)
            policy_dist = Normal(mu, T.exp(log_sigma))
            if deterministic:
                action = mu
            else:
                action = policy_dist.rsample()
            tanh_action, log_prob = T.tanh(action), None
            if need_log_prob:
                # change of variables formula (SAC paper, appendix C, eq 21)
                log_prob = policy_dist.log_prob(action).sum(axis=-1)
                log_prob = log_prob - T.log(1 - tanh_action.pow(2) + 1e-6).sum(axis=-1)
            return tanh_action * self.max_action, log_prob

    class VectorizedCritic(nn.Module):
        def __init__(self, state_dim, action_dim, hidden_dim, num_critics):
            super().__init__()
            self.critic = nn.Sequential(
                VectorizedLinear(state_dim + action_dim, hidden_dim, num_critics), nn.ReLU(),
                VectorizedLinear(hidden_dim, hidden_dim, num_critics), nn.ReLU(),
                VectorizedLinear(hidden_dim, 1, num_critics))
            # init as in the EDAC paper
            for layer in self.critic[::2]:
                T.nn.init.constant_(layer.bias, 0.1)
            T.nn.init.uniform_(self.critic[-1].weight, -3e-3, 3e-3)
            T.nn.init.uniform_(self.critic[-1].bias, -3e-3, 3e-3)
            self.num_critics = num_critics

        def forward(self, state, action):
            # [batch_size, state_dim + action_dim]
            state_action = T.cat([state, action], dim=-1)
            if state_action.dim() != 3:
                assert state_action.dim() == 2
                # [num_critics, batch_size, state_dim + action_dim]
                state_action = state_action.unsqueeze(0).repeat_interleave(self.num_critics, dim=0)
            assert state_action.dim() == 3
            assert state_action.shape[0] == self.num_critics
            # [num_critics, batch_size]
            q_values = self.critic(state_action).squeeze(-1)
            return q_values

    class EDAC:
        def __init__(self, actor, actor_optimizer, critic, critic_optimizer, gamma=0.99, tau=0.005, eta=1.0,
                     alpha_learning_rate=1e-4, device="cpu"):
            self.device = device
            self.actor = actor
            self.critic = critic
            with T.no_grad():
                self.target_critic = copy.deepcopy(self.critic)
            self.actor_optimizer = actor_optimizer
            self.critic_optimizer = critic_optimizer
            self.tau = tau
            self.gamma = gamma
            self.eta = eta
            # adaptive alpha setup
            self.target_entropy = -float(self.actor.action_dim)
            self.log_alpha = T.tensor([0.0], dtype=T.float64, device=self.device, requires_grad=True)
            self.alpha_optimizer = T.optim.Adam([self.log_alpha], lr=alpha_learning_rate)
            self.alpha = self.log_alpha.exp().detach()

        def _alpha_loss(self, state):
            with T.no_grad():
                action, action_log_prob = self.actor(state, need_log_prob=True)
            loss = (-self.log_alpha * (action_log_prob + self.target_entropy)).mean()
            return loss

        def _actor_loss(self, state):
            action, action_log_prob = self.actor(state, need_log_prob=True)
            q_value_dist = self.critic(state, action)
            assert q_value_dist.shape[0] == self.critic.num_critics
            q_value_min = q_value_dist.min(0).values
            # needed for logging
            q_value_std = q_value_dist.std(0).mean().item()
            batch_entropy = -action_log_prob.mean().item()
            assert action_log_prob.shape == q_value_min.shape
            loss = (self.alpha * action_log_prob - q_value_min).mean()
            return loss, batch_entropy, q_value_std

        def _critic_diversity_loss(self, state, action):
            num_critics = self.critic.num_critics
            # almost exact copy from the original implementation, only style changes:
            # snu-mllab/EDAC, lifelong_rl/trainers/q_learning/sac.py#L192
            # [num_critics, batch_size, *_dim]
            state = state.unsqueeze(0).repeat_interleave(num_critics, dim=0)
            action = (action.unsqueeze(0).repeat_interleave(num_critics, dim=0).requires_grad_(True))
            # [num_critics, batch_size]
            q_ensemble = self.critic(state, action)
            q_action_grad = T.autograd.grad(q_ensemble.sum(), action, retain_graph=True, create_graph=True)[0]
            q_action_grad = q_action_grad / (T.norm(q_action_grad, p=2, dim=2).unsqueeze(-1) + 1e-10)
            # [batch_size, num_critics, action_dim]
            q_action_grad = q_action_grad.transpose(0, 1)
            masks = (T.eye(num_critics, device=self.device).unsqueeze(dim=0).repeat(q_action_grad.shape[0], 1, 1))
            # removed einsum as it is usually slower than just torch.bmm
            # [batch_size, num_critics, num_critics]
            q_action_grad = q_action_grad @ q_action_grad.permute(0, 2, 1)
            q_action_grad = (1 - masks) * q_action_grad
            grad_loss = q_action_grad.sum(dim=(1, 2)).mean()
            grad_loss = grad_loss / (num_critics - 1)
            return grad_loss

        def _critic_loss(self, state, action, reward, next_state, done):
            with T.no_grad():
                next_action, next_action_log_prob = self.actor(next_state, need_log_prob=True)
                q_next = self.target_critic(next_state, next_action).min(0).values
                q_next = q_next - self.alpha * next_action_log_prob
                assert q_next.unsqueeze(-1).shape == done.shape == reward.shape
                q_target = reward + self.gamma * (1 - done) * q_next.unsqueeze(-1)
            q_values = self.critic(state, action)
            # [ensemble_size, batch_size] - [1, batch_size]
            critic_loss = ((q_values - q_target.view(1, -1)) ** 2).mean(dim=1).sum(dim=0)
            diversity_loss = self._critic_diversity_loss(state, action)
            loss = critic_loss + self.eta * diversity_loss
            return loss

        def update(self, batch):
            state, action, reward, next_state, done = [arr.to(self.device) for arr in batch]
            # Usually updates are done in the following order: critic -> actor -> alpha
            # But we found that EDAC paper uses reverse (which gives better results)
            # Alpha update
            alpha_loss = self._alpha_loss(state)
            self.alpha_optimizer.zero_grad()
            alpha_loss.backward()
            self.alpha_optimizer.step()
            self.alpha = self.log_alpha.exp().detach()
            # Actor update
            actor_loss, actor_batch_entropy, q_policy_std = self._actor_loss(state)
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            actor_grads = _grads(self.actor)
            # Critic update
            critic_loss = self._critic_loss(state, action, reward, next_state, done)
            self.critic_optimizer.zero_grad()
            critic_loss.backward()
            self.critic_optimizer.step()
            #  Target networks soft update
            with T.no_grad():
                soft_update(self.target_critic, self.critic, tau=self.tau)
            return [alpha_loss, actor_loss, actor_batch_entropy, q_policy_std, critic_loss, actor_grads,
                    _grads(self.critic), self.alpha]

    class Critic1(nn.Module):  # one member, as a plain MLP (the model-ensembling tutorial's form)
        def __init__(self, state_dim, action_dim, hidden_dim):
            super().__init__()
            self.fc1 = nn.Linear(state_dim + action_dim, hidden_dim)
            self.fc2 = nn.Linear(hidden_dim, 1)

        def forward(self, state, action):
            return self.fc2(F.relu(self.fc1(T.cat([state, action], -1)))).squeeze(-1)

    state_dim, action_dim, num_critics = 3, 2, 4
    actor = Actor(state_dim, action_dim, 6)
    critic = VectorizedCritic(state_dim, action_dim, 6, num_critics)
    members = nn.ModuleList([Critic1(state_dim, action_dim, 5) for _ in range(num_critics)])
    if sd is None:
        return [_state(actor), _state(critic), _state(members)]
    for net, net_sd in zip((actor, critic, members), sd):
        _load(T, net, net_sd)
    trainer = EDAC(actor, T.optim.Adam(actor.parameters(), lr=3e-3), critic,
                   T.optim.Adam(critic.parameters(), lr=3e-3), eta=5.0, alpha_learning_rate=1e-2)
    out = []
    for step in range(steps):
        out += trainer.update([T.from_numpy(x) for x in batches[step]])
    # torch.func model ensembling over the members
    from_func = import_module(T.__name__ + ".func")
    params, buffers = from_func.stack_module_state(list(members))
    base_model = copy.deepcopy(members[0])  # (the tutorial then moves it .to('meta'): no meta device here)

    def fmodel(params, buffers, state, action):
        return from_func.functional_call(base_model, (params, buffers), (state, action))
    state, action = T.from_numpy(batches[0][0]), T.from_numpy(batches[0][1])
    q = from_func.vmap(fmodel, in_dims=(0, 0, None, None))(params, buffers, state, action)
    q.min(0).values.sum().backward()
    out += [q, [members[i](state, action) for i in range(num_critics)], {k: v.grad for k, v in params.items()}]
    out += [actor.state_dict(), critic.state_dict(), trainer.target_critic.state_dict(), trainer.log_alpha]
    return out


def test_edac_vectorized_critics_diversity_loss_and_func_ensembling(torch):
    rng = _rng(20)
    batches = [(rng.standard_normal((5, 3)), rng.uniform(-0.9, 0.9, (5, 2)), rng.standard_normal((5, 1)),
                rng.standard_normal((5, 3)), (rng.random((5, 1)) < 0.2).astype(float)) for _ in range(3)]
    noise = [rng.standard_normal(10) for _ in range(20)]
    sd = edac(torch, None, None, ())
    _compare(edac(tg, sd, batches, noise), edac(torch, sd, batches, noise))


# -------------------------------------------------------------------------------------------------------------- IQL
def iql(T, sd, batches, steps=3):
    """tinkoff-ai/CORL's IQL (iql.py): the expectile value loss (asymmetric_l2_loss), TwinQ with torch.min over
    both heads, the advantage-weighted policy loss (exp of beta * advantage clamped at EXP_ADV_MAX) for the
    GaussianPolicy (a learnt state-independent log_std, MultivariateNormal with scale_tril=torch.diag(std)
    broadcast over the batch) and the DeterministicPolicy, CosineAnnealingLR on the actor, the soft target update,
    and the trainer's state_dict round trip through torch.save / load."""
    nn = T.nn
    F = nn.functional
    MultivariateNormal = T.distributions.MultivariateNormal
    EXP_ADV_MAX = 100.0
    LOG_STD_MIN = -5.0
    LOG_STD_MAX = 2.0

    def soft_update(target, source, tau):
        for target_param, source_param in zip(target.parameters(), source.parameters()):
            target_param.data.copy_((1 - tau) * target_param.data + tau * source_param.data)

    def asymmetric_l2_loss(u, tau):
        return T.mean(T.abs(tau - (u < 0).float()) * u**2)

    class Squeeze(nn.Module):
        def __init__(self, dim=-1):
            super().__init__()
            self.dim = dim

        def forward(self, x):
            return x.squeeze(dim=self.dim)

    class MLP(nn.Module):
        def __init__(self, dims, activation_fn=nn.ReLU, output_activation_fn=None, squeeze_output=False,
                     dropout=None):
            super().__init__()
            n_dims = len(dims)
            if n_dims < 2:
                raise ValueError("MLP requires at least two dims (input and output)")
            layers = []
            for i in range(n_dims - 2):
                layers.append(nn.Linear(dims[i], dims[i + 1]))
                layers.append(activation_fn())
                if dropout is not None:
                    layers.append(nn.Dropout(dropout))
            layers.append(nn.Linear(dims[-2], dims[-1]))
            if output_activation_fn is not None:
                layers.append(output_activation_fn())
            if squeeze_output:
                if dims[-1] != 1:
                    raise ValueError("Last dim must be 1 when squeezing")
                layers.append(Squeeze(-1))
            self.net = nn.Sequential(*layers)

        def forward(self, x):
            return self.net(x)

    class GaussianPolicy(nn.Module):
        def __init__(self, state_dim, act_dim, max_action, hidden_dim=256, n_hidden=2, dropout=None):
            super().__init__()
            self.net = MLP([state_dim, *([hidden_dim] * n_hidden), act_dim], output_activation_fn=nn.Tanh)
            self.log_std = nn.Parameter(T.zeros(act_dim, dtype=T.float64))
            self.max_action = max_action

        def forward(self, obs):
            mean = self.net(obs)
            std = T.exp(self.log_std.clamp(LOG_STD_MIN, LOG_STD_MAX))
            scale_tril = T.diag(std)
            return MultivariateNormal(mean, scale_tril=scale_tril)

        @T.no_grad()
        def act(self, state, device="cpu"):
            state = T.tensor(state.reshape(1, -1), device=device, dtype=T.float64)
            dist = self(state)
            action = dist.mean if not self.training else dist.sample()
            action = T.clamp(self.max_action * action, -self.max_action, self.max_action)
            return action.cpu().data.numpy().flatten()

    class DeterministicPolicy(nn.Module):
        def __init__(self, state_dim, act_dim, max_action, hidden_dim=256, n_hidden=2, dropout=None):
            super().__init__()
            self.net = MLP([state_dim, *([hidden_dim] * n_hidden), act_dim], output_activation_fn=nn.Tanh,
                           dropout=dropout)
            self.max_action = max_action

        def forward(self, obs):
            return self.net(obs)

    class TwinQ(nn.Module):
        def __init__(self, state_dim, action_dim, hidden_dim=256, n_hidden=2):
            super().__init__()
            dims = [state_dim + action_dim, *([hidden_dim] * n_hidden), 1]
            self.q1 = MLP(dims, squeeze_output=True)
            self.q2 = MLP(dims, squeeze_output=True)

        def both(self, state, action):
            sa = T.cat([state, action], 1)
            return self.q1(sa), self.q2(sa)

        def forward(self, state, action):
            return T.min(*self.both(state, action))

    class ValueFunction(nn.Module):
        def __init__(self, state_dim, hidden_dim=256, n_hidden=2):
            super().__init__()
            dims = [state_dim, *([hidden_dim] * n_hidden), 1]
            self.v = MLP(dims, squeeze_output=True)

        def forward(self, state):
            return self.v(state)

    class ImplicitQLearning:
        def __init__(self, max_action, actor, actor_optimizer, q_network, q_optimizer, v_network, v_optimizer,
                     iql_tau=0.7, beta=3.0, max_steps=1000000, discount=0.99, tau=0.005, device="cpu"):
            self.max_action = max_action
            self.qf = q_network
            self.q_target = copy.deepcopy(self.qf).requires_grad_(False).to(device)
            self.vf = v_network
            self.actor = actor
            self.v_optimizer = v_optimizer
            self.q_optimizer = q_optimizer
            self.actor_optimizer = actor_optimizer
            self.actor_lr_schedule = T.optim.lr_scheduler.CosineAnnealingLR(self.actor_optimizer, max_steps)
            self.iql_tau = iql_tau
            self.beta = beta
            self.discount = discount
            self.tau = tau
            self.total_it = 0
            self.device = device

        def _update_v(self, observations, actions, log_dict):
            # Update value function
            with T.no_grad():
                target_q = self.q_target(observations, actions)
            v = self.vf(observations)
            adv = target_q - v
            v_loss = asymmetric_l2_loss(adv, self.iql_tau)
            log_dict["value_loss"] = v_loss.item()
            self.v_optimizer.zero_grad()
            v_loss.backward()
            self.v_optimizer.step()
            return adv

        def _update_q(self, next_v, observations, actions, rewards, terminals, log_dict):
            targets = rewards + (1.0 - terminals.float()) * self.discount * next_v.detach()
            qs = self.qf.both(observations, actions)
            q_loss = sum(F.mse_loss(q, targets) for q in qs) / len(qs)
            log_dict["q_loss"] = q_loss.item()
            self.q_optimizer.zero_grad()
            q_loss.backward()
            self.q_optimizer.step()
            # Update target Q network
            soft_update(self.q_target, self.qf, self.tau)

        def _update_policy(self, adv, observations, actions, log_dict):
            exp_adv = T.exp(self.beta * adv.detach()).clamp(max=EXP_ADV_MAX)
            policy_out = self.actor(observations)
            if isinstance(policy_out, T.distributions.Distribution):
                bc_losses = -policy_out.log_prob(actions)
            elif T.is_tensor(policy_out):
                if policy_out.shape != actions.shape:
                    raise RuntimeError("Actions shape missmatch")
                bc_losses = T.sum((policy_out - actions) ** 2, dim=1)
            else:
                raise NotImplementedError
            policy_loss = T.mean(exp_adv * bc_losses)
            log_dict["actor_loss"] = policy_loss.item()
            self.actor_optimizer.zero_grad()
            policy_loss.backward()
            self.actor_optimizer.step()
            self.actor_lr_schedule.step()

        def train(self, batch):
            self.total_it += 1
            (observations, actions, rewards, next_observations, dones) = batch
            log_dict = {}
            with T.no_grad():
                next_v = self.vf(next_observations)
            # Update value function
            adv = self._update_v(observations, actions, log_dict)
            rewards = rewards.squeeze(dim=-1)
            dones = dones.squeeze(dim=-1)
            # Update Q function
            self._update_q(next_v, observations, actions, rewards, dones, log_dict)
            # Update actor
            self._update_policy(adv, observations, actions, log_dict)
            return log_dict

        def state_dict(self):
            return {
                "qf": self.qf.state_dict(),
                "q_optimizer": self.q_optimizer.state_dict(),
                "vf": self.vf.state_dict(),
                "v_optimizer": self.v_optimizer.state_dict(),
                "actor": self.actor.state_dict(),
                "actor_optimizer": self.actor_optimizer.state_dict(),
                "actor_lr_schedule": self.actor_lr_schedule.state_dict(),
                "total_it": self.total_it,
            }

        def load_state_dict(self, state_dict):
            self.qf.load_state_dict(state_dict["qf"])
            self.q_optimizer.load_state_dict(state_dict["q_optimizer"])
            self.q_target = copy.deepcopy(self.qf)
            self.vf.load_state_dict(state_dict["vf"])
            self.v_optimizer.load_state_dict(state_dict["v_optimizer"])
            self.actor.load_state_dict(state_dict["actor"])
            self.actor_optimizer.load_state_dict(state_dict["actor_optimizer"])
            self.actor_lr_schedule.load_state_dict(state_dict["actor_lr_schedule"])
            self.total_it = state_dict["total_it"]

    state_dim, action_dim, max_action = 3, 2, 1.0
    q_network, v_network = TwinQ(state_dim, action_dim, 6), ValueFunction(state_dim, 6)
    actors = nn.ModuleList([GaussianPolicy(state_dim, action_dim, max_action, 6),
                            DeterministicPolicy(state_dim, action_dim, max_action, 6)])
    if sd is None:
        return [_state(q_network), _state(v_network), _state(actors)]
    for net, net_sd in zip((q_network, v_network, actors), sd):
        _load(T, net, net_sd)
    out = []
    for actor in actors:
        qn, vn = copy.deepcopy(q_network), copy.deepcopy(v_network)
        trainer = ImplicitQLearning(max_action, actor, T.optim.Adam(actor.parameters(), lr=3e-3), qn,
                                    T.optim.Adam(qn.parameters(), lr=3e-3), vn, T.optim.Adam(vn.parameters(), lr=3e-3),
                                    max_steps=5, tau=0.05)
        for step in range(steps):
            log = trainer.train([T.from_numpy(x) for x in batches[step]])
            out += [log[k] for k in sorted(log)] + [_grads(actor), _grads(qn), _grads(vn)]
            if step == 1:
                buf = io.BytesIO()
                T.save(trainer.state_dict(), buf)
                buf.seek(0)
                trainer.load_state_dict(T.load(buf))
        if isinstance(actor, GaussianPolicy):
            actor.eval()
            out.append(actor.act(batches[0][0][0]))
        out += [actor.state_dict(), trainer.q_target.state_dict(), trainer.actor_lr_schedule.get_last_lr()]
    return out


def test_iql_expectile_value_and_advantage_weighted_policies(torch):
    rng = _rng(21)
    batches = [(rng.standard_normal((5, 3)), rng.uniform(-0.9, 0.9, (5, 2)), rng.standard_normal((5, 1)),
                rng.standard_normal((5, 3)), (rng.random((5, 1)) < 0.3).astype(float)) for _ in range(3)]
    sd = iql(torch, None, None)
    _compare(iql(tg, sd, batches), iql(torch, sd, batches))

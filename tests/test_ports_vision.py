"""Classic computer-vision programs, ported: each written once, as its authors write it, against a module ``T`` (torch
or tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and data for a few steps in
float64; losses, outputs, gradients and final weights agree to ~1e-10. Random draws (stochastic depth masks, GAN
latents and noise maps) are made outside, in numpy, so both see the same ones. Skipped without torch.

Programs: torchvision's MobileNetV3 / EfficientNet blocks (Conv2dNormActivation, depthwise convolutions, inverted
residuals, squeeze-excitation with Hardsigmoid, Hardswish / SiLU, BatchNorm eps / momentum, stochastic_depth in row
and batch mode, RMSprop + ExponentialLR, an EMA by AveragedModel with use_buffers); timm's ViT (conv patch
embedding, class / register tokens, bicubic antialiased pos-embed resampling, LayerScale, DropPath, qk_norm,
weight-decay groups, AdamW with warmup + cosine SequentialLR, mixup soft targets); the neural-style tutorial (Gram
matrices, LBFGS on the image, total variation) and pytorch/examples' fast neural style (reflection padding,
InstanceNorm, a frozen VGG's namedtuple features); pytorch/examples' DCGAN; rosinality's StyleGAN2 (modulated /
demodulated grouped convs, upfirdn2d, equalized lr, minibatch stddev, R1 and path-length penalties by
autograd.grad(create_graph=True), EMA); torchvision's DeepLabV3 (ASPP, dilated bottlenecks, aux head, ignore_index
255, PolynomialLR, a bincount confusion matrix); torchvision's RetinaNet (FPN with P6 / P7, anchors, box coder,
matcher, sigmoid focal loss, smooth-l1 or GIoU regression, postprocessing with a hand-written batched NMS) (MAE is
in test_ports_ssl_rl.py); ConvNeXt(-V2) (channels-first LayerNorm, depthwise 7x7, GRN, layer scale, layer-wise lr
decay); torchvision-style image augmentation on uint8 and float tensors (invert, posterize, solarize, blends,
equalize, autocontrast, hue via HSV, sharpness, blur, affine warps with fill) with a differentiable pass.
"""
import math
from functools import partial

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, rng as _rng, state as _state

pytestmark = pytest.mark.filterwarnings("ignore")


# ------------------------------------------------------------------------------------------ MobileNetV3 / EfficientNet
def mobilenet(T, sd, data, masks):
    """torchvision.models.mobilenetv3 / efficientnet building blocks as written there (Conv2dNormActivation,
    SqueezeExcitation, InvertedResidual, MBConv with StochasticDepth), a tiny classifier, the classification
    reference's RMSprop + ExponentialLR + label smoothing + EMA; the stochastic-depth Bernoulli draws come from
    masks (numpy), put into torchvision's ``noise`` by copy_."""
    nn = T.nn
    draws = iter(masks or [])

    def stochastic_depth(input, p, mode, training=True):
        if p < 0.0 or p > 1.0:
            raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
        if mode not in ["batch", "row"]:
            raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
        if not training or p == 0.0:
            return input
        survival_rate = 1.0 - p
        if mode == "row":
            size = [input.shape[0]] + [1] * (input.ndim - 1)
        else:
            size = [1] * input.ndim
        noise = T.empty(size, dtype=input.dtype, device=input.device)
        noise.copy_(T.from_numpy(next(draws)[:size[0]].reshape(size) < survival_rate))  # noise.bernoulli_(...)
        if survival_rate > 0.0:
            noise.div_(survival_rate)
        return input * noise

    class StochasticDepth(nn.Module):
        def __init__(self, p, mode):
            super().__init__()
            self.p = p
            self.mode = mode

        def forward(self, input):
            return stochastic_depth(input, self.p, self.mode, self.training)

    def _make_divisible(v, divisor, min_value=None):
        if min_value is None:
            min_value = divisor
        new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
        if new_v < 0.9 * v:
            new_v += divisor
        return new_v

    class Conv2dNormActivation(T.nn.Sequential):
        def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1,
                     norm_layer=T.nn.BatchNorm2d, activation_layer=T.nn.ReLU, dilation=1, inplace=True, bias=None):
            if padding is None:
                padding = (kernel_size - 1) // 2 * dilation
            if bias is None:
                bias = norm_layer is None
            layers = [T.nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                                  groups=groups, bias=bias)]
            if norm_layer is not None:
                layers.append(norm_layer(out_channels))
            if activation_layer is not None:
                params = {} if inplace is None else {"inplace": inplace}
                layers.append(activation_layer(**params))
            super().__init__(*layers)
            self.out_channels = out_channels

    class SqueezeExcitation(T.nn.Module):
        def __init__(self, input_channels, squeeze_channels, activation=T.nn.ReLU, scale_activation=T.nn.Sigmoid):
            super().__init__()
            self.avgpool = T.nn.AdaptiveAvgPool2d(1)
            self.fc1 = T.nn.Conv2d(input_channels, squeeze_channels, 1)
            self.fc2 = T.nn.Conv2d(squeeze_channels, input_channels, 1)
            self.activation = activation()
            self.scale_activation = scale_activation()

        def _scale(self, input):
            scale = self.avgpool(input)
            scale = self.fc1(scale)
            scale = self.activation(scale)
            scale = self.fc2(scale)
            return self.scale_activation(scale)

        def forward(self, input):
            scale = self._scale(input)
            return scale * input

    class InvertedResidualConfig:
        def __init__(self, input_channels, kernel, expanded_channels, out_channels, use_se, activation, stride,
                     dilation, width_mult):
            self.input_channels = self.adjust_channels(input_channels, width_mult)
            self.kernel = kernel
            self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
            self.out_channels = self.adjust_channels(out_channels, width_mult)
            self.use_se = use_se
            self.use_hs = activation == "HS"
            self.stride = stride
            self.dilation = dilation

        @staticmethod
        def adjust_channels(channels, width_mult):
            return _make_divisible(channels * width_mult, 8)

    class InvertedResidual(nn.Module):
        def __init__(self, cnf, norm_layer, se_layer=partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid)):
            super().__init__()
            if not (1 <= cnf.stride <= 2):
                raise ValueError("illegal stride value")
            self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
            layers = []
            activation_layer = nn.Hardswish if cnf.use_hs else nn.ReLU
            if cnf.expanded_channels != cnf.input_channels:
                layers.append(Conv2dNormActivation(cnf.input_channels, cnf.expanded_channels, kernel_size=1,
                                                   norm_layer=norm_layer, activation_layer=activation_layer))
            stride = 1 if cnf.dilation > 1 else cnf.stride
            layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.expanded_channels, kernel_size=cnf.kernel,
                                               stride=stride, dilation=cnf.dilation, groups=cnf.expanded_channels,
                                               norm_layer=norm_layer, activation_layer=activation_layer))
            if cnf.use_se:
                squeeze_channels = _make_divisible(cnf.expanded_channels // 4, 8)
                layers.append(se_layer(cnf.expanded_channels, squeeze_channels))
            layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.out_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=None))
            self.block = nn.Sequential(*layers)
            self.out_channels = cnf.out_channels
            self._is_cn = cnf.stride > 1

        def forward(self, input):
            result = self.block(input)
            if self.use_res_connect:
                result += input
            return result

    class MBConv(nn.Module):
        """EfficientNet's block: expand, depthwise, SE with SiLU, project, stochastic depth on the residual."""
        def __init__(self, input_channels, out_channels, expand_ratio, kernel, stride, stochastic_depth_prob,
                     norm_layer, mode):
            super().__init__()
            self.use_res_connect = stride == 1 and input_channels == out_channels
            layers = []
            activation_layer = nn.SiLU
            expanded_channels = input_channels * expand_ratio
            if expanded_channels != input_channels:
                layers.append(Conv2dNormActivation(input_channels, expanded_channels, kernel_size=1,
                                                   norm_layer=norm_layer, activation_layer=activation_layer))
            layers.append(Conv2dNormActivation(expanded_channels, expanded_channels, kernel_size=kernel,
                                               stride=stride, groups=expanded_channels, norm_layer=norm_layer,
                                               activation_layer=activation_layer))
            squeeze_channels = max(1, input_channels // 4)
            layers.append(SqueezeExcitation(expanded_channels, squeeze_channels, activation=partial(nn.SiLU,
                                                                                                   inplace=True)))
            layers.append(Conv2dNormActivation(expanded_channels, out_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=None))
            self.block = nn.Sequential(*layers)
            self.stochastic_depth = StochasticDepth(stochastic_depth_prob, mode)
            self.out_channels = out_channels

        def forward(self, input):
            result = self.block(input)
            if self.use_res_connect:
                result = self.stochastic_depth(result)
                result += input
            return result

    class TinyNet(nn.Module):
        def __init__(self, num_classes=5):
            super().__init__()
            norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
            bneck_conf = partial(InvertedResidualConfig, width_mult=1.0)
            setting = [bneck_conf(16, 3, 16, 16, True, "RE", 2, 1), bneck_conf(16, 3, 40, 16, False, "RE", 1, 1),
                       bneck_conf(16, 5, 48, 24, True, "HS", 1, 2), bneck_conf(24, 3, 48, 24, True, "HS", 1, 1)]
            layers = [Conv2dNormActivation(3, 16, kernel_size=3, stride=2, norm_layer=norm_layer,
                                           activation_layer=nn.Hardswish)]
            for cnf in setting:
                layers.append(InvertedResidual(cnf, norm_layer))
            layers.append(MBConv(24, 24, 2, 3, 1, 0.5, partial(nn.BatchNorm2d, eps=1e-3), "row"))
            layers.append(MBConv(24, 24, 1, 5, 1, 0.25, norm_layer, "batch"))
            layers.append(Conv2dNormActivation(24, 48, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=nn.Hardswish))
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Linear(48, 32), nn.Hardswish(inplace=True),
                                            nn.Dropout(p=0.0, inplace=True), nn.Linear(32, num_classes))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

        def forward(self, x):
            x = self.features(x)
            x = self.avgpool(x)
            x = T.flatten(x, 1)
            x = self.classifier(x)
            return x

    model = TinyNet()
    if sd is None:
        return _state(model)
    _load(T, model, sd)

    class ExponentialMovingAverage(T.optim.swa_utils.AveragedModel):
        def __init__(self, model, decay, device="cpu"):
            def ema_avg(avg_model_param, model_param, num_averaged):
                return decay * avg_model_param + (1 - decay) * model_param
            super().__init__(model, device, ema_avg, use_buffers=True)

    model_ema = ExponentialMovingAverage(model, decay=0.9)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    parameters = [{"params": [p for n, p in model.named_parameters() if "bn" in n or p.ndim <= 1],
                   "weight_decay": 0.0},
                  {"params": [p for n, p in model.named_parameters() if not ("bn" in n or p.ndim <= 1)]}]
    optimizer = T.optim.RMSprop(parameters, lr=0.01, momentum=0.9, weight_decay=1e-5, eps=0.0316, alpha=0.9)
    lr_scheduler = T.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    out = []
    model.train()
    for image, target in data:
        image, target = T.tensor(image), T.tensor(target)
        output = model(image)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        optimizer.step()
        model_ema.update_parameters(model)
        lr_scheduler.step()
        acc1 = (output.argmax(1) == target).sum().item() / target.shape[0]
        out += [output, loss, acc1, _grads(model)]
    model.eval()
    model_ema.eval()
    with T.inference_mode():
        out += [model(T.tensor(data[0][0])), model_ema(T.tensor(data[0][0]))]
    out += [model.state_dict(), model_ema.state_dict(), lr_scheduler.get_last_lr()]
    return out


# --------------------------------------------------------------------------------------------------------------- ViT
def vit(T, sd, data, keep):
    """timm's VisionTransformer as written there, small: PatchEmbed (a strided conv, flatten(2).transpose), a class
    token and a register token, learned position embeddings resampled by resample_abs_pos_embed (bicubic with
    antialias) for another image size (dynamic_img_size), Attention (qkv reshape / permute / unbind, qk_norm, fused
    scaled_dot_product_attention or the explicit softmax), LayerScale, DropPath (timm's drop_path: new_empty +
    bernoulli_, here copy_ of keep), Mlp with GELU(tanh), avg or token pooling; trunc_normal_ init; timm's
    param_groups_weight_decay with no_weight_decay(); AdamW with SequentialLR(LinearLR warmup, CosineAnnealingLR);
    SoftTargetCrossEntropy on mixed targets; accuracy(topk)."""
    nn = T.nn
    F = T.nn.functional
    draws = iter(keep or [])

    def drop_path(x, drop_prob: float = 0., training: bool = False, scale_by_keep: bool = True):
        if drop_prob == 0. or not training:
            return x
        keep_prob = 1 - drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        random_tensor = x.new_empty(shape).copy_(T.tensor(next(draws)[:x.shape[0]] < keep_prob).view(shape))
        if keep_prob > 0.0 and scale_by_keep:
            random_tensor.div_(keep_prob)
        return x * random_tensor

    class DropPath(nn.Module):
        def __init__(self, drop_prob: float = 0., scale_by_keep: bool = True):
            super(DropPath, self).__init__()
            self.drop_prob = drop_prob
            self.scale_by_keep = scale_by_keep

        def forward(self, x):
            return drop_path(x, self.drop_prob, self.training, self.scale_by_keep)

        def extra_repr(self):
            return f"drop_prob={round(self.drop_prob, 3):0.3f}"

    def resample_abs_pos_embed(posemb, new_size, old_size=None, num_prefix_tokens=1, interpolation="bicubic",
                               antialias=True):
        num_pos_tokens = posemb.shape[1]
        num_new_tokens = new_size[0] * new_size[1] + num_prefix_tokens
        if num_new_tokens == num_pos_tokens and new_size[0] == new_size[1]:
            return posemb
        if old_size is None:
            hw = int(math.sqrt(num_pos_tokens - num_prefix_tokens))
            old_size = hw, hw
        if num_prefix_tokens:
            posemb_prefix, posemb = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
        else:
            posemb_prefix, posemb = None, posemb
        embed_dim = posemb.shape[-1]
        orig_dtype = posemb.dtype
        posemb = posemb.reshape(1, old_size[0], old_size[1], -1).permute(0, 3, 1, 2)
        posemb = F.interpolate(posemb, size=new_size, mode=interpolation, antialias=antialias)
        posemb = posemb.permute(0, 2, 3, 1).reshape(1, -1, embed_dim)
        posemb = posemb.to(orig_dtype)
        if posemb_prefix is not None:
            posemb = T.cat([posemb_prefix, posemb], dim=1)
        return posemb

    class PatchEmbed(nn.Module):
        def __init__(self, img_size=16, patch_size=4, in_chans=3, embed_dim=16, norm_layer=None, flatten=True,
                     bias=True, strict_img_size=True, dynamic_img_pad=False):
            super().__init__()
            self.patch_size = (patch_size, patch_size)
            self.img_size = (img_size, img_size)
            self.grid_size = tuple([s // p for s, p in zip(self.img_size, self.patch_size)])
            self.num_patches = self.grid_size[0] * self.grid_size[1]
            self.flatten = flatten
            self.strict_img_size = strict_img_size
            self.dynamic_img_pad = dynamic_img_pad
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=bias)
            self.norm = norm_layer(embed_dim) if norm_layer else nn.Identity()

        def forward(self, x):
            B, C, H, W = x.shape
            if self.dynamic_img_pad:
                pad_h = (self.patch_size[0] - H % self.patch_size[0]) % self.patch_size[0]
                pad_w = (self.patch_size[1] - W % self.patch_size[1]) % self.patch_size[1]
                x = F.pad(x, (0, pad_w, 0, pad_h))
            x = self.proj(x)
            if self.flatten:
                x = x.flatten(2).transpose(1, 2)  # NCHW -> NLC
            else:
                x = x.permute(0, 2, 3, 1)  # NHWC
            x = self.norm(x)
            return x

    class Attention(nn.Module):
        def __init__(self, dim, num_heads=8, qkv_bias=False, qk_norm=False, attn_drop=0., proj_drop=0.,
                     norm_layer=nn.LayerNorm, fused_attn=True):
            super().__init__()
            assert dim % num_heads == 0, "dim should be divisible by num_heads"
            self.num_heads = num_heads
            self.head_dim = dim // num_heads
            self.scale = self.head_dim ** -0.5
            self.fused_attn = fused_attn
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.q_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
            self.k_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
            self.attn_drop = nn.Dropout(attn_drop)
            self.proj = nn.Linear(dim, dim)
            self.proj_drop = nn.Dropout(proj_drop)

        def forward(self, x):
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            q, k = self.q_norm(q), self.k_norm(k)
            if self.fused_attn:
                x = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop.p if self.training else 0.)
            else:
                q = q * self.scale
                attn = q @ k.transpose(-2, -1)
                attn = attn.softmax(dim=-1)
                attn = self.attn_drop(attn)
                x = attn @ v
            x = x.transpose(1, 2).reshape(B, N, C)
            x = self.proj(x)
            x = self.proj_drop(x)
            return x

    class LayerScale(nn.Module):
        def __init__(self, dim, init_values=1e-5, inplace=False):
            super().__init__()
            self.inplace = inplace
            self.gamma = nn.Parameter(init_values * T.ones(dim))

        def forward(self, x):
            return x.mul_(self.gamma) if self.inplace else x * self.gamma

    class Mlp(nn.Module):
        def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.):
            super().__init__()
            out_features = out_features or in_features
            hidden_features = hidden_features or in_features
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = act_layer()
            self.drop1 = nn.Dropout(drop)
            self.norm = nn.Identity()
            self.fc2 = nn.Linear(hidden_features, out_features)
            self.drop2 = nn.Dropout(drop)

        def forward(self, x):
            x = self.fc1(x)
            x = self.act(x)
            x = self.drop1(x)
            x = self.norm(x)
            x = self.fc2(x)
            x = self.drop2(x)
            return x

    class Block(nn.Module):
        def __init__(self, dim, num_heads, mlp_ratio=4., qkv_bias=False, qk_norm=False, init_values=None,
                     drop_path=0., act_layer=nn.GELU, norm_layer=nn.LayerNorm, fused_attn=True):
            super().__init__()
            self.norm1 = norm_layer(dim)
            self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_norm=qk_norm,
                                  norm_layer=norm_layer, fused_attn=fused_attn)
            self.ls1 = LayerScale(dim, init_values=init_values) if init_values else nn.Identity()
            self.drop_path1 = DropPath(drop_path) if drop_path > 0. else nn.Identity()
            self.norm2 = norm_layer(dim)
            self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), act_layer=act_layer)
            self.ls2 = LayerScale(dim, init_values=init_values, inplace=True) if init_values else nn.Identity()
            self.drop_path2 = DropPath(drop_path) if drop_path > 0. else nn.Identity()

        def forward(self, x):
            x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x))))
            x = x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
            return x

    class VisionTransformer(nn.Module):
        def __init__(self, img_size=16, patch_size=4, in_chans=3, num_classes=5, global_pool="token", embed_dim=16,
                     depth=3, num_heads=2, mlp_ratio=2., qkv_bias=True, qk_norm=False, init_values=0.1,
                     class_token=True, reg_tokens=1, drop_path_rate=0.3, dynamic_img_size=True):
            super().__init__()
            norm_layer = partial(nn.LayerNorm, eps=1e-6)
            act_layer = partial(nn.GELU, approximate="tanh")
            self.num_classes = num_classes
            self.global_pool = global_pool
            self.num_features = self.embed_dim = embed_dim
            self.num_prefix_tokens = 1 if class_token else 0
            self.num_prefix_tokens += reg_tokens
            self.num_reg_tokens = reg_tokens
            self.dynamic_img_size = dynamic_img_size
            self.patch_embed = PatchEmbed(img_size=img_size, patch_size=patch_size, in_chans=in_chans,
                                          embed_dim=embed_dim, bias=True, flatten=not dynamic_img_size,
                                          strict_img_size=not dynamic_img_size)
            num_patches = self.patch_embed.num_patches
            self.cls_token = nn.Parameter(T.zeros(1, 1, embed_dim)) if class_token else None
            self.reg_token = nn.Parameter(T.zeros(1, reg_tokens, embed_dim)) if reg_tokens else None
            self.pos_embed = nn.Parameter(T.randn(1, num_patches, embed_dim) * .02)
            self.pos_drop = nn.Dropout(p=0.)
            dpr = [x.item() for x in T.linspace(0, drop_path_rate, depth)]
            self.blocks = nn.Sequential(*[
                Block(dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, qk_norm=i == 1,
                      init_values=init_values, drop_path=dpr[i], norm_layer=norm_layer, act_layer=act_layer,
                      fused_attn=i != 2)
                for i in range(depth)])
            self.norm = norm_layer(embed_dim)
            self.head = nn.Linear(self.embed_dim, num_classes) if num_classes > 0 else nn.Identity()
            nn.init.trunc_normal_(self.pos_embed, std=.02)
            if self.cls_token is not None:
                nn.init.normal_(self.cls_token, std=1e-6)
            self.apply(self._init_weights)

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

        def no_weight_decay(self):
            return {"pos_embed", "cls_token", "reg_token"}

        def _pos_embed(self, x):
            if self.dynamic_img_size:
                B, H, W, C = x.shape
                pos_embed = resample_abs_pos_embed(self.pos_embed, (H, W), num_prefix_tokens=0)
                x = x.view(B, -1, C)
            else:
                pos_embed = self.pos_embed
            to_cat = []
            if self.cls_token is not None:
                to_cat.append(self.cls_token.expand(x.shape[0], -1, -1))
            if self.reg_token is not None:
                to_cat.append(self.reg_token.expand(x.shape[0], -1, -1))
            x = x + pos_embed
            if to_cat:
                x = T.cat(to_cat + [x], dim=1)
            return self.pos_drop(x)

        def forward_features(self, x):
            x = self.patch_embed(x)
            x = self._pos_embed(x)
            x = self.blocks(x)
            x = self.norm(x)
            return x

        def forward_head(self, x, pre_logits: bool = False):
            if self.global_pool:
                x = x[:, self.num_prefix_tokens:].mean(dim=1) if self.global_pool == "avg" else x[:, 0]
            return x if pre_logits else self.head(x)

        def forward(self, x):
            x = self.forward_features(x)
            x = self.forward_head(x)
            return x

    model = VisionTransformer()
    if sd is None:
        return _state(model)
    _load(T, model, sd)

    def param_groups_weight_decay(model, weight_decay=1e-5, no_weight_decay_list=()):
        no_weight_decay_list = set(no_weight_decay_list)
        decay = []
        no_decay = []
        for name, param in model.named_parameters():
            if not param.requires_grad:
                continue
            if param.ndim <= 1 or name.endswith(".bias") or name in no_weight_decay_list:
                no_decay.append(param)
            else:
                decay.append(param)
        return [{"params": no_decay, "weight_decay": 0.}, {"params": decay, "weight_decay": weight_decay}]

    class SoftTargetCrossEntropy(nn.Module):
        def forward(self, x, target):
            loss = T.sum(-target * F.log_softmax(x, dim=-1), dim=-1)
            return loss.mean()

    def accuracy(output, target, topk=(1,)):
        maxk = min(max(topk), output.size()[1])
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.reshape(1, -1).expand_as(pred))
        return [correct[:min(k, maxk)].reshape(-1).float().sum(0) * 100. / batch_size for k in topk]

    model.blocks[0].attn.proj.weight.requires_grad_(False)  # (a frozen weight is left out of the groups)
    optimizer = T.optim.AdamW(param_groups_weight_decay(model, 0.05, model.no_weight_decay()), lr=1e-3,
                              betas=(0.9, 0.999))
    warmup = T.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=2)
    cosine = T.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4, eta_min=1e-5)
    scheduler = T.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[2])
    criterion = SoftTargetCrossEntropy()
    out = []
    model.train()
    for i, (x, y, lam) in enumerate(data):
        x, y = T.tensor(x), T.tensor(y)
        x_flipped = x.flip(0).mul_(1. - lam)
        x.mul_(lam).add_(x_flipped)  # timm Mixup's mix_batch, elementwise mode
        off_value = 0.1 / 5
        y1 = T.full((y.size()[0], 5), off_value).scatter_(1, y.long().view(-1, 1), 1. - 0.1 + off_value)
        target = y1 * lam + y1.flip(0) * (1. - lam)
        if i == 2:
            model.global_pool = "avg"
        output = model(x)
        loss = criterion(output, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0, norm_type=2.0)
        optimizer.step()
        scheduler.step()
        out += [output, loss, _grads(model), scheduler.get_last_lr()]
    model.eval()
    with T.no_grad():
        big = T.tensor(data[0][0][:, :, :12, :20])  # another size: the position embeddings are resampled
        output = model(big)
        out += [output, accuracy(output, T.tensor(data[0][1]), topk=(1, 5))]
    out.append(model.state_dict())
    return out


# ---------------------------------------------------------------------------------------------------- style transfer
def style_transfer(T, sd, content_img, style_img, num_steps=6):
    """The PyTorch neural-style tutorial (Gatys et al.): a VGG-like feature stack walked by children() into a new
    Sequential with Normalization, ContentLoss / StyleLoss modules (Gram matrices by mm) inserted after chosen
    layers and the tail cut by slicing; the input image optimized by LBFGS with a closure that clamps it in place
    under no_grad; here with a total-variation term added as Johnson et al. do."""
    nn = T.nn
    F = T.nn.functional
    cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1),
                        nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=2, stride=2), nn.Conv2d(8, 12, 3, padding=1),
                        nn.BatchNorm2d(12), nn.ReLU(inplace=True), nn.Conv2d(12, 12, 3, padding=1),
                        nn.ReLU(inplace=True), nn.MaxPool2d(2, 2), nn.Conv2d(12, 16, 3, padding=1))
    if sd is None:
        cnn[6].running_mean.uniform_(-.1, .1)
        cnn[6].running_var.uniform_(.5, 1.5)
        return _state(cnn)
    _load(T, cnn, sd)
    cnn = cnn.eval()
    cnn_normalization_mean = T.tensor([0.485, 0.456, 0.406])
    cnn_normalization_std = T.tensor([0.229, 0.224, 0.225])

    class ContentLoss(nn.Module):
        def __init__(self, target,):
            super(ContentLoss, self).__init__()
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    def gram_matrix(input):
        a, b, c, d = input.size()
        features = input.view(a * b, c * d)
        G = T.mm(features, features.t())
        return G.div(a * b * c * d)

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super(StyleLoss, self).__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            G = gram_matrix(input)
            self.loss = F.mse_loss(G, self.target)
            return input

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super(Normalization, self).__init__()
            self.mean = T.tensor(mean).view(-1, 1, 1)
            self.std = T.tensor(std).view(-1, 1, 1)

        def forward(self, img):
            return (img - self.mean) / self.std

    content_layers_default = ["conv_4"]
    style_layers_default = ["conv_1", "conv_2", "conv_3", "conv_4", "conv_5"]

    def get_style_model_and_losses(cnn, normalization_mean, normalization_std, style_img, content_img,
                                   content_layers=content_layers_default, style_layers=style_layers_default):
        normalization = Normalization(normalization_mean, normalization_std)
        content_losses = []
        style_losses = []
        model = nn.Sequential(normalization)
        i = 0
        for layer in cnn.children():
            if isinstance(layer, nn.Conv2d):
                i += 1
                name = "conv_{}".format(i)
            elif isinstance(layer, nn.ReLU):
                name = "relu_{}".format(i)
                layer = nn.ReLU(inplace=False)
            elif isinstance(layer, nn.MaxPool2d):
                name = "pool_{}".format(i)
            elif isinstance(layer, nn.BatchNorm2d):
                name = "bn_{}".format(i)
            else:
                raise RuntimeError("Unrecognized layer: {}".format(layer.__class__.__name__))
            model.add_module(name, layer)
            if name in content_layers:
                target = model(content_img).detach()
                content_loss = ContentLoss(target)
                model.add_module("content_loss_{}".format(i), content_loss)
                content_losses.append(content_loss)
            if name in style_layers:
                target_feature = model(style_img).detach()
                style_loss = StyleLoss(target_feature)
                model.add_module("style_loss_{}".format(i), style_loss)
                style_losses.append(style_loss)
        for i in range(len(model) - 1, -1, -1):
            if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
                break
        model = model[:(i + 1)]
        return model, style_losses, content_losses

    def get_input_optimizer(input_img):
        optimizer = T.optim.LBFGS([input_img])
        return optimizer

    def total_variation(img):
        return (T.sum(T.abs(img[:, :, :, :-1] - img[:, :, :, 1:])) +
                T.sum(T.abs(img[:, :, :-1, :] - img[:, :, 1:, :])))

    content_img = T.tensor(content_img)
    style_img = T.tensor(style_img)
    input_img = content_img.clone()
    model, style_losses, content_losses = get_style_model_and_losses(
        cnn, cnn_normalization_mean, cnn_normalization_std, style_img, content_img)
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = get_input_optimizer(input_img)
    style_weight, content_weight, tv_weight = 1000, 1, 1e-3
    run = [0]
    scores = []
    while run[0] <= num_steps:
        def closure():
            with T.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0
            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss
            style_score *= style_weight
            content_score *= content_weight
            loss = style_score + content_score + tv_weight * total_variation(input_img)
            loss.backward()
            run[0] += 1
            scores.append([style_score.item(), content_score.item()])
            return style_score + content_score
        optimizer.step(closure)
    with T.no_grad():
        input_img.clamp_(0, 1)
    return [input_img, scores, [str(type(m).__name__) for m in model], optimizer.state_dict()["state"][0]["n_iter"]]


def fast_neural_style(T, sd, images, style):
    """pytorch/examples fast_neural_style: TransformerNet (ReflectionPad2d convs, InstanceNorm2d(affine=True),
    residual blocks, UpsampleConvLayer by interpolate(mode='nearest', scale_factor=2)), a frozen VGG slice returning
    a namedtuple of relu outputs, gram_matrix by bmm, normalize_batch with new_tensor and div_ in place; Adam."""
    from collections import namedtuple
    nn = T.nn

    class ConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride):
            super(ConvLayer, self).__init__()
            reflection_padding = kernel_size // 2
            self.reflection_pad = nn.ReflectionPad2d(reflection_padding)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            out = self.reflection_pad(x)
            out = self.conv2d(out)
            return out

    class ResidualBlock(nn.Module):
        def __init__(self, channels):
            super(ResidualBlock, self).__init__()
            self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in1 = nn.InstanceNorm2d(channels, affine=True)
            self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in2 = nn.InstanceNorm2d(channels, affine=True)
            self.relu = nn.ReLU()

        def forward(self, x):
            residual = x
            out = self.relu(self.in1(self.conv1(x)))
            out = self.in2(self.conv2(out))
            out = out + residual
            return out

    class UpsampleConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
            super(UpsampleConvLayer, self).__init__()
            self.upsample = upsample
            reflection_padding = kernel_size // 2
            self.reflection_pad = nn.ReflectionPad2d(reflection_padding)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            x_in = x
            if self.upsample:
                x_in = nn.functional.interpolate(x_in, mode="nearest", scale_factor=self.upsample)
            out = self.reflection_pad(x_in)
            out = self.conv2d(out)
            return out

    class TransformerNet(nn.Module):
        def __init__(self):
            super(TransformerNet, self).__init__()
            self.conv1 = ConvLayer(3, 4, kernel_size=5, stride=1)
            self.in1 = nn.InstanceNorm2d(4, affine=True)
            self.conv2 = ConvLayer(4, 8, kernel_size=3, stride=2)
            self.in2 = nn.InstanceNorm2d(8, affine=True)
            self.res1 = ResidualBlock(8)
            self.res2 = ResidualBlock(8)
            self.deconv1 = UpsampleConvLayer(8, 4, kernel_size=3, stride=1, upsample=2)
            self.in4 = nn.InstanceNorm2d(4, affine=True)
            self.deconv3 = ConvLayer(4, 3, kernel_size=5, stride=1)
            self.relu = nn.ReLU()

        def forward(self, X):
            y = self.relu(self.in1(self.conv1(X)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.res1(y)
            y = self.res2(y)
            y = self.relu(self.in4(self.deconv1(y)))
            y = self.deconv3(y)
            return y

    class Vgg16(T.nn.Module):
        def __init__(self, requires_grad=False):
            super(Vgg16, self).__init__()
            vgg_pretrained_features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True),
                                                    nn.MaxPool2d(2, 2), nn.Conv2d(6, 8, 3, padding=1),
                                                    nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1),
                                                    nn.ReLU(inplace=True))
            self.slice1 = T.nn.Sequential()
            self.slice2 = T.nn.Sequential()
            for x in range(2):
                self.slice1.add_module(str(x), vgg_pretrained_features[x])
            for x in range(2, 7):
                self.slice2.add_module(str(x), vgg_pretrained_features[x])
            if not requires_grad:
                for param in self.parameters():
                    param.requires_grad = False

        def forward(self, X):
            h = self.slice1(X)
            h_relu1_2 = h
            h = self.slice2(h)
            h_relu2_2 = h
            vgg_outputs = namedtuple("VggOutputs", ["relu1_2", "relu2_2"])
            out = vgg_outputs(h_relu1_2, h_relu2_2)
            return out

    def gram_matrix(y):
        (b, ch, h, w) = y.size()
        features = y.view(b, ch, w * h)
        features_t = features.transpose(1, 2)
        gram = features.bmm(features_t) / (ch * h * w)
        return gram

    def normalize_batch(batch):
        mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
        std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
        batch = batch.div_(255.0)
        return (batch - mean) / std

    transformer = TransformerNet()
    vgg = Vgg16(requires_grad=False)
    if sd is None:
        return [_state(transformer), _state(vgg)]
    _load(T, transformer, sd[0])
    _load(T, vgg, sd[1])
    optimizer = T.optim.Adam(transformer.parameters(), 1e-3)
    mse_loss = T.nn.MSELoss()
    style = T.tensor(style).repeat(2, 1, 1, 1)
    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]
    content_weight, style_weight = 1e5, 1e10
    out = []
    for batch_id, x in enumerate(images):
        x = T.tensor(x)
        n_batch = len(x)
        optimizer.zero_grad()
        y = transformer(x)
        y = normalize_batch(y)
        x = normalize_batch(x)
        features_y = vgg(y)
        features_x = vgg(x)
        content_loss = content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)
        style_loss = 0.
        for ft_y, gm_s in zip(features_y, gram_style):
            gm_y = gram_matrix(ft_y)
            style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
        style_loss *= style_weight
        total_loss = content_loss + style_loss
        total_loss.backward()
        optimizer.step()
        # all gradients in one vector: those of a bias before an InstanceNorm are zero up to rounding, so compared
        # at the scale of the others
        out += [content_loss, style_loss, y, T.cat([g.flatten() for g in _grads(transformer).values()])]
    transformer.eval().cpu()
    with T.no_grad():
        out.append(transformer(T.tensor(images[0][:1])).clamp(0, 255))
    # the biases an InstanceNorm removes get gradients of rounding noise, which Adam scales up to steps of ~lr: left
    # out of the final weights
    out.append({k: v for k, v in transformer.state_dict().items()
                if not (k.endswith("conv2d.bias") and not k.startswith("deconv3")
                        or k.startswith("res") and k.endswith("in2.bias"))})
    return out


# ------------------------------------------------------------------------------------------------------------- DCGAN
def dcgan(T, sd, data, noise):
    """pytorch/examples dcgan/main.py, a 16x16 version: Generator (ConvTranspose2d, BatchNorm2d, ReLU, Tanh),
    Discriminator (Conv2d, LeakyReLU(0.2, inplace=True), BatchNorm2d, Sigmoid), weights_init by class name,
    BCELoss with labels by T.full / fill_, D on fake.detach(), Adam with betas (0.5, 0.999); D(x), D(G(z))."""
    nn = T.nn
    nz, ngf, ndf, nc = 6, 4, 4, 3

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            T.nn.init.normal_(m.weight, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            T.nn.init.normal_(m.weight, 1.0, 0.02)
            T.nn.init.zeros_(m.bias)

    class Generator(nn.Module):
        def __init__(self, ngpu):
            super(Generator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False),
                nn.Tanh())

        def forward(self, input):
            if input.is_cuda and self.ngpu > 1:
                output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
            else:
                output = self.main(input)
            return output

    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super(Discriminator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
                nn.Sigmoid())

        def forward(self, input):
            output = self.main(input)
            return output.view(-1, 1).squeeze(1)

    device = T.device("cpu")
    netG = Generator(1).to(device)
    netG.apply(weights_init)
    netD = Discriminator(1).to(device)
    netD.apply(weights_init)
    if sd is None:
        return [_state(netG), _state(netD)]
    _load(T, netG, sd[0])
    _load(T, netD, sd[1])
    criterion = nn.BCELoss()
    fixed_noise = T.tensor(noise[0])
    real_label = 1
    fake_label = 0
    optimizerD = T.optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = T.optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    out = []
    for i, data_ in enumerate(data):
        netD.zero_grad()
        real_cpu = T.tensor(data_).to(device)
        batch_size = real_cpu.size(0)
        label = T.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise_ = T.tensor(noise[i + 1]).view(batch_size, nz, 1, 1)
        fake = netG(noise_)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        out += [errD, errG, D_x, D_G_z1, D_G_z2, _grads(netG), _grads(netD)]
    fake = netG(fixed_noise)
    out += [fake.detach(), netG.state_dict(), netD.state_dict()]
    return out


# ---------------------------------------------------------------------------------------------------------- StyleGAN2
def stylegan2(T, sd, data, noise):
    """rosinality's stylegan2-pytorch, small: PixelNorm, EqualLinear with lr_mul and fused_leaky_relu (the native
    version), EqualConv2d, ModulatedConv2d (style modulation, demodulation by rsqrt, the grouped-conv trick over the
    batch, upsampling by a grouped conv_transpose2d + Blur by upfirdn2d_native), NoiseInjection, ToRGB with
    Upsample(upfirdn2d), a mapping network with style mixing; the discriminator's ResBlocks with Blur-downsampling
    and the minibatch standard deviation layer; logistic losses by softplus, the lazy R1 penalty by
    autograd.grad(create_graph=True), path-length regularization, requires_grad toggling, accumulate() as EMA."""
    nn = T.nn
    F = T.nn.functional
    autograd = T.autograd
    noises = iter(noise or [])

    def make_kernel(k):
        k = T.tensor(k, dtype=T.get_default_dtype())  # (dtype=torch.float32 there: the runs here are float64)
        if k.ndim == 1:
            k = k[None, :] * k[:, None]
        k /= k.sum()
        return k

    def upfirdn2d_native(input, kernel, up_x, up_y, down_x, down_y, pad_x0, pad_x1, pad_y0, pad_y1):
        _, channel, in_h, in_w = input.shape
        input = input.reshape(-1, in_h, in_w, 1)
        _, in_h, in_w, minor = input.shape
        kernel_h, kernel_w = kernel.shape
        out = input.view(-1, in_h, 1, in_w, 1, minor)
        out = F.pad(out, [0, 0, 0, up_x - 1, 0, 0, 0, up_y - 1])
        out = out.view(-1, in_h * up_y, in_w * up_x, minor)
        out = F.pad(out, [0, 0, max(pad_x0, 0), max(pad_x1, 0), max(pad_y0, 0), max(pad_y1, 0)])
        out = out[:, max(-pad_y0, 0): out.shape[1] - max(-pad_y1, 0),
                  max(-pad_x0, 0): out.shape[2] - max(-pad_x1, 0), :]
        out = out.permute(0, 3, 1, 2)
        out = out.reshape([-1, 1, in_h * up_y + pad_y0 + pad_y1, in_w * up_x + pad_x0 + pad_x1])
        w = T.flip(kernel, [0, 1]).view(1, 1, kernel_h, kernel_w)
        out = F.conv2d(out, w)
        out = out.reshape(-1, minor, in_h * up_y + pad_y0 + pad_y1 - kernel_h + 1,
                          in_w * up_x + pad_x0 + pad_x1 - kernel_w + 1)
        out = out.permute(0, 2, 3, 1)
        out = out[:, ::down_y, ::down_x, :]
        out_h = (in_h * up_y + pad_y0 + pad_y1 - kernel_h + down_y) // down_y
        out_w = (in_w * up_x + pad_x0 + pad_x1 - kernel_w + down_x) // down_x
        return out.view(-1, channel, out_h, out_w)

    def upfirdn2d(input, kernel, up=1, down=1, pad=(0, 0)):
        return upfirdn2d_native(input, kernel, up, up, down, down, pad[0], pad[1], pad[0], pad[1])

    def fused_leaky_relu(input, bias, negative_slope=0.2, scale=2 ** 0.5):
        rest_dim = [1] * (input.ndim - bias.ndim - 1)
        input = input.cuda() if input.is_cuda else input
        return F.leaky_relu(input + bias.view(1, bias.shape[0], *rest_dim), negative_slope=negative_slope) * scale

    class FusedLeakyReLU(nn.Module):
        def __init__(self, channel, bias=True, negative_slope=0.2, scale=2 ** 0.5):
            super().__init__()
            self.bias = nn.Parameter(T.zeros(channel)) if bias else None
            self.negative_slope = negative_slope
            self.scale = scale

        def forward(self, input):
            return fused_leaky_relu(input, self.bias, self.negative_slope, self.scale)

    class PixelNorm(nn.Module):
        def forward(self, input):
            return input * T.rsqrt(T.mean(input ** 2, dim=1, keepdim=True) + 1e-8)

    class Upsample(nn.Module):
        def __init__(self, kernel, factor=2):
            super().__init__()
            self.factor = factor
            kernel = make_kernel(kernel) * (factor ** 2)
            self.register_buffer("kernel", kernel)
            p = kernel.shape[0] - factor
            self.pad = ((p + 1) // 2 + factor - 1, p // 2)

        def forward(self, input):
            return upfirdn2d(input, self.kernel, up=self.factor, down=1, pad=self.pad)

    class Blur(nn.Module):
        def __init__(self, kernel, pad, upsample_factor=1):
            super().__init__()
            kernel = make_kernel(kernel)
            if upsample_factor > 1:
                kernel = kernel * (upsample_factor ** 2)
            self.register_buffer("kernel", kernel)
            self.pad = pad

        def forward(self, input):
            return upfirdn2d(input, self.kernel, pad=self.pad)

    class EqualConv2d(nn.Module):
        def __init__(self, in_channel, out_channel, kernel_size, stride=1, padding=0, bias=True):
            super().__init__()
            self.weight = nn.Parameter(T.randn(out_channel, in_channel, kernel_size, kernel_size))
            self.scale = 1 / math.sqrt(in_channel * kernel_size ** 2)
            self.stride = stride
            self.padding = padding
            self.bias = nn.Parameter(T.zeros(out_channel)) if bias else None

        def forward(self, input):
            return F.conv2d(input, self.weight * self.scale, bias=self.bias, stride=self.stride,
                            padding=self.padding)

    class EqualLinear(nn.Module):
        def __init__(self, in_dim, out_dim, bias=True, bias_init=0, lr_mul=1, activation=None):
            super().__init__()
            self.weight = nn.Parameter(T.randn(out_dim, in_dim).div_(lr_mul))
            self.bias = nn.Parameter(T.zeros(out_dim).fill_(bias_init)) if bias else None
            self.activation = activation
            self.scale = (1 / math.sqrt(in_dim)) * lr_mul
            self.lr_mul = lr_mul

        def forward(self, input):
            if self.activation:
                out = F.linear(input, self.weight * self.scale)
                out = fused_leaky_relu(out, self.bias * self.lr_mul)
            else:
                out = F.linear(input, self.weight * self.scale, bias=self.bias * self.lr_mul)
            return out

    class ModulatedConv2d(nn.Module):
        def __init__(self, in_channel, out_channel, kernel_size, style_dim, demodulate=True, upsample=False,
                     downsample=False, blur_kernel=[1, 3, 3, 1], fused=True):
            super().__init__()
            self.eps = 1e-8
            self.kernel_size = kernel_size
            self.in_channel = in_channel
            self.out_channel = out_channel
            self.upsample = upsample
            self.downsample = downsample
            if upsample:
                factor = 2
                p = (len(blur_kernel) - factor) - (kernel_size - 1)
                pad0 = (p + 1) // 2 + factor - 1
                pad1 = p // 2 + 1
                self.blur = Blur(blur_kernel, pad=(pad0, pad1), upsample_factor=factor)
            fan_in = in_channel * kernel_size ** 2
            self.scale = 1 / math.sqrt(fan_in)
            self.padding = kernel_size // 2
            self.weight = nn.Parameter(T.randn(1, out_channel, in_channel, kernel_size, kernel_size))
            self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)
            self.demodulate = demodulate
            self.fused = fused

        def forward(self, input, style):
            batch, in_channel, height, width = input.shape
            if not self.fused:
                weight = self.scale * self.weight.squeeze(0)
                style = self.modulation(style)
                if self.demodulate:
                    w = weight.unsqueeze(0) * style.view(batch, 1, in_channel, 1, 1)
                    dcoefs = (w.square().sum((2, 3, 4)) + 1e-8).rsqrt()
                input = input * style.reshape(batch, in_channel, 1, 1)
                out = F.conv2d(input, weight, padding=self.padding)
                if self.demodulate:
                    out = out * dcoefs.view(batch, -1, 1, 1)
                return out
            style = self.modulation(style).view(batch, 1, in_channel, 1, 1)
            weight = self.scale * self.weight * style
            if self.demodulate:
                demod = T.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8)
                weight = weight * demod.view(batch, self.out_channel, 1, 1, 1)
            weight = weight.view(batch * self.out_channel, in_channel, self.kernel_size, self.kernel_size)
            if self.upsample:
                input = input.view(1, batch * in_channel, height, width)
                weight = weight.view(batch, self.out_channel, in_channel, self.kernel_size, self.kernel_size)
                weight = weight.transpose(1, 2).reshape(batch * in_channel, self.out_channel, self.kernel_size,
                                                        self.kernel_size)
                out = F.conv_transpose2d(input, weight, padding=0, stride=2, groups=batch)
                _, _, height, width = out.shape
                out = out.view(batch, self.out_channel, height, width)
                out = self.blur(out)
            else:
                input = input.view(1, batch * in_channel, height, width)
                out = F.conv2d(input, weight, padding=self.padding, groups=batch)
                _, _, height, width = out.shape
                out = out.view(batch, self.out_channel, height, width)
            return out

    class NoiseInjection(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(T.zeros(1))

        def forward(self, image, noise=None):
            if noise is None:
                batch, _, height, width = image.shape
                noise = T.tensor(next(noises)[:batch * height * width]).view(batch, 1, height, width)
            return image + self.weight * noise

    class ConstantInput(nn.Module):
        def __init__(self, channel, size=4):
            super().__init__()
            self.input = nn.Parameter(T.randn(1, channel, size, size))

        def forward(self, input):
            batch = input.shape[0]
            out = self.input.repeat(batch, 1, 1, 1)
            return out

    class StyledConv(nn.Module):
        def __init__(self, in_channel, out_channel, kernel_size, style_dim, upsample=False, blur_kernel=[1, 3, 3, 1],
                     demodulate=True, fused=True):
            super().__init__()
            self.conv = ModulatedConv2d(in_channel, out_channel, kernel_size, style_dim, upsample=upsample,
                                        blur_kernel=blur_kernel, demodulate=demodulate, fused=fused)
            self.noise = NoiseInjection()
            self.activate = FusedLeakyReLU(out_channel)

        def forward(self, input, style, noise=None):
            out = self.conv(input, style)
            out = self.noise(out, noise=noise)
            out = self.activate(out)
            return out

    class ToRGB(nn.Module):
        def __init__(self, in_channel, style_dim, upsample=True, blur_kernel=[1, 3, 3, 1]):
            super().__init__()
            if upsample:
                self.upsample = Upsample(blur_kernel)
            self.conv = ModulatedConv2d(in_channel, 3, 1, style_dim, demodulate=False)
            self.bias = nn.Parameter(T.zeros(1, 3, 1, 1))

        def forward(self, input, style, skip=None):
            out = self.conv(input, style)
            out = out + self.bias
            if skip is not None:
                skip = self.upsample(skip)
                out = out + skip
            return out

    class Generator(nn.Module):
        def __init__(self, size=8, style_dim=8, n_mlp=2, channel=6, lr_mlp=0.01):
            super().__init__()
            self.size = size
            self.style_dim = style_dim
            layers = [PixelNorm()]
            for i in range(n_mlp):
                layers.append(EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation="fused_lrelu"))
            self.style = nn.Sequential(*layers)
            self.input = ConstantInput(channel)
            self.conv1 = StyledConv(channel, channel, 3, style_dim)
            self.to_rgb1 = ToRGB(channel, style_dim, upsample=False)
            self.log_size = int(math.log(size, 2))
            self.num_layers = (self.log_size - 2) * 2 + 1
            self.convs = nn.ModuleList()
            self.to_rgbs = nn.ModuleList()
            for i in range(3, self.log_size + 1):
                self.convs.append(StyledConv(channel, channel, 3, style_dim, upsample=True))
                self.convs.append(StyledConv(channel, channel, 3, style_dim, fused=False))
                self.to_rgbs.append(ToRGB(channel, style_dim))
            self.n_latent = self.log_size * 2 - 2

        def forward(self, styles, return_latents=False, inject_index=None, truncation=1, truncation_latent=None,
                    input_is_latent=False, noise=None):
            if not input_is_latent:
                styles = [self.style(s) for s in styles]
            if noise is None:
                noise = [None] * self.num_layers
            if truncation < 1:
                style_t = []
                for style in styles:
                    style_t.append(truncation_latent + truncation * (style - truncation_latent))
                styles = style_t
            if len(styles) < 2:
                inject_index = self.n_latent
                if styles[0].ndim < 3:
                    latent = styles[0].unsqueeze(1).repeat(1, inject_index, 1)
                else:
                    latent = styles[0]
            else:
                if inject_index is None:
                    inject_index = 1
                latent = styles[0].unsqueeze(1).repeat(1, inject_index, 1)
                latent2 = styles[1].unsqueeze(1).repeat(1, self.n_latent - inject_index, 1)
                latent = T.cat([latent, latent2], 1)
            out = self.input(latent)
            out = self.conv1(out, latent[:, 0], noise=noise[0])
            skip = self.to_rgb1(out, latent[:, 1])
            i = 1
            for conv1, conv2, noise1, noise2, to_rgb in zip(self.convs[::2], self.convs[1::2], noise[1::2],
                                                            noise[2::2], self.to_rgbs):
                out = conv1(out, latent[:, i], noise=noise1)
                out = conv2(out, latent[:, i + 1], noise=noise2)
                skip = to_rgb(out, latent[:, i + 2], skip)
                i += 2
            image = skip
            if return_latents:
                return image, latent
            else:
                return image, None

    class ConvLayer(nn.Sequential):
        def __init__(self, in_channel, out_channel, kernel_size, downsample=False, blur_kernel=[1, 3, 3, 1],
                     bias=True, activate=True):
            layers = []
            if downsample:
                factor = 2
                p = (len(blur_kernel) - factor) + (kernel_size - 1)
                pad0 = (p + 1) // 2
                pad1 = p // 2
                layers.append(Blur(blur_kernel, pad=(pad0, pad1)))
                stride = 2
                self.padding = 0
            else:
                stride = 1
                self.padding = kernel_size // 2
            layers.append(EqualConv2d(in_channel, out_channel, kernel_size, padding=self.padding, stride=stride,
                                      bias=bias and not activate))
            if activate:
                layers.append(FusedLeakyReLU(out_channel, bias=bias))
            super().__init__(*layers)

    class ResBlock(nn.Module):
        def __init__(self, in_channel, out_channel, blur_kernel=[1, 3, 3, 1]):
            super().__init__()
            self.conv1 = ConvLayer(in_channel, in_channel, 3)
            self.conv2 = ConvLayer(in_channel, out_channel, 3, downsample=True)
            self.skip = ConvLayer(in_channel, out_channel, 1, downsample=True, activate=False, bias=False)

        def forward(self, input):
            out = self.conv1(input)
            out = self.conv2(out)
            skip = self.skip(input)
            out = (out + skip) / math.sqrt(2)
            return out

    class Discriminator(nn.Module):
        def __init__(self, size=8, channel=6):
            super().__init__()
            convs = [ConvLayer(3, channel, 1)]
            log_size = int(math.log(size, 2))
            for i in range(log_size, 2, -1):
                convs.append(ResBlock(channel, channel))
            self.convs = nn.Sequential(*convs)
            self.stddev_group = 2
            self.stddev_feat = 1
            self.final_conv = ConvLayer(channel + 1, channel, 3)
            self.final_linear = nn.Sequential(EqualLinear(channel * 4 * 4, channel, activation="fused_lrelu"),
                                              EqualLinear(channel, 1))

        def forward(self, input):
            out = self.convs(input)
            batch, channel, height, width = out.shape
            group = min(batch, self.stddev_group)
            stddev = out.view(group, -1, self.stddev_feat, channel // self.stddev_feat, height, width)
            stddev = T.sqrt(stddev.var(0, unbiased=False) + 1e-8)
            stddev = stddev.mean([2, 3, 4], keepdims=True).squeeze(2)
            stddev = stddev.repeat(group, 1, height, width)
            out = T.cat([out, stddev], 1)
            out = self.final_conv(out)
            out = out.view(batch, -1)
            out = self.final_linear(out)
            return out

    generator, discriminator, g_ema = Generator(), Discriminator(), Generator()
    if sd is None:
        return [_state(generator), _state(discriminator)]
    _load(T, generator, sd[0])
    _load(T, discriminator, sd[1])
    _load(T, g_ema, sd[0])
    g_ema.eval()

    def requires_grad(model, flag=True):
        for p in model.parameters():
            p.requires_grad = flag

    def accumulate(model1, model2, decay=0.999):
        par1 = dict(model1.named_parameters())
        par2 = dict(model2.named_parameters())
        for k in par1.keys():
            par1[k].data.mul_(decay).add_(par2[k].data, alpha=1 - decay)

    def d_logistic_loss(real_pred, fake_pred):
        real_loss = F.softplus(-real_pred)
        fake_loss = F.softplus(fake_pred)
        return real_loss.mean() + fake_loss.mean()

    def d_r1_loss(real_pred, real_img):
        grad_real, = autograd.grad(outputs=real_pred.sum(), inputs=real_img, create_graph=True)
        grad_penalty = grad_real.pow(2).reshape(grad_real.shape[0], -1).sum(1).mean()
        return grad_penalty

    def g_nonsaturating_loss(fake_pred):
        loss = F.softplus(-fake_pred).mean()
        return loss

    def g_path_regularize(fake_img, latents, mean_path_length, decay=0.01):
        noise = T.tensor(next(noises)[:fake_img.numel()]).view(fake_img.shape) / math.sqrt(
            fake_img.shape[2] * fake_img.shape[3])
        grad, = autograd.grad(outputs=(fake_img * noise).sum(), inputs=latents, create_graph=True)
        path_lengths = T.sqrt(grad.pow(2).sum(2).mean(1))
        path_mean = mean_path_length + decay * (path_lengths.mean() - mean_path_length)
        path_penalty = (path_lengths - path_mean).pow(2).mean()
        return path_penalty, path_mean.detach(), path_lengths

    def mixing_noise(batch, latent_dim, prob, z):
        if prob > 0 and next(noises)[0] < prob:
            return list(T.tensor(z[:2 * batch * latent_dim]).view(2, batch, latent_dim).unbind(0))
        return [T.tensor(z[:batch * latent_dim]).view(batch, latent_dim)]

    g_reg_every, d_reg_every, r1, path_regularize = 2, 2, 10, 2
    g_reg_ratio = g_reg_every / (g_reg_every + 1)
    d_reg_ratio = d_reg_every / (d_reg_every + 1)
    g_optim = T.optim.Adam(generator.parameters(), lr=0.002 * g_reg_ratio, betas=(0 ** g_reg_ratio,
                                                                                  0.99 ** g_reg_ratio))
    d_optim = T.optim.Adam(discriminator.parameters(), lr=0.002 * d_reg_ratio, betas=(0 ** d_reg_ratio,
                                                                                      0.99 ** d_reg_ratio))
    mean_path_length = 0
    accum = 0.5 ** (32 / (10 * 1000))
    out = []
    batch, latent = 2, 8
    for i, real_img in enumerate(data):
        real_img = T.tensor(real_img)
        requires_grad(generator, False)
        requires_grad(discriminator, True)
        noise_ = mixing_noise(batch, latent, 0.9, next(noises))
        fake_img, _ = generator(noise_)
        fake_pred = discriminator(fake_img)
        real_pred = discriminator(real_img)
        d_loss = d_logistic_loss(real_pred, fake_pred)
        discriminator.zero_grad()
        d_loss.backward()
        d_optim.step()
        out += [d_loss, fake_img, _grads(discriminator)]
        d_regularize = i % d_reg_every == 0
        if d_regularize:
            real_img.requires_grad = True
            real_pred = discriminator(real_img)
            r1_loss = d_r1_loss(real_pred, real_img)
            discriminator.zero_grad()
            (r1 / 2 * r1_loss * d_reg_every + 0 * real_pred[0]).backward()
            d_optim.step()
            out += [r1_loss, _grads(discriminator)]
        requires_grad(generator, True)
        requires_grad(discriminator, False)
        noise_ = mixing_noise(batch, latent, 0.9, next(noises))
        fake_img, _ = generator(noise_)
        fake_pred = discriminator(fake_img)
        g_loss = g_nonsaturating_loss(fake_pred)
        generator.zero_grad()
        g_loss.backward()
        g_optim.step()
        out += [g_loss, _grads(generator)]
        g_regularize = i % g_reg_every == 0
        if g_regularize:
            path_batch_size = max(1, batch // 2)
            noise_ = mixing_noise(path_batch_size, latent, 0.9, next(noises))
            fake_img, latents = generator(noise_, return_latents=True)
            path_loss, mean_path_length, path_lengths = g_path_regularize(fake_img, latents, mean_path_length)
            generator.zero_grad()
            weighted_path_loss = path_regularize * g_reg_every * path_loss
            weighted_path_loss += 0 * fake_img[0, 0, 0, 0]
            weighted_path_loss.backward()
            g_optim.step()
            out += [path_loss, mean_path_length, path_lengths, _grads(generator)]
        accumulate(g_ema, generator, accum)
    with T.no_grad():
        sample_z = T.tensor(next(noises)[:2 * latent]).view(2, latent)
        mean_latent = g_ema.style(T.tensor(next(noises)[:4 * latent]).view(4, latent)).mean(0, keepdim=True)
        sample, _ = g_ema([sample_z], truncation=0.7, truncation_latent=mean_latent, noise=[T.zeros(2, 1, 4, 4)]
                          + [T.zeros(2, 1, 8, 8)] * 2)
    out += [sample, generator.state_dict(), discriminator.state_dict(), g_ema.state_dict()]
    return out


# -------------------------------------------------------------------------------------------------------- DeepLabV3
def deeplab(T, sd, data):
    """torchvision's DeepLabV3 as written there (IntermediateLayerGetter over a small dilated ResNet-like backbone,
    ASPP with dilated convs and the image-pooling branch upsampled bilinearly, DeepLabHead, FCNHead as the aux
    classifier, _SimpleSegmentationModel's interpolate back to the input size) and the segmentation reference's
    criterion (cross entropy with ignore_index=255, 0.5 aux), SGD with an aux group at 10x lr, LinearLR warmup then
    PolynomialLR in SequentialLR, and its ConfusionMatrix (bincount, diag) for the mean IoU."""
    from collections import OrderedDict
    nn = T.nn
    F = T.nn.functional

    class IntermediateLayerGetter(nn.ModuleDict):
        _version = 2

        def __init__(self, model, return_layers):
            if not set(return_layers).issubset([name for name, _ in model.named_children()]):
                raise ValueError("return_layers are not present in model")
            orig_return_layers = return_layers
            return_layers = {str(k): str(v) for k, v in return_layers.items()}
            layers = OrderedDict()
            for name, module in model.named_children():
                layers[name] = module
                if name in return_layers:
                    del return_layers[name]
                if not return_layers:
                    break
            super().__init__(layers)
            self.return_layers = orig_return_layers

        def forward(self, x):
            out = OrderedDict()
            for name, module in self.items():
                x = module(x)
                if name in self.return_layers:
                    out_name = self.return_layers[name]
                    out[out_name] = x
            return out

    class Bottleneck(nn.Module):
        expansion = 2

        def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, padding=dilation, dilation=dilation, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * self.expansion)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            out = self.relu(out)
            return out

    class ResNet(nn.Module):
        def __init__(self, replace_stride_with_dilation=(False, True, True)):
            super().__init__()
            self.inplanes, self.dilation = 8, 1
            self.conv1 = nn.Conv2d(3, 8, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(4, 1)
            self.layer2 = self._make_layer(4, 1, stride=2, dilate=replace_stride_with_dilation[0])
            self.layer3 = self._make_layer(6, 1, stride=2, dilate=replace_stride_with_dilation[1])
            self.layer4 = self._make_layer(6, 1, stride=2, dilate=replace_stride_with_dilation[2])
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(12, 10)

        def _make_layer(self, planes, blocks, stride=1, dilate=False):
            downsample = None
            previous_dilation = self.dilation
            if dilate:
                self.dilation *= stride
                stride = 1
            if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
                downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride,
                                                     bias=False), nn.BatchNorm2d(planes * Bottleneck.expansion))
            layers = [Bottleneck(self.inplanes, planes, stride, downsample, previous_dilation)]
            self.inplanes = planes * Bottleneck.expansion
            for _ in range(1, blocks):
                layers.append(Bottleneck(self.inplanes, planes, dilation=self.dilation))
            return nn.Sequential(*layers)

    class ASPPConv(nn.Sequential):
        def __init__(self, in_channels, out_channels, dilation):
            modules = [nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False),
                       nn.BatchNorm2d(out_channels), nn.ReLU()]
            super().__init__(*modules)

    class ASPPPooling(nn.Sequential):
        def __init__(self, in_channels, out_channels):
            super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1, bias=False),
                             nn.BatchNorm2d(out_channels), nn.ReLU())

        def forward(self, x):
            size = x.shape[-2:]
            for mod in self:
                x = mod(x)
            return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    class ASPP(nn.Module):
        def __init__(self, in_channels, atrous_rates, out_channels=256):
            super().__init__()
            modules = []
            modules.append(nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                         nn.BatchNorm2d(out_channels), nn.ReLU()))
            rates = tuple(atrous_rates)
            for rate in rates:
                modules.append(ASPPConv(in_channels, out_channels, rate))
            modules.append(ASPPPooling(in_channels, out_channels))
            self.convs = nn.ModuleList(modules)
            self.project = nn.Sequential(nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
                                         nn.BatchNorm2d(out_channels), nn.ReLU(), nn.Dropout(0.5))

        def forward(self, x):
            _res = []
            for conv in self.convs:
                _res.append(conv(x))
            res = T.cat(_res, dim=1)
            return self.project(res)

    class DeepLabHead(nn.Sequential):
        def __init__(self, in_channels, num_classes, atrous_rates=(12, 24, 36), width=8):
            super().__init__(ASPP(in_channels, atrous_rates, width), nn.Conv2d(width, width, 3, padding=1, bias=False),
                             nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, num_classes, 1))

    class FCNHead(nn.Sequential):
        def __init__(self, in_channels, channels):
            inter_channels = in_channels // 4
            layers = [nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
                      nn.BatchNorm2d(inter_channels), nn.ReLU(), nn.Dropout(0.1),
                      nn.Conv2d(inter_channels, channels, 1)]
            super().__init__(*layers)

    class _SimpleSegmentationModel(nn.Module):
        __constants__ = ["aux_classifier"]

        def __init__(self, backbone, classifier, aux_classifier=None):
            super().__init__()
            self.backbone = backbone
            self.classifier = classifier
            self.aux_classifier = aux_classifier

        def forward(self, x):
            input_shape = x.shape[-2:]
            features = self.backbone(x)
            result = OrderedDict()
            x = features["out"]
            x = self.classifier(x)
            x = F.interpolate(x, size=input_shape, mode="bilinear", align_corners=False)
            result["out"] = x
            if self.aux_classifier is not None:
                x = features["aux"]
                x = self.aux_classifier(x)
                x = F.interpolate(x, size=input_shape, mode="bilinear", align_corners=False)
                result["aux"] = x
            return result

    num_classes = 4
    backbone = IntermediateLayerGetter(ResNet(), return_layers={"layer4": "out", "layer3": "aux"})
    model = _SimpleSegmentationModel(backbone, DeepLabHead(12, num_classes, (1, 2, 3)), FCNHead(12, num_classes))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    for m in model.modules():  # (the dropouts off: their masks are random)
        if isinstance(m, nn.Dropout):
            m.p = 0.0

    def criterion(inputs, target):
        losses = {}
        for name, x in inputs.items():
            losses[name] = nn.functional.cross_entropy(x, target, ignore_index=255)
        if len(losses) == 1:
            return losses["out"]
        return losses["out"] + 0.5 * losses["aux"]

    class ConfusionMatrix:
        def __init__(self, num_classes):
            self.num_classes = num_classes
            self.mat = None

        def update(self, a, b):
            n = self.num_classes
            if self.mat is None:
                self.mat = T.zeros((n, n), dtype=T.int64, device=a.device)
            with T.inference_mode():
                k = (a >= 0) & (a < n)
                inds = n * a[k].to(T.int64) + b[k]
                self.mat += T.bincount(inds, minlength=n**2).reshape(n, n)

        def compute(self):
            h = self.mat.double()
            acc_global = T.diag(h).sum() / h.sum()
            acc = T.diag(h) / h.sum(1)
            iu = T.diag(h) / (h.sum(1) + h.sum(0) - T.diag(h))
            return acc_global, acc, iu

    lr = 0.02
    params_to_optimize = [{"params": [p for p in model.backbone.parameters() if p.requires_grad]},
                          {"params": [p for p in model.classifier.parameters() if p.requires_grad]}]
    params = [p for p in model.aux_classifier.parameters() if p.requires_grad]
    params_to_optimize.append({"params": params, "lr": lr * 10})
    optimizer = T.optim.SGD(params_to_optimize, lr=lr, momentum=0.9, weight_decay=1e-4)
    iters_per_epoch, epochs, warmup_iters = len(data), 3, 2
    main_lr_scheduler = T.optim.lr_scheduler.PolynomialLR(optimizer,
                                                          total_iters=iters_per_epoch * epochs - warmup_iters,
                                                          power=0.9)
    warmup_lr_scheduler = T.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=warmup_iters)
    lr_scheduler = T.optim.lr_scheduler.SequentialLR(optimizer, schedulers=[warmup_lr_scheduler, main_lr_scheduler],
                                                     milestones=[warmup_iters])
    out = []
    for epoch in range(epochs):
        model.train()
        for image, target in data:
            image, target = T.tensor(image), T.tensor(target)
            output = model(image)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            lr_scheduler.step()
            out += [loss, optimizer.param_groups[0]["lr"], optimizer.param_groups[2]["lr"]]
        out.append(_grads(model))
    model.eval()
    confmat = ConfusionMatrix(num_classes)
    with T.inference_mode():
        for image, target in data:
            image, target = T.tensor(image), T.tensor(target)
            output = model(image)
            output = output["out"]
            out.append(output)
            confmat.update(target.flatten(), output.argmax(1).flatten())
    out += [list(confmat.compute()), confmat.mat, model.state_dict()]
    return out


# --------------------------------------------------------------------------------------------------------- RetinaNet
def retinanet(T, sd, images, targets, loss_type):
    """torchvision's RetinaNet pieces as written there: FeaturePyramidNetwork with LastLevelP6P7 (lateral 1x1,
    nearest top-down interpolate to the lateral's size), AnchorGenerator (rounded cell anchors, int32 shifts by
    meshgrid times int64 0-d strides), BoxCoder encode / decode (log / exp, clamp to bbox_xform_clip), box_iou,
    the Matcher with low-quality matches (torch.where of the best per ground truth), the classification head's
    sigmoid_focal_loss over valid anchors and the regression head's smooth-l1 (beta 1/9) or GIoU loss; the prior
    bias init; postprocess_detections (score threshold, topk, floor division, clip_boxes_to_image) and batched_nms by
    the coordinate-offset trick over an nms written in Python (argsort + box_iou)."""
    from collections import OrderedDict
    nn = T.nn
    F = T.nn.functional

    # ----- torchvision.ops.boxes
    def box_area(boxes):
        return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])

    def _upcast(t):
        if t.is_floating_point():
            return t if t.dtype in (T.float32, T.float64) else t.float()
        else:
            return t if t.dtype in (T.int32, T.int64) else t.int()

    def _box_inter_union(boxes1, boxes2):
        area1 = box_area(boxes1)
        area2 = box_area(boxes2)
        lt = T.max(boxes1[:, None, :2], boxes2[:, :2])
        rb = T.min(boxes1[:, None, 2:], boxes2[:, 2:])
        wh = _upcast(rb - lt).clamp(min=0)
        inter = wh[:, :, 0] * wh[:, :, 1]
        union = area1[:, None] + area2 - inter
        return inter, union

    def box_iou(boxes1, boxes2):
        inter, union = _box_inter_union(boxes1, boxes2)
        iou = inter / union
        return iou

    def nms(boxes, scores, iou_threshold):
        order = scores.argsort(descending=True)
        keep = []
        while order.numel() > 0:
            i = order[0]
            keep.append(i)
            if order.numel() == 1:
                break
            iou = box_iou(boxes[i].unsqueeze(0), boxes[order[1:]]).squeeze(0)
            order = order[1:][iou <= iou_threshold]
        return T.stack(keep) if keep else T.empty((0,), dtype=T.int64)

    def batched_nms(boxes, scores, idxs, iou_threshold):
        if boxes.numel() == 0:
            return T.empty((0,), dtype=T.int64, device=boxes.device)
        max_coordinate = boxes.max()
        offsets = idxs.to(boxes) * (max_coordinate + T.tensor(1).to(boxes))
        boxes_for_nms = boxes + offsets[:, None]
        keep = nms(boxes_for_nms, scores, iou_threshold)
        return keep

    def clip_boxes_to_image(boxes, size):
        dim = boxes.dim()
        boxes_x = boxes[..., 0::2]
        boxes_y = boxes[..., 1::2]
        height, width = size
        boxes_x = boxes_x.clamp(min=0, max=width)
        boxes_y = boxes_y.clamp(min=0, max=height)
        clipped_boxes = T.stack((boxes_x, boxes_y), dim=dim)
        return clipped_boxes.reshape(boxes.shape)

    def _loss_inter_union(boxes1, boxes2):
        x1, y1, x2, y2 = boxes1.unbind(dim=-1)
        x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
        xkis1 = T.max(x1, x1g)
        ykis1 = T.max(y1, y1g)
        xkis2 = T.min(x2, x2g)
        ykis2 = T.min(y2, y2g)
        intsctk = T.zeros_like(x1)
        mask = (ykis2 > ykis1) & (xkis2 > xkis1)
        intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
        unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
        return intsctk, unionk

    def generalized_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
        boxes1 = _upcast(boxes1)
        boxes2 = _upcast(boxes2)
        intsctk, unionk = _loss_inter_union(boxes1, boxes2)
        iouk = intsctk / (unionk + eps)
        x1, y1, x2, y2 = boxes1.unbind(dim=-1)
        x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
        xc1 = T.min(x1, x1g)
        yc1 = T.min(y1, y1g)
        xc2 = T.max(x2, x2g)
        yc2 = T.max(y2, y2g)
        area_c = (xc2 - xc1) * (yc2 - yc1)
        miouk = iouk - ((area_c - unionk) / (area_c + eps))
        loss = 1 - miouk
        if reduction == "none":
            pass
        elif reduction == "mean":
            loss = loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
        elif reduction == "sum":
            loss = loss.sum()
        return loss

    def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
        p = T.sigmoid(inputs)
        ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce_loss * ((1 - p_t) ** gamma)
        if alpha >= 0:
            alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
            loss = alpha_t * loss
        if reduction == "none":
            pass
        elif reduction == "mean":
            loss = loss.mean()
        elif reduction == "sum":
            loss = loss.sum()
        return loss

    # ----- torchvision.models.detection._utils
    def encode_boxes(reference_boxes, proposals, weights):
        wx, wy, ww, wh = weights[0], weights[1], weights[2], weights[3]
        proposals_x1 = proposals[:, 0].unsqueeze(1)
        proposals_y1 = proposals[:, 1].unsqueeze(1)
        proposals_x2 = proposals[:, 2].unsqueeze(1)
        proposals_y2 = proposals[:, 3].unsqueeze(1)
        reference_boxes_x1 = reference_boxes[:, 0].unsqueeze(1)
        reference_boxes_y1 = reference_boxes[:, 1].unsqueeze(1)
        reference_boxes_x2 = reference_boxes[:, 2].unsqueeze(1)
        reference_boxes_y2 = reference_boxes[:, 3].unsqueeze(1)
        ex_widths = proposals_x2 - proposals_x1
        ex_heights = proposals_y2 - proposals_y1
        ex_ctr_x = proposals_x1 + 0.5 * ex_widths
        ex_ctr_y = proposals_y1 + 0.5 * ex_heights
        gt_widths = reference_boxes_x2 - reference_boxes_x1
        gt_heights = reference_boxes_y2 - reference_boxes_y1
        gt_ctr_x = reference_boxes_x1 + 0.5 * gt_widths
        gt_ctr_y = reference_boxes_y1 + 0.5 * gt_heights
        targets_dx = wx * (gt_ctr_x - ex_ctr_x) / ex_widths
        targets_dy = wy * (gt_ctr_y - ex_ctr_y) / ex_heights
        targets_dw = ww * T.log(gt_widths / ex_widths)
        targets_dh = wh * T.log(gt_heights / ex_heights)
        targets = T.cat((targets_dx, targets_dy, targets_dw, targets_dh), dim=1)
        return targets

    class BoxCoder:
        def __init__(self, weights, bbox_xform_clip=math.log(1000.0 / 16)):
            self.weights = weights
            self.bbox_xform_clip = bbox_xform_clip

        def encode_single(self, reference_boxes, proposals):
            dtype = reference_boxes.dtype
            device = reference_boxes.device
            weights = T.as_tensor(self.weights, dtype=dtype, device=device)
            targets = encode_boxes(reference_boxes, proposals, weights)
            return targets

        def decode_single(self, rel_codes, boxes):
            boxes = boxes.to(rel_codes.dtype)
            widths = boxes[:, 2] - boxes[:, 0]
            heights = boxes[:, 3] - boxes[:, 1]
            ctr_x = boxes[:, 0] + 0.5 * widths
            ctr_y = boxes[:, 1] + 0.5 * heights
            wx, wy, ww, wh = self.weights
            dx = rel_codes[:, 0::4] / wx
            dy = rel_codes[:, 1::4] / wy
            dw = rel_codes[:, 2::4] / ww
            dh = rel_codes[:, 3::4] / wh
            dw = T.clamp(dw, max=self.bbox_xform_clip)
            dh = T.clamp(dh, max=self.bbox_xform_clip)
            pred_ctr_x = dx * widths[:, None] + ctr_x[:, None]
            pred_ctr_y = dy * heights[:, None] + ctr_y[:, None]
            pred_w = T.exp(dw) * widths[:, None]
            pred_h = T.exp(dh) * heights[:, None]
            c_to_c_h = T.tensor(0.5, dtype=pred_ctr_y.dtype, device=pred_h.device) * pred_h
            c_to_c_w = T.tensor(0.5, dtype=pred_ctr_x.dtype, device=pred_w.device) * pred_w
            pred_boxes1 = pred_ctr_x - c_to_c_w
            pred_boxes2 = pred_ctr_y - c_to_c_h
            pred_boxes3 = pred_ctr_x + c_to_c_w
            pred_boxes4 = pred_ctr_y + c_to_c_h
            pred_boxes = T.stack((pred_boxes1, pred_boxes2, pred_boxes3, pred_boxes4), dim=2).flatten(1)
            return pred_boxes

    class Matcher:
        BELOW_LOW_THRESHOLD = -1
        BETWEEN_THRESHOLDS = -2

        def __init__(self, high_threshold, low_threshold, allow_low_quality_matches=False):
            self.BELOW_LOW_THRESHOLD = -1
            self.BETWEEN_THRESHOLDS = -2
            if low_threshold > high_threshold:
                raise ValueError("low_threshold should be <= high_threshold")
            self.high_threshold = high_threshold
            self.low_threshold = low_threshold
            self.allow_low_quality_matches = allow_low_quality_matches

        def __call__(self, match_quality_matrix):
            if match_quality_matrix.numel() == 0:
                raise ValueError("No ground-truth boxes available for one of the images during training")
            matched_vals, matches = match_quality_matrix.max(dim=0)
            if self.allow_low_quality_matches:
                all_matches = matches.clone()
            else:
                all_matches = None
            below_low_threshold = matched_vals < self.low_threshold
            between_thresholds = (matched_vals >= self.low_threshold) & (matched_vals < self.high_threshold)
            matches[below_low_threshold] = self.BELOW_LOW_THRESHOLD
            matches[between_thresholds] = self.BETWEEN_THRESHOLDS
            if self.allow_low_quality_matches:
                self.set_low_quality_matches_(matches, all_matches, match_quality_matrix)
            return matches

        def set_low_quality_matches_(self, matches, all_matches, match_quality_matrix):
            highest_quality_foreach_gt, _ = match_quality_matrix.max(dim=1)
            gt_pred_pairs_of_highest_quality = T.where(match_quality_matrix == highest_quality_foreach_gt[:, None])
            pred_inds_to_update = gt_pred_pairs_of_highest_quality[1]
            matches[pred_inds_to_update] = all_matches[pred_inds_to_update]

    class AnchorGenerator(nn.Module):
        def __init__(self, sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),)):
            super().__init__()
            self.sizes = sizes
            self.aspect_ratios = aspect_ratios
            self.cell_anchors = [self.generate_anchors(size, aspect_ratio)
                                 for size, aspect_ratio in zip(sizes, aspect_ratios)]

        def generate_anchors(self, scales, aspect_ratios, dtype=T.float32, device=T.device("cpu")):
            scales = T.as_tensor(scales, dtype=dtype, device=device)
            aspect_ratios = T.as_tensor(aspect_ratios, dtype=dtype, device=device)
            h_ratios = T.sqrt(aspect_ratios)
            w_ratios = 1 / h_ratios
            ws = (w_ratios[:, None] * scales[None, :]).view(-1)
            hs = (h_ratios[:, None] * scales[None, :]).view(-1)
            base_anchors = T.stack([-ws, -hs, ws, hs], dim=1) / 2
            return base_anchors.round()

        def set_cell_anchors(self, dtype, device):
            self.cell_anchors = [cell_anchor.to(dtype=dtype, device=device) for cell_anchor in self.cell_anchors]

        def num_anchors_per_location(self):
            return [len(s) * len(a) for s, a in zip(self.sizes, self.aspect_ratios)]

        def grid_anchors(self, grid_sizes, strides):
            anchors = []
            cell_anchors = self.cell_anchors
            for size, stride, base_anchors in zip(grid_sizes, strides, cell_anchors):
                grid_height, grid_width = size
                stride_height, stride_width = stride
                device = base_anchors.device
                shifts_x = T.arange(0, grid_width, dtype=T.int32, device=device) * stride_width
                shifts_y = T.arange(0, grid_height, dtype=T.int32, device=device) * stride_height
                shift_y, shift_x = T.meshgrid(shifts_y, shifts_x, indexing="ij")
                shift_x = shift_x.reshape(-1)
                shift_y = shift_y.reshape(-1)
                shifts = T.stack((shift_x, shift_y, shift_x, shift_y), dim=1)
                anchors.append((shifts.view(-1, 1, 4) + base_anchors.view(1, -1, 4)).reshape(-1, 4))
            return anchors

        def forward(self, image_tensors, feature_maps):
            grid_sizes = [feature_map.shape[-2:] for feature_map in feature_maps]
            image_size = image_tensors.shape[-2:]
            dtype, device = feature_maps[0].dtype, feature_maps[0].device
            strides = [[T.empty((), dtype=T.int64, device=device).fill_(image_size[0] // g[0]),
                        T.empty((), dtype=T.int64, device=device).fill_(image_size[1] // g[1])] for g in grid_sizes]
            self.set_cell_anchors(dtype, device)
            anchors_over_all_feature_maps = self.grid_anchors(grid_sizes, strides)
            anchors = []
            for _ in range(image_tensors.shape[0]):
                anchors_in_image = [anchors_per_feature_map
                                    for anchors_per_feature_map in anchors_over_all_feature_maps]
                anchors.append(anchors_in_image)
            anchors = [T.cat(anchors_per_image) for anchors_per_image in anchors]
            return anchors

    # ----- torchvision.ops.feature_pyramid_network
    class LastLevelP6P7(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.p6 = nn.Conv2d(in_channels, out_channels, 3, 2, 1)
            self.p7 = nn.Conv2d(out_channels, out_channels, 3, 2, 1)
            for module in [self.p6, self.p7]:
                nn.init.kaiming_uniform_(module.weight, a=1)
                nn.init.constant_(module.bias, 0)
            self.use_P5 = in_channels == out_channels

        def forward(self, p, c, names):
            p5, c5 = p[-1], c[-1]
            x = p5 if self.use_P5 else c5
            p6 = self.p6(x)
            p7 = self.p7(F.relu(p6))
            p.extend([p6, p7])
            names.extend(["p6", "p7"])
            return p, names

    class FeaturePyramidNetwork(nn.Module):
        def __init__(self, in_channels_list, out_channels, extra_blocks=None):
            super().__init__()
            self.inner_blocks = nn.ModuleList()
            self.layer_blocks = nn.ModuleList()
            for in_channels in in_channels_list:
                self.inner_blocks.append(nn.Conv2d(in_channels, out_channels, 1))
                self.layer_blocks.append(nn.Conv2d(out_channels, out_channels, 3, padding=1))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_uniform_(m.weight, a=1)
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
            self.extra_blocks = extra_blocks

        def get_result_from_inner_blocks(self, x, idx):
            num_blocks = len(self.inner_blocks)
            if idx < 0:
                idx += num_blocks
            out = x
            for i, module in enumerate(self.inner_blocks):
                if i == idx:
                    out = module(x)
            return out

        def get_result_from_layer_blocks(self, x, idx):
            num_blocks = len(self.layer_blocks)
            if idx < 0:
                idx += num_blocks
            out = x
            for i, module in enumerate(self.layer_blocks):
                if i == idx:
                    out = module(x)
            return out

        def forward(self, x):
            names = list(x.keys())
            x = list(x.values())
            last_inner = self.get_result_from_inner_blocks(x[-1], -1)
            results = []
            results.append(self.get_result_from_layer_blocks(last_inner, -1))
            for idx in range(len(x) - 2, -1, -1):
                inner_lateral = self.get_result_from_inner_blocks(x[idx], idx)
                feat_shape = inner_lateral.shape[-2:]
                inner_top_down = F.interpolate(last_inner, size=feat_shape, mode="nearest")
                last_inner = inner_lateral + inner_top_down
                results.insert(0, self.get_result_from_layer_blocks(last_inner, idx))
            if self.extra_blocks is not None:
                results, names = self.extra_blocks(results, x, names)
            out = OrderedDict([(k, v) for k, v in zip(names, results)])
            return out

    # ----- the model
    class Backbone(nn.Module):
        def __init__(self, out_channels=8):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, 2, 1))
            self.layer2 = nn.Sequential(nn.Conv2d(4, 6, 3, 2, 1), nn.BatchNorm2d(6), nn.ReLU(inplace=True))
            self.layer3 = nn.Sequential(nn.Conv2d(6, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
            self.layer4 = nn.Sequential(nn.Conv2d(8, 10, 3, 2, 1), nn.BatchNorm2d(10), nn.ReLU(inplace=True))
            self.fpn = FeaturePyramidNetwork([6, 8, 10], out_channels, extra_blocks=LastLevelP6P7(out_channels,
                                                                                                   out_channels))
            self.out_channels = out_channels

        def forward(self, x):
            c2 = self.stem(x)
            c3 = self.layer2(c2)
            c4 = self.layer3(c3)
            c5 = self.layer4(c4)
            return self.fpn(OrderedDict([("0", c3), ("1", c4), ("2", c5)]))

    class RetinaNetClassificationHead(nn.Module):
        def __init__(self, in_channels, num_anchors, num_classes, prior_probability=0.01):
            super().__init__()
            conv = []
            for _ in range(2):
                conv.append(nn.Sequential(nn.Conv2d(in_channels, in_channels, 3, padding=1),
                                          nn.GroupNorm(4, in_channels), nn.ReLU(inplace=True)))
            self.conv = nn.Sequential(*conv)
            for layer in self.conv.modules():
                if isinstance(layer, nn.Conv2d):
                    nn.init.normal_(layer.weight, std=0.01)
                    if layer.bias is not None:
                        nn.init.constant_(layer.bias, 0)
            self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3, stride=1, padding=1)
            nn.init.normal_(self.cls_logits.weight, std=0.01)
            nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior_probability) / prior_probability))
            self.num_classes = num_classes
            self.num_anchors = num_anchors
            self.BETWEEN_THRESHOLDS = Matcher.BETWEEN_THRESHOLDS

        def compute_loss(self, targets, head_outputs, matched_idxs):
            losses = []
            cls_logits = head_outputs["cls_logits"]
            for targets_per_image, cls_logits_per_image, matched_idxs_per_image in zip(targets, cls_logits,
                                                                                     matched_idxs):
                foreground_idxs_per_image = matched_idxs_per_image >= 0
                num_foreground = foreground_idxs_per_image.sum()
                gt_classes_target = T.zeros_like(cls_logits_per_image)
                gt_classes_target[foreground_idxs_per_image,
                                  targets_per_image["labels"][matched_idxs_per_image[foreground_idxs_per_image]]] = 1.0
                valid_idxs_per_image = matched_idxs_per_image != self.BETWEEN_THRESHOLDS
                losses.append(sigmoid_focal_loss(cls_logits_per_image[valid_idxs_per_image],
                                                 gt_classes_target[valid_idxs_per_image],
                                                 reduction="sum") / max(1, num_foreground))
            return sum(losses) / len(targets)

        def forward(self, x):
            all_cls_logits = []
            for features in x:
                cls_logits = self.conv(features)
                cls_logits = self.cls_logits(cls_logits)
                N, _, H, W = cls_logits.shape
                cls_logits = cls_logits.view(N, -1, self.num_classes, H, W)
                cls_logits = cls_logits.permute(0, 3, 4, 1, 2)
                cls_logits = cls_logits.reshape(N, -1, self.num_classes)
                all_cls_logits.append(cls_logits)
            return T.cat(all_cls_logits, dim=1)

    class RetinaNetRegressionHead(nn.Module):
        def __init__(self, in_channels, num_anchors, loss_type):
            super().__init__()
            conv = []
            for _ in range(2):
                conv.append(nn.Sequential(nn.Conv2d(in_channels, in_channels, 3, padding=1), nn.ReLU(inplace=True)))
            self.conv = nn.Sequential(*conv)
            self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1, padding=1)
            nn.init.normal_(self.bbox_reg.weight, std=0.01)
            nn.init.zeros_(self.bbox_reg.bias)
            self.box_coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
            self._loss_type = loss_type

        def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
            losses = []
            bbox_regression = head_outputs["bbox_regression"]
            for targets_per_image, bbox_regression_per_image, anchors_per_image, matched_idxs_per_image in zip(
                    targets, bbox_regression, anchors, matched_idxs):
                foreground_idxs_per_image = T.where(matched_idxs_per_image >= 0)[0]
                num_foreground = foreground_idxs_per_image.numel()
                matched_gt_boxes_per_image = targets_per_image["boxes"][
                    matched_idxs_per_image[foreground_idxs_per_image]]
                bbox_regression_per_image = bbox_regression_per_image[foreground_idxs_per_image, :]
                anchors_per_image = anchors_per_image[foreground_idxs_per_image, :]
                if self._loss_type == "smooth_l1":
                    target_regression = self.box_coder.encode_single(matched_gt_boxes_per_image, anchors_per_image)
                    loss = F.smooth_l1_loss(bbox_regression_per_image, target_regression, reduction="sum",
                                            beta=1 / 9)
                else:
                    bbox_regression_decode = self.box_coder.decode_single(bbox_regression_per_image,
                                                                          anchors_per_image)
                    loss = generalized_box_iou_loss(bbox_regression_decode, matched_gt_boxes_per_image,
                                                    reduction="sum")
                losses.append(loss / max(1, num_foreground))
            return sum(losses) / max(1, len(targets))

        def forward(self, x):
            all_bbox_regression = []
            for features in x:
                bbox_regression = self.conv(features)
                bbox_regression = self.bbox_reg(bbox_regression)
                N, _, H, W = bbox_regression.shape
                bbox_regression = bbox_regression.view(N, -1, 4, H, W)
                bbox_regression = bbox_regression.permute(0, 3, 4, 1, 2)
                bbox_regression = bbox_regression.reshape(N, -1, 4)
                all_bbox_regression.append(bbox_regression)
            return T.cat(all_bbox_regression, dim=1)

    class RetinaNetHead(nn.Module):
        def __init__(self, in_channels, num_anchors, num_classes, loss_type):
            super().__init__()
            self.classification_head = RetinaNetClassificationHead(in_channels, num_anchors, num_classes)
            self.regression_head = RetinaNetRegressionHead(in_channels, num_anchors, loss_type)

        def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
            return {"classification": self.classification_head.compute_loss(targets, head_outputs, matched_idxs),
                    "bbox_regression": self.regression_head.compute_loss(targets, head_outputs, anchors,
                                                                         matched_idxs)}

        def forward(self, x):
            return {"cls_logits": self.classification_head(x), "bbox_regression": self.regression_head(x)}

    class RetinaNet(nn.Module):
        def __init__(self, num_classes=3, score_thresh=0.05, nms_thresh=0.5, detections_per_img=10,
                     fg_iou_thresh=0.5, bg_iou_thresh=0.4, topk_candidates=20):
            super().__init__()
            self.backbone = Backbone()
            anchor_sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))) for x in [4, 8, 16, 24, 32])
            aspect_ratios = ((0.5, 1.0, 2.0),) * len(anchor_sizes)
            self.anchor_generator = AnchorGenerator(anchor_sizes, aspect_ratios)
            self.head = RetinaNetHead(self.backbone.out_channels,
                                      self.anchor_generator.num_anchors_per_location()[0], num_classes, loss_type)
            self.proposal_matcher = Matcher(fg_iou_thresh, bg_iou_thresh, allow_low_quality_matches=True)
            self.box_coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
            self.score_thresh = score_thresh
            self.nms_thresh = nms_thresh
            self.detections_per_img = detections_per_img
            self.topk_candidates = topk_candidates

        def compute_loss(self, targets, head_outputs, anchors):
            matched_idxs = []
            for anchors_per_image, targets_per_image in zip(anchors, targets):
                if targets_per_image["boxes"].numel() == 0:
                    matched_idxs.append(T.full((anchors_per_image.size(0),), -1, dtype=T.int64,
                                               device=anchors_per_image.device))
                    continue
                match_quality_matrix = box_iou(targets_per_image["boxes"], anchors_per_image)
                matched_idxs.append(self.proposal_matcher(match_quality_matrix))
            return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

        def postprocess_detections(self, head_outputs, anchors, image_shapes):
            class_logits = head_outputs["cls_logits"]
            box_regression = head_outputs["bbox_regression"]
            num_images = len(image_shapes)
            detections = []
            for index in range(num_images):
                box_regression_per_image = [br[index] for br in box_regression]
                logits_per_image = [cl[index] for cl in class_logits]
                anchors_per_image, image_shape = anchors[index], image_shapes[index]
                image_boxes = []
                image_scores = []
                image_labels = []
                for box_regression_per_level, logits_per_level, anchors_per_level in zip(
                        box_regression_per_image, logits_per_image, anchors_per_image):
                    num_classes = logits_per_level.shape[-1]
                    scores_per_level = T.sigmoid(logits_per_level).flatten()
                    keep_idxs = scores_per_level > self.score_thresh
                    scores_per_level = scores_per_level[keep_idxs]
                    topk_idxs = T.where(keep_idxs)[0]
                    num_topk = min(self.topk_candidates, topk_idxs.size(0))
                    scores_per_level, idxs = scores_per_level.topk(num_topk)
                    topk_idxs = topk_idxs[idxs]
                    anchor_idxs = T.div(topk_idxs, num_classes, rounding_mode="floor")
                    labels_per_level = topk_idxs % num_classes
                    boxes_per_level = self.box_coder.decode_single(box_regression_per_level[anchor_idxs],
                                                                   anchors_per_level[anchor_idxs])
                    boxes_per_level = clip_boxes_to_image(boxes_per_level, image_shape)
                    image_boxes.append(boxes_per_level)
                    image_scores.append(scores_per_level)
                    image_labels.append(labels_per_level)
                image_boxes = T.cat(image_boxes, dim=0)
                image_scores = T.cat(image_scores, dim=0)
                image_labels = T.cat(image_labels, dim=0)
                keep = batched_nms(image_boxes, image_scores, image_labels, self.nms_thresh)
                keep = keep[: self.detections_per_img]
                detections.append({"boxes": image_boxes[keep], "scores": image_scores[keep],
                                   "labels": image_labels[keep]})
            return detections

        def forward(self, images, targets=None):
            features = self.backbone(images)
            features = list(features.values())
            head_outputs = self.head(features)
            anchors = self.anchor_generator(images, features)
            losses = {}
            detections = []
            if self.training:
                losses = self.compute_loss(targets, head_outputs, anchors)
                return losses
            num_anchors_per_level = [x.size(2) * x.size(3) for x in features]
            HW = 0
            for v in num_anchors_per_level:
                HW += v
            HWA = head_outputs["cls_logits"].size(1)
            A = HWA // HW
            num_anchors_per_level = [hw * A for hw in num_anchors_per_level]
            split_head_outputs = {}
            for k in head_outputs:
                split_head_outputs[k] = list(head_outputs[k].split(num_anchors_per_level, dim=1))
            split_anchors = [list(a.split(num_anchors_per_level)) for a in anchors]
            detections = self.postprocess_detections(split_head_outputs, split_anchors,
                                                     [tuple(images.shape[-2:])] * images.shape[0])
            return detections

    model = RetinaNet()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = T.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
    warmup = T.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.001, total_iters=2)
    out = []
    model.train()
    for step in range(3):
        imgs = T.tensor(images)
        tgts = [{k: T.tensor(v) for k, v in t.items()} for t in targets]
        loss_dict = model(imgs, tgts)
        losses = sum(loss for loss in loss_dict.values())
        optimizer.zero_grad()
        losses.backward()
        optimizer.step()
        warmup.step()
        out += [loss_dict, _grads(model)]
    model.eval()
    with T.no_grad():
        model.score_thresh = 0.005  # (the 0.01 prior: scores start near it)
        out.append(model(T.tensor(images)))
    out.append(model.state_dict())
    return out


# ---------------------------------------------------------------------------------------------------------- ConvNeXt
def convnext(T, sd, data, keep):
    """facebookresearch/ConvNeXt(-V2)'s model as written there: the channels-first LayerNorm by mean / pow / sqrt
    and the channels-last one by F.layer_norm, Blocks (depthwise 7x7, permute to NHWC, Linear pointwise convs, GELU,
    GRN by torch.norm over (1, 2), the layer-scale gamma, DropPath), stem and downsampling layers, trunc_normal_
    init, head_init_scale by .data.mul_; the fine-tuning recipe's layer-wise lr decay (get_num_layer_for_convnext
    into param groups with lr_scale, updated every iteration from a cosine schedule), AdamW, label smoothing;
    eval at another resolution."""
    nn = T.nn
    F = T.nn.functional
    draws = iter(keep or [])

    def drop_path(x, drop_prob: float = 0., training: bool = False, scale_by_keep: bool = True):
        if drop_prob == 0. or not training:
            return x
        keep_prob = 1 - drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        random_tensor = x.new_empty(shape).copy_(T.tensor(next(draws)[:x.shape[0]] < keep_prob).view(shape))
        if keep_prob > 0.0 and scale_by_keep:
            random_tensor.div_(keep_prob)
        return x * random_tensor

    class DropPath(nn.Module):
        def __init__(self, drop_prob=None):
            super().__init__()
            self.drop_prob = drop_prob

        def forward(self, x):
            return drop_path(x, self.drop_prob, self.training)

    class LayerNorm(nn.Module):
        def __init__(self, normalized_shape, eps=1e-6, data_format="channels_last"):
            super().__init__()
            self.weight = nn.Parameter(T.ones(normalized_shape))
            self.bias = nn.Parameter(T.zeros(normalized_shape))
            self.eps = eps
            self.data_format = data_format
            if self.data_format not in ["channels_last", "channels_first"]:
                raise NotImplementedError
            self.normalized_shape = (normalized_shape, )

        def forward(self, x):
            if self.data_format == "channels_last":
                return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            elif self.data_format == "channels_first":
                u = x.mean(1, keepdim=True)
                s = (x - u).pow(2).mean(1, keepdim=True)
                x = (x - u) / T.sqrt(s + self.eps)
                x = self.weight[:, None, None] * x + self.bias[:, None, None]
                return x

    class GRN(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.gamma = nn.Parameter(T.zeros(1, 1, 1, dim))
            self.beta = nn.Parameter(T.zeros(1, 1, 1, dim))

        def forward(self, x):
            Gx = T.norm(x, p=2, dim=(1, 2), keepdim=True)
            Nx = Gx / (Gx.mean(dim=-1, keepdim=True) + 1e-6)
            return self.gamma * (x * Nx) + self.beta + x

    class Block(nn.Module):
        def __init__(self, dim, drop_path=0., layer_scale_init_value=1e-6, grn=False):
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
            self.norm = LayerNorm(dim, eps=1e-6)
            self.pwconv1 = nn.Linear(dim, 4 * dim)
            self.act = nn.GELU()
            self.grn = GRN(4 * dim) if grn else nn.Identity()
            self.pwconv2 = nn.Linear(4 * dim, dim)
            self.gamma = nn.Parameter(layer_scale_init_value * T.ones((dim)),
                                      requires_grad=True) if layer_scale_init_value > 0 else None
            self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()

        def forward(self, x):
            input = x
            x = self.dwconv(x)
            x = x.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
            x = self.norm(x)
            x = self.pwconv1(x)
            x = self.act(x)
            x = self.grn(x)
            x = self.pwconv2(x)
            if self.gamma is not None:
                x = self.gamma * x
            x = x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
            x = input + self.drop_path(x)
            return x

    class ConvNeXt(nn.Module):
        def __init__(self, in_chans=3, num_classes=5, depths=[1, 2], dims=[8, 12], drop_path_rate=0.2,
                     layer_scale_init_value=0.5, head_init_scale=0.5):
            super().__init__()
            self.downsample_layers = nn.ModuleList()
            stem = nn.Sequential(nn.Conv2d(in_chans, dims[0], kernel_size=4, stride=4),
                                 LayerNorm(dims[0], eps=1e-6, data_format="channels_first"))
            self.downsample_layers.append(stem)
            for i in range(len(dims) - 1):
                downsample_layer = nn.Sequential(LayerNorm(dims[i], eps=1e-6, data_format="channels_first"),
                                                 nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2))
                self.downsample_layers.append(downsample_layer)
            self.stages = nn.ModuleList()
            dp_rates = [x.item() for x in T.linspace(0, drop_path_rate, sum(depths))]
            cur = 0
            for i in range(len(dims)):
                stage = nn.Sequential(*[Block(dim=dims[i], drop_path=dp_rates[cur + j],
                                              layer_scale_init_value=layer_scale_init_value, grn=i == 1)
                                        for j in range(depths[i])])
                self.stages.append(stage)
                cur += depths[i]
            self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
            self.head = nn.Linear(dims[-1], num_classes)
            self.apply(self._init_weights)
            self.head.weight.data.mul_(head_init_scale)
            self.head.bias.data.mul_(head_init_scale)

        def _init_weights(self, m):
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=.02)
                nn.init.constant_(m.bias, 0)

        def forward_features(self, x):
            for i in range(len(self.stages)):
                x = self.downsample_layers[i](x)
                x = self.stages[i](x)
            return self.norm(x.mean([-2, -1]))

        def forward(self, x):
            x = self.forward_features(x)
            x = self.head(x)
            return x

    model = ConvNeXt()
    if sd is None:
        return _state(model)
    _load(T, model, sd)

    def get_num_layer_for_convnext(var_name):
        num_max_layer = 4
        if var_name.startswith("downsample_layers"):
            stage_id = int(var_name.split(".")[1])
            if stage_id == 0:
                layer_id = 0
            elif stage_id == 1 or stage_id == 2:
                layer_id = stage_id + 1
            elif stage_id == 3:
                layer_id = 12
            return layer_id
        elif var_name.startswith("stages"):
            stage_id = int(var_name.split(".")[1])
            block_id = int(var_name.split(".")[2])
            if stage_id == 0 or stage_id == 1:
                layer_id = stage_id + 1
            elif stage_id == 2:
                layer_id = 3 + block_id // 3
            elif stage_id == 3:
                layer_id = 12
            return layer_id
        else:
            return num_max_layer + 1

    class LayerDecayValueAssigner(object):
        def __init__(self, values):
            self.values = values

        def get_scale(self, layer_id):
            return self.values[layer_id]

        def get_layer_id(self, var_name):
            return get_num_layer_for_convnext(var_name)

    def get_parameter_groups(model, weight_decay=1e-5, skip_list=(), get_num_layer=None, get_layer_scale=None):
        parameter_group_names = {}
        parameter_group_vars = {}
        for name, param in model.named_parameters():
            if not param.requires_grad:
                continue
            if len(param.shape) == 1 or name.endswith(".bias") or name in skip_list or name.endswith(".gamma") \
                    or name.endswith(".beta"):
                group_name = "no_decay"
                this_weight_decay = 0.
            else:
                group_name = "decay"
                this_weight_decay = weight_decay
            if get_num_layer is not None:
                layer_id = get_num_layer(name)
                group_name = "layer_%d_%s" % (layer_id, group_name)
            else:
                layer_id = None
            if group_name not in parameter_group_names:
                if get_layer_scale is not None:
                    scale = get_layer_scale(layer_id)
                else:
                    scale = 1.
                parameter_group_names[group_name] = {"weight_decay": this_weight_decay, "params": [],
                                                     "lr_scale": scale}
                parameter_group_vars[group_name] = {"weight_decay": this_weight_decay, "params": [],
                                                    "lr_scale": scale}
            parameter_group_vars[group_name]["params"].append(param)
            parameter_group_names[group_name]["params"].append(name)
        return list(parameter_group_vars.values())

    def cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs=0, start_warmup_value=0):
        warmup_schedule = np.array([])
        warmup_iters = warmup_epochs * niter_per_ep
        if warmup_epochs > 0:
            warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)
        iters = np.arange(epochs * niter_per_ep - warmup_iters)
        schedule = np.array([final_value + 0.5 * (base_value - final_value) * (1 + math.cos(math.pi * i / (len(iters))))
                             for i in iters])
        schedule = np.concatenate((warmup_schedule, schedule))
        return schedule

    layer_decay, num_layers = 0.7, 4
    assigner = LayerDecayValueAssigner(list(layer_decay ** (num_layers + 1 - i) for i in range(num_layers + 2)))
    parameters = get_parameter_groups(model, 0.05, set(), assigner.get_layer_id, assigner.get_scale)
    optimizer = T.optim.AdamW(parameters, lr=4e-3, eps=1e-8, betas=(0.9, 0.999))
    lr_schedule_values = cosine_scheduler(4e-3, 1e-6, 2, len(data), warmup_epochs=1)
    wd_schedule_values = cosine_scheduler(0.05, 0.1, 2, len(data))
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    out = []
    it = 0
    for epoch in range(2):
        model.train(True)
        for samples, targets in data:
            for i, param_group in enumerate(optimizer.param_groups):
                param_group["lr"] = lr_schedule_values[it] * param_group["lr_scale"]
                if param_group["weight_decay"] > 0:
                    param_group["weight_decay"] = wd_schedule_values[it]
            samples, targets = T.tensor(samples), T.tensor(targets)
            output = model(samples)
            loss = criterion(output, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            class_acc = (output.max(-1)[-1] == targets).float().mean()
            out += [output, loss, class_acc, _grads(model)]
            it += 1
    model.eval()
    with T.no_grad():
        out.append(model(T.tensor(data[0][0][:, :, :24, :24])))
    out.append(model.state_dict())
    return out


# ------------------------------------------------------------------------------------------------------ augmentation
def augment(T, images, params):
    """Data augmentation on image tensors the way torchvision's tensor backend does it (RandAugment / AutoAugment /
    ColorJitter / GaussianBlur / RandomAffine ops), then a differentiable pass as kornia-style code uses it: uint8
    invert (255 - img), posterize (img & -2 ** (8 - bits)), solarize by where, blends clamped and cast back to uint8,
    grayscale by luma weights, contrast about the mean, equalize by a bincount histogram, floor divisions, a padded
    cumulative lookup table indexed by the image, autocontrast by amin / amax with the constant channels fixed by
    isfinite masks, hue through rgb -> hsv (fmod) -> rgb (a one-hot mask and an einsum with ellipses), sharpness by a
    3x3 smoothing kernel written into the interior, Gaussian blur by reflect padding and a grouped conv with an
    expanded kernel, affine warps by a base grid filled through views with copy_, bmm and grid_sample with a fill
    mask; the float ops then run on a float image with requires_grad, a loss backpropagated to it."""
    F = T.nn.functional

    def bound_of(dtype):
        return 255 if dtype == T.uint8 else 1

    def blend(img1, img2, ratio):
        bound = bound_of(img1.dtype)
        return (float(ratio) * img1 + (1.0 - float(ratio)) * img2).clamp(0, bound).to(img1.dtype)

    def to_gray(img):
        r, g, b = img.unbind(dim=-3)
        return (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(dim=-3)

    def brightness(img, factor):
        return blend(img, T.zeros_like(img), factor)

    def contrast(img, factor):
        dtype = img.dtype if T.is_floating_point(img) else T.float32
        mean = T.mean(to_gray(img).to(dtype), dim=(-3, -2, -1), keepdim=True)
        return blend(img, mean, factor)

    def saturation(img, factor):
        return blend(img, to_gray(img), factor)

    def invert(img):
        return bound_of(img.dtype) - img

    def posterize(img, bits):
        return img & -int(2 ** (8 - bits))

    def solarize(img, threshold):
        return T.where(img >= threshold, invert(img), img)

    def equalize_channel(chan):
        hist = T.bincount(chan.reshape(-1), minlength=256)
        nonzero = hist[hist != 0]
        step = T.div(nonzero[:-1].sum(), 255, rounding_mode="floor")
        if step == 0:
            return chan
        lut = T.div(T.cumsum(hist, 0) + T.div(step, 2, rounding_mode="floor"), step, rounding_mode="floor")
        lut = F.pad(lut, [1, 0])[:-1].clamp(0, 255)
        return lut[chan.to(T.int64)].to(T.uint8)

    def equalize(img):
        return T.stack([T.stack([equalize_channel(x[c]) for c in range(x.size(0))]) for x in img])

    def autocontrast(img):
        bound = bound_of(img.dtype)
        dtype = img.dtype if T.is_floating_point(img) else T.float32
        lo = img.amin(dim=(-2, -1), keepdim=True).to(dtype).clone()  # (clone: amin's backward reads its output)
        hi = img.amax(dim=(-2, -1), keepdim=True).to(dtype)
        scale = bound / (hi - lo)
        flat = T.isfinite(scale).logical_not()
        lo[flat] = 0
        scale[flat] = 1
        return ((img - lo) * scale).clamp(0, bound).to(img.dtype)

    def rgb_to_hsv(img):
        r, g, b = img.unbind(dim=-3)
        maxc = T.max(img, dim=-3).values
        minc = T.min(img, dim=-3).values
        same = maxc == minc
        cr = maxc - minc
        ones = T.ones_like(maxc)
        s = cr / T.where(same, ones, maxc)
        crd = T.where(same, ones, cr)
        rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
        hr = (maxc == r) * (bc - gc)
        hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
        hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
        h = T.fmod(((hr + hg + hb) / 6.0 + 1.0), 1.0)
        return T.stack((h, s, maxc), dim=-3)

    def hsv_to_rgb(img):
        h, s, v = img.unbind(dim=-3)
        i = T.floor(h * 6.0)
        f = (h * 6.0) - i
        i = i.to(dtype=T.int32)
        p = T.clamp((v * (1.0 - s)), 0.0, 1.0)
        q = T.clamp((v * (1.0 - s * f)), 0.0, 1.0)
        t = T.clamp((v * (1.0 - s * (1.0 - f))), 0.0, 1.0)
        i = i % 6
        mask = i.unsqueeze(dim=-3) == T.arange(6, device=i.device).view(-1, 1, 1)
        a = T.stack((T.stack((v, q, p, p, t, v), dim=-3), T.stack((t, v, v, q, p, p), dim=-3),
                     T.stack((p, p, t, v, v, q), dim=-3)), dim=-4)
        return T.einsum("...ijk, ...xijk -> ...xjk", mask.to(dtype=img.dtype), a)

    def hue(img, factor):
        dtype = img.dtype
        x = img.to(T.get_default_dtype()) / 255 if dtype == T.uint8 else img
        h, s, v = rgb_to_hsv(x).unbind(dim=-3)
        x = hsv_to_rgb(T.stack(((h + factor) % 1.0, s, v), dim=-3))
        return x.mul(255 + 1.0 - 1e-3).to(dtype) if dtype == T.uint8 else x

    def sharpness(img, factor):
        dtype = img.dtype if T.is_floating_point(img) else T.float32
        kernel = T.ones((3, 3), dtype=dtype)
        kernel[1, 1] = 5.0
        kernel /= kernel.sum()
        kernel = kernel.expand(img.shape[-3], 1, 3, 3)
        smooth = F.conv2d(img.to(dtype), kernel, groups=img.shape[-3])
        if img.dtype == T.uint8:
            smooth = T.round(smooth).to(T.uint8)
        degenerate = img.clone()
        degenerate[..., 1:-1, 1:-1] = smooth
        return blend(img, degenerate, factor)

    def gaussian_blur(img, ksize, sigma):
        dtype = img.dtype if T.is_floating_point(img) else T.float32
        half = (ksize - 1) * 0.5
        x = T.linspace(-half, half, steps=ksize, dtype=dtype)
        pdf = T.exp(-0.5 * (x / sigma).pow(2))
        k1 = pdf / pdf.sum()
        kernel = T.mm(k1[:, None], k1[None, :]).expand(img.shape[-3], 1, ksize, ksize)
        out = F.pad(img.to(dtype), [ksize // 2] * 4, mode="reflect")
        out = F.conv2d(out, kernel, groups=img.shape[-3])
        return T.round(out).to(img.dtype) if img.dtype == T.uint8 else out

    def affine(img, matrix, mode, fill):
        dtype = img.dtype if T.is_floating_point(img) else T.float32
        n, c, h, w = img.shape
        theta = T.tensor(matrix, dtype=dtype).reshape(1, 2, 3)
        base = T.empty(1, h, w, 3, dtype=dtype)
        base[..., 0].copy_(T.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, steps=w))
        base[..., 1].copy_(T.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, steps=h).unsqueeze_(-1))
        base[..., 2].fill_(1)
        grid = base.view(1, h * w, 3).bmm(theta.transpose(1, 2) / T.tensor([0.5 * w, 0.5 * h], dtype=dtype))
        grid = grid.view(1, h, w, 2).expand(n, h, w, 2)
        x = img.to(dtype)
        x = T.cat((x, T.ones((n, 1, h, w), dtype=dtype)), dim=1)
        x = F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
        mask, x = x[:, -1:], x[:, :-1]
        mask = mask.expand_as(x)
        fill_img = T.tensor(fill, dtype=dtype).view(1, len(fill), 1, 1).expand_as(x)
        if mode == "nearest":
            x = x.clone()
            bad = mask < 0.5
            x[bad] = fill_img[bad]
        else:
            x = x * mask + (1.0 - mask) * fill_img
        return T.round(x).to(img.dtype) if img.dtype == T.uint8 else x

    def rotation(degrees, shear, translate, scale):
        a, sx = math.radians(degrees), math.radians(shear)
        cos, sin = math.cos(a) / scale, math.sin(a) / scale
        return [cos, sin + sx, -translate[0], -sin, cos, -translate[1]]

    u8 = T.tensor(images).permute((0, 3, 1, 2)).contiguous()
    out = []
    ops = [lambda x: invert(x), lambda x: posterize(x, params["bits"]), lambda x: solarize(x, params["threshold"]),
           lambda x: brightness(x, params["brightness"]), lambda x: contrast(x, params["contrast"]),
           lambda x: saturation(x, params["saturation"]), lambda x: to_gray(x).expand(x.shape), lambda x: equalize(x),
           lambda x: autocontrast(x), lambda x: hue(x, params["hue"]), lambda x: sharpness(x, params["sharpness"]),
           lambda x: gaussian_blur(x, 5, params["sigma"]),
           lambda x: affine(x, rotation(params["degrees"], params["shear"], (1.5, -2.0), 1.1), "nearest",
                            [0, 128, 255]),
           lambda x: affine(x, rotation(-params["degrees"], 0.0, (0.0, 1.0), 0.9), "bilinear", [7.0, 7.0, 7.0])]
    for op in ops:
        y = op(u8)
        out.append(y)
        u8 = op(u8) if y.dtype == T.uint8 and len(out) % 3 == 0 else u8  # (chains some: RandAugment's n ops)
    out.append(u8)
    x = (T.tensor(images).permute(0, 3, 1, 2).to(dtype=T.get_default_dtype()).div(255)).requires_grad_()
    y = hue(x, params["hue"])
    y = saturation(y, params["saturation"])
    y = contrast(y, params["contrast"])
    y = sharpness(y, params["sharpness"])
    y = gaussian_blur(y, 3, params["sigma"])
    y = affine(y, rotation(params["degrees"], params["shear"], (0.5, 0.5), 1.05), "bilinear", [0.5, 0.5, 0.5])
    y = autocontrast(y)
    loss = (y * T.tensor(params["weights"])).sum()
    loss.backward()
    out += [y, loss, x.grad]
    return out


# ---------------------------------------------------------------------------------------------------------- the tests
def test_mobilenet_v3_and_efficientnet_blocks(torch):
    """Depthwise separable inverted residuals with SE / Hardswish, MBConv with stochastic depth (row and batch),
    BatchNorm eps 1e-3 / momentum 0.01, RMSprop with parameter groups, ExponentialLR, EMA with buffers, eval."""
    rng = _rng()
    sd = mobilenet(torch, None, None, None)
    data = [(rng.standard_normal((4, 3, 16, 16)), rng.integers(0, 5, 4)) for _ in range(3)]
    masks = [rng.random(4) for _ in range(6)]
    _compare(mobilenet(tg, sd, data, masks), mobilenet(torch, sd, data, masks))


def test_vit_with_timm_param_groups_and_pos_embed_resampling(torch):
    """timm's ViT: conv patch embedding, class / register tokens, LayerScale (in place too), DropPath, qk_norm,
    fused and explicit attention, bicubic antialiased pos-embed resampling at another image size, weight-decay
    parameter groups, AdamW with a warmup + cosine SequentialLR, elementwise mixup with soft targets, top-k."""
    rng = _rng()
    sd = vit(torch, None, None, None)
    data = [(rng.standard_normal((4, 3, 16, 16)), rng.integers(0, 5, 4), lam) for lam in (0.7, 1.0, 0.4)]
    keep = [rng.random(4) for _ in range(12)]
    _compare(vit(tg, sd, data, keep), vit(torch, sd, data, keep))


def test_neural_style_transfer_lbfgs_on_the_image(torch):
    """The neural-style tutorial: Gram-matrix style and content losses inserted into a rebuilt Sequential, LBFGS on
    the input image with an in-place clamp in the closure, a total-variation term."""
    rng = _rng()
    sd = style_transfer(torch, None, None, None)
    content, style = rng.random((1, 3, 12, 12)), rng.random((1, 3, 12, 12))
    ours, theirs = style_transfer(tg, sd, content, style), style_transfer(torch, sd, content, style)
    assert ours.pop(2) == theirs.pop(2)  # the rebuilt model's layer types
    _compare(ours, theirs, 1e-8)


def test_fast_neural_style_training(torch):
    """fast_neural_style: a TransformerNet with reflection padding, instance norm and nearest upsampling trained
    against a frozen VGG slice's namedtuple features and Gram matrices by bmm; Adam."""
    rng = _rng()
    sd = fast_neural_style(torch, None, None, None)
    images = [rng.random((2, 3, 12, 12)) * 255 for _ in range(2)]
    style = rng.random((1, 3, 12, 12)) * 255
    _compare(fast_neural_style(tg, sd, images, style), fast_neural_style(torch, sd, images, style))


def test_dcgan_training_step(torch):
    """pytorch/examples dcgan: transposed-conv generator, BCE on sigmoid outputs with T.full / fill_ labels,
    D on fake.detach(), Adam betas (0.5, 0.999)."""
    rng = _rng()
    sd = dcgan(torch, None, None, None)
    data = [rng.uniform(-1, 1, (4, 3, 16, 16)) for _ in range(3)]
    noise = [rng.standard_normal((4, 6, 1, 1))] + [rng.standard_normal(24) for _ in range(3)]
    _compare(dcgan(tg, sd, data, noise), dcgan(torch, sd, data, noise))


def test_stylegan2_modulated_conv_r1_and_path_length(torch):
    """stylegan2-pytorch: modulated / demodulated grouped convs (fused and not), upfirdn2d by pads and a flipped
    kernel, equalized learning rate, minibatch stddev, style mixing, R1 and path-length penalties by
    autograd.grad(create_graph=True), lazy regularization, EMA of the generator, truncation."""
    rng = _rng()
    sd = stylegan2(torch, None, None, None)
    data = [rng.uniform(-1, 1, (2, 3, 8, 8)) for _ in range(3)]
    noise = [rng.standard_normal(256) for _ in range(80)]
    _compare(stylegan2(tg, sd, data, noise), stylegan2(torch, sd, data, noise))


def test_deeplabv3_aspp_segmentation_reference(torch):
    """torchvision's DeepLabV3 (ASPP: dilated convs, the image-pooling branch upsampled bilinearly; dilated
    bottlenecks; aux FCN head through IntermediateLayerGetter), cross entropy with ignore_index 255, SGD groups,
    LinearLR warmup then PolynomialLR, the confusion matrix's IoU by bincount."""
    rng = _rng()
    sd = deeplab(torch, None, None)
    data = []
    for _ in range(2):
        target = rng.integers(0, 4, (2, 20, 20))
        target[rng.random((2, 20, 20)) < 0.1] = 255
        data.append((rng.standard_normal((2, 3, 20, 20)), target))
    _compare(deeplab(tg, sd, data), deeplab(torch, sd, data))


@pytest.mark.parametrize("loss_type", ["smooth_l1", "giou"])
def test_retinanet_fpn_anchors_focal_loss_and_nms(torch, loss_type):
    """torchvision's RetinaNet: FPN with P6 / P7, anchors, the box coder, the matcher with low-quality matches,
    sigmoid focal loss, smooth-l1 or GIoU box regression, then postprocessing with a hand-written batched NMS."""
    rng = _rng()
    sd = retinanet(torch, None, None, None, loss_type)
    images = rng.standard_normal((2, 3, 32, 32))
    targets = []
    for n in (2, 3):
        xy = rng.uniform(0, 20, (n, 2))
        wh = rng.uniform(4, 12, (n, 2))
        targets.append({"boxes": np.concatenate([xy, np.minimum(xy + wh, 32)], 1), "labels": rng.integers(0, 3, n)})
    _compare(retinanet(tg, sd, images, targets, loss_type), retinanet(torch, sd, images, targets, loss_type))


def test_convnext_blocks_with_layer_decay(torch):
    """ConvNeXt(-V2): channels-first and channels-last LayerNorms, depthwise 7x7, GRN, layer scale, DropPath;
    layer-wise lr decay groups with lr_scale and per-iteration lr / weight-decay schedules; AdamW."""
    rng = _rng()
    sd = convnext(torch, None, None, None)
    data = [(rng.standard_normal((2, 3, 32, 32)), rng.integers(0, 5, 2)) for _ in range(2)]
    keep = [rng.random(2) for _ in range(12)]
    _compare(convnext(tg, sd, data, keep), convnext(torch, sd, data, keep))


def test_image_augmentation_ops_on_uint8_and_float_images(torch):
    """torchvision-style tensor augmentations on uint8 images (invert, posterize by a negative mask, solarize,
    blends, equalize by bincount, autocontrast, hue by HSV, sharpness, blur, affine with fill) and, differentiably, on
    a float image."""
    rng = _rng()
    images = rng.integers(0, 256, (2, 10, 12, 3)).astype(np.uint8)
    images[1, :, :, 2] = 77  # (a constant channel: autocontrast's isfinite fix)
    params = {"bits": 3, "threshold": 128.5, "brightness": 1.3, "contrast": 0.7, "saturation": 1.4, "hue": 0.15,
              "sharpness": 1.8, "sigma": 1.1, "degrees": 17.0, "shear": 6.0,
              "weights": rng.standard_normal((2, 3, 10, 12))}
    _compare(augment(tg, images, params), augment(torch, images, params))

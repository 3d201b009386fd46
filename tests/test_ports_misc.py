"""Real PyTorch programs, ported: each written once, as its authors write it, against a module ``T`` (torch or
tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and data for a few steps in
float64; losses, outputs, gradients and final weights agree to ~1e-10. Random draws (sampled actions, dropout
masks, permutations) are made outside, in numpy, so both see the same ones. Skipped without torch.

Programs: REINFORCE and actor-critic (pytorch/examples), the DQN tutorial's replay-buffer update, CleanRL's PPO
with GAE, a torchvision ResNet with OneCycleLR / CosineAnnealingWarmRestarts, a U-Net, PixelShuffle
super-resolution, a siamese net with contrastive and triplet losses, SimCLR's NT-Xent, mixup / cutmix, cross
entropy variants, distillation and focal losses, WGAN-GP, EMA / SWA, RealNVP, parametrizations, capsule routing,
PointNet / Deep Sets, LBFGS time-sequence prediction, a spatial transformer, BiLSTM-CRF, VQ-VAE, Swin
blocks, DETR's matcher, NeRF sampling / rendering, a mixture density network, Grad-CAM / adversarial examples /
integrated gradients, DANN's gradient reversal, a scatter-based GAT, WaveNet, 0.4-era code with checkpoint resume,
CycleGAN, nanoGPT, a multi-resolution STFT loss with mel features, the transfer-learning tutorial's loop.
"""
import copy
import functools
import inspect
import io
import itertools
import math
import random
from collections import deque, namedtuple
from contextlib import nullcontext
from dataclasses import dataclass
from importlib import import_module

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, load as _load, state as _state


# ------------------------------------------------------------------------------------------------------- the programs
def reinforce(T, sd, episodes):
    nn, F, optim = T.nn, T.nn.functional, T.optim
    from importlib import import_module
    Categorical = import_module(T.__name__ + ".distributions").Categorical
    class Policy(nn.Module):
        def __init__(self):
            super(Policy, self).__init__()
            self.affine1 = nn.Linear(4, 128)
            self.dropout = nn.Dropout(p=0.6)
            self.affine2 = nn.Linear(128, 2)
            self.saved_log_probs = []
            self.rewards = []
        def forward(self, x):
            x = self.affine1(x)
            x = self.dropout(x)
            x = F.relu(x)
            action_scores = self.affine2(x)
            return F.softmax(action_scores, dim=1)
    policy = Policy()
    _load(T, policy, sd)
    policy.eval()
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)
    eps = np.finfo(np.float32).eps.item()
    out = []
    for states, actions, rewards in episodes:
        for s, a, r in zip(states, actions, rewards):
            state = T.from_numpy(s).double().unsqueeze(0)
            probs = policy(state)
            m = Categorical(probs)
            action = T.tensor([a])
            policy.saved_log_probs.append(m.log_prob(action))
            policy.rewards.append(r)
        R = 0
        policy_loss = []
        returns = deque()
        for r in policy.rewards[::-1]:
            R = r + 0.99 * R
            returns.appendleft(R)
        returns = T.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = T.cat(policy_loss).sum()
        policy_loss.backward()
        out.append(policy_loss.item())
        out.append([p.grad for p in policy.parameters()])
        optimizer.step()
        del policy.rewards[:]
        del policy.saved_log_probs[:]
    out.append([p for p in policy.parameters()])
    return out

def actor_critic(T, sd, episodes):
    nn, F, optim = T.nn, T.nn.functional, T.optim
    from importlib import import_module
    Categorical = import_module(T.__name__ + ".distributions").Categorical
    SavedAction = namedtuple('SavedAction', ['log_prob', 'value'])
    class Policy(nn.Module):
        def __init__(self):
            super(Policy, self).__init__()
            self.affine1 = nn.Linear(4, 128)
            self.action_head = nn.Linear(128, 2)
            self.value_head = nn.Linear(128, 1)
            self.saved_actions = []
            self.rewards = []
        def forward(self, x):
            x = F.relu(self.affine1(x))
            action_prob = F.softmax(self.action_head(x), dim=-1)
            state_values = self.value_head(x)
            return action_prob, state_values
    model = Policy()
    _load(T, model, sd)
    optimizer = optim.Adam(model.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()
    out = []
    for states, actions, rewards in episodes:
        for s, a, r in zip(states, actions, rewards):
            state = T.from_numpy(s)
            probs, state_value = model(state)
            m = Categorical(probs)
            action = T.tensor(a)
            model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
            model.rewards.append(r)
            out.append(m.entropy())
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []
        value_losses = []
        returns = []
        for r in model.rewards[::-1]:
            R = r + 0.99 * R
            returns.insert(0, R)
        returns = T.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, T.tensor([R])))
        optimizer.zero_grad()
        loss = T.stack(policy_losses).sum() + T.stack(value_losses).sum()
        loss.backward()
        out.append(loss)
        out.append([p.grad for p in model.parameters()])
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
    out.append(list(model.parameters()))
    return out

def dqn(T, sd, data):
    nn, F, optim = T.nn, T.nn.functional, T.optim
    Transition = namedtuple('Transition', ('state', 'action', 'next_state', 'reward'))
    class ReplayMemory(object):
        def __init__(self, capacity):
            self.memory = deque([], maxlen=capacity)
        def push(self, *args):
            self.memory.append(Transition(*args))
        def sample(self, batch_size):
            return random.sample(self.memory, batch_size)
        def __len__(self):
            return len(self.memory)
    class DQN(nn.Module):
        def __init__(self, n_observations, n_actions):
            super(DQN, self).__init__()
            self.layer1 = nn.Linear(n_observations, 128)
            self.layer2 = nn.Linear(128, 128)
            self.layer3 = nn.Linear(128, n_actions)
        def forward(self, x):
            x = F.relu(self.layer1(x))
            x = F.relu(self.layer2(x))
            return self.layer3(x)
    device = "cpu"
    policy_net = DQN(4, 3).to(device)
    target_net = DQN(4, 3).to(device)
    if sd is None:
        return _state(policy_net)
    _load(T, policy_net, sd)
    target_net.load_state_dict(policy_net.state_dict())
    optimizer = optim.AdamW(policy_net.parameters(), lr=1e-2, amsgrad=True)
    memory = ReplayMemory(50)
    BATCH_SIZE, GAMMA, TAU = 8, 0.99, 0.005
    out = []
    random.seed(1)
    for i, (s, a, s2, r) in enumerate(data):
        state = T.tensor(s, dtype=T.float64, device=device).unsqueeze(0)
        with T.no_grad():
            greedy = policy_net(state).max(1).indices.view(1, 1)
        out.append(greedy)
        action = T.tensor([[a]], device=device, dtype=T.long)
        next_state = None if s2 is None else T.tensor(s2, dtype=T.float64, device=device).unsqueeze(0)
        reward = T.tensor([r], device=device)
        memory.push(state, action, next_state, reward)
        if len(memory) < BATCH_SIZE:
            continue
        transitions = memory.sample(BATCH_SIZE)
        batch = Transition(*zip(*transitions))
        non_final_mask = T.tensor(tuple(map(lambda s: s is not None, batch.next_state)), device=device,
                                  dtype=T.bool)
        non_final_next_states = T.cat([s for s in batch.next_state if s is not None])
        state_batch = T.cat(batch.state)
        action_batch = T.cat(batch.action)
        reward_batch = T.cat(batch.reward)
        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = T.zeros(BATCH_SIZE, device=device)
        with T.no_grad():
            next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        criterion = nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        T.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        out.append(loss)
        target_net_state_dict = target_net.state_dict()
        policy_net_state_dict = policy_net.state_dict()
        for key in policy_net_state_dict:
            target_net_state_dict[key] = policy_net_state_dict[key]*TAU + target_net_state_dict[key]*(1-TAU)
        target_net.load_state_dict(target_net_state_dict)
    out.append(list(policy_net.parameters()))
    out.append(list(target_net.parameters()))
    return out

def ppo(T, sd, data):
    nn, optim = T.nn, T.optim
    Categorical = import_module(T.__name__ + ".distributions").Categorical
    def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
        T.nn.init.orthogonal_(layer.weight, std)
        T.nn.init.constant_(layer.bias, bias_const)
        return layer
    class Agent(nn.Module):
        def __init__(self, obs_dim, n_act):
            super().__init__()
            self.critic = nn.Sequential(
                layer_init(nn.Linear(obs_dim, 64)), nn.Tanh(),
                layer_init(nn.Linear(64, 64)), nn.Tanh(),
                layer_init(nn.Linear(64, 1), std=1.0))
            self.actor = nn.Sequential(
                layer_init(nn.Linear(obs_dim, 64)), nn.Tanh(),
                layer_init(nn.Linear(64, 64)), nn.Tanh(),
                layer_init(nn.Linear(64, n_act), std=0.01))
        def get_value(self, x):
            return self.critic(x)
        def get_action_and_value(self, x, action=None):
            logits = self.actor(x)
            probs = Categorical(logits=logits)
            if action is None:
                action = probs.sample()
            return action, probs.log_prob(action), probs.entropy(), self.critic(x)
    num_steps, num_envs, obs_dim = 6, 4, 5
    device = T.device("cpu")
    agent = Agent(obs_dim, 3).to(device)
    if sd is None:
        return _state(agent)
    _load(T, agent, sd)
    optimizer = optim.Adam(agent.parameters(), lr=2.5e-3, eps=1e-5)
    obs = T.zeros((num_steps, num_envs) + (obs_dim,)).to(device)
    actions = T.zeros((num_steps, num_envs) + ()).to(device)
    logprobs = T.zeros((num_steps, num_envs)).to(device)
    rewards = T.zeros((num_steps, num_envs)).to(device)
    dones = T.zeros((num_steps, num_envs)).to(device)
    values = T.zeros((num_steps, num_envs)).to(device)
    next_obs = T.Tensor(data["obs0"]).to(device)
    next_done = T.zeros(num_envs).to(device)
    out = []
    for update in range(1, 3):
        frac = 1.0 - (update - 1.0) / 2
        optimizer.param_groups[0]["lr"] = frac * 2.5e-3
        for step in range(0, num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with T.no_grad():
                act = T.tensor(data["acts"][update][step])
                action, logprob, _, value = agent.get_action_and_value(next_obs, act)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            rewards[step] = T.tensor(data["rew"][update][step]).to(device).view(-1)
            next_obs, next_done = T.Tensor(data["obs"][update][step]).to(device), \
                T.Tensor(data["done"][update][step]).to(device)
        with T.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = T.zeros_like(rewards).to(device)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + 0.99 * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + 0.99 * 0.95 * nextnonterminal * lastgaelam
            returns = advantages + values
        out.append(advantages)
        b_obs = obs.reshape((-1,) + (obs_dim,))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1,) + ())
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)
        b_inds = np.arange(24)
        clipfracs = []
        rng = np.random.default_rng(update)
        for epoch in range(2):
            rng.shuffle(b_inds)
            for start in range(0, 24, 8):
                end = start + 8
                mb_inds = b_inds[start:end]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions.long()[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with T.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > 0.2).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * T.clamp(ratio, 1 - 0.2, 1 + 0.2)
                pg_loss = T.max(pg_loss1, pg_loss2).mean()
                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + T.clamp(newvalue - b_values[mb_inds], -0.2, 0.2)
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss_max = T.max(v_loss_unclipped, v_loss_clipped)
                v_loss = 0.5 * v_loss_max.mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - 0.01 * entropy_loss + v_loss * 0.5
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()
                out += [loss, old_approx_kl, approx_kl]
        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        out.append(explained_var)
        out.append(np.mean(clipfracs))
    out.append(list(agent.parameters()))
    return out

def resnet(T, sd, data, sched):
    nn, optim = T.nn, T.optim
    def conv3x3(in_planes, out_planes, stride=1):
        return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)
    class BasicBlock(nn.Module):
        expansion = 1
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(planes, planes)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample
            self.stride = stride
        def forward(self, x):
            identity = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            out = self.relu(out)
            return out
    class ResNet(nn.Module):
        def __init__(self, block, layers, num_classes=5):
            super().__init__()
            self.inplanes = 8
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(self.inplanes)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(block, 8, layers[0])
            self.layer2 = self._make_layer(block, 16, layers[1], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16 * block.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            for m in self.modules():
                if isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)
        def _make_layer(self, block, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes * block.expansion))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            for _ in range(1, blocks):
                layers.append(block(self.inplanes, planes))
            return nn.Sequential(*layers)
        def forward(self, x):
            x = self.conv1(x)
            x = self.bn1(x)
            x = self.relu(x)
            x = self.maxpool(x)
            x = self.layer1(x)
            x = self.layer2(x)
            x = self.avgpool(x)
            x = T.flatten(x, 1)
            x = self.fc(x)
            return x
    model = ResNet(BasicBlock, [1, 1])
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    if sched == "onecycle":
        scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, steps_per_epoch=len(data), epochs=2)
    else:
        scheduler = optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2, eta_min=1e-3)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    out = []
    iters = len(data)
    for epoch in range(2):
        model.train()
        for i, (x, y) in enumerate(data):
            inputs, targets = T.from_numpy(x), T.from_numpy(y)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            if sched == "onecycle":
                scheduler.step()
            else:
                scheduler.step(epoch + i / iters)
            _, predicted = outputs.max(1)
            correct = predicted.eq(targets).sum().item()
            out += [loss, correct, scheduler.get_last_lr(), optimizer.param_groups[0]["momentum"]]
        model.eval()
        with T.no_grad():
            out.append(model(T.from_numpy(data[0][0])))
    out.append(model.state_dict())
    return out

def unet(T, sd, x, y):
    nn, F, optim = T.nn, T.nn.functional, T.optim
    class DoubleConv(nn.Module):
        def __init__(self, in_channels, out_channels, mid_channels=None):
            super().__init__()
            if not mid_channels:
                mid_channels = out_channels
            self.double_conv = nn.Sequential(
                nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True),
                nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
        def forward(self, x):
            return self.double_conv(x)
    class Down(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))
        def forward(self, x):
            return self.maxpool_conv(x)
    class Up(nn.Module):
        def __init__(self, in_channels, out_channels, bilinear=True):
            super().__init__()
            if bilinear:
                self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
                self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
            else:
                self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
                self.conv = DoubleConv(in_channels, out_channels)
        def forward(self, x1, x2):
            x1 = self.up(x1)
            diffY = x2.size()[2] - x1.size()[2]
            diffX = x2.size()[3] - x1.size()[3]
            x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
            x = T.cat([x2, x1], dim=1)
            return self.conv(x)
    class UNet(nn.Module):
        def __init__(self, n_channels, n_classes, bilinear=False):
            super().__init__()
            self.inc = DoubleConv(n_channels, 8)
            self.down1 = Down(8, 16)
            factor = 2 if bilinear else 1
            self.down2 = Down(16, 32 // factor)
            self.up1 = Up(32, 16 // factor, bilinear)
            self.up2 = Up(16, 8, bilinear)
            self.outc = nn.Conv2d(8, n_classes, kernel_size=1)
        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            x = self.up1(x3, x2)
            x = self.up2(x, x1)
            return self.outc(x)
    out = []
    for bilinear in (False, True):
        model = UNet(2, 3, bilinear)
        if sd is None:
            out.append(_state(model)); continue
        _load(T, model, sd[bilinear])
        opt = optim.RMSprop(model.parameters(), lr=1e-3, weight_decay=1e-8, momentum=0.9, foreach=True)
        for _ in range(2):
            masks_pred = model(T.from_numpy(x))
            true = T.from_numpy(y)
            loss = F.cross_entropy(masks_pred, true)
            probs = F.softmax(masks_pred, dim=1)
            oh = F.one_hot(true, 3).permute(0, 3, 1, 2).double()
            inter = 2 * (probs * oh).sum(dim=(-1, -2))
            sets_sum = probs.sum(dim=(-1, -2)) + oh.sum(dim=(-1, -2))
            sets_sum = T.where(sets_sum == 0, inter, sets_sum)
            dice = (inter + 1e-6) / (sets_sum + 1e-6)
            loss = loss + (1 - dice.mean())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            T.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            out += [loss, masks_pred]
        out.append(model.state_dict())
    return out

def sr(T, sd, x, y):
    nn, F, optim, init = T.nn, T.nn.functional, T.optim, T.nn.init
    class Net(nn.Module):
        def __init__(self, upscale_factor):
            super(Net, self).__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
            self._initialize_weights()
        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            x = self.pixel_shuffle(self.conv4(x))
            return x
        def _initialize_weights(self):
            init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
            init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
            init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
            init.orthogonal_(self.conv4.weight)
    model = Net(3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    out = []
    for _ in range(3):
        optimizer.zero_grad()
        o = model(T.from_numpy(x))
        loss = criterion(o, T.from_numpy(y))
        loss.backward()
        optimizer.step()
        mse = criterion(o, T.from_numpy(y))
        psnr = 10 * np.log10(1 / mse.item())
        out += [loss, psnr]
    un = nn.PixelUnshuffle(3)(o)
    out += [un, F.pixel_shuffle(un, 3), model.state_dict()]
    return out

def siamese(T, sd, a, b, c, lab):
    nn, F, optim = T.nn, T.nn.functional, T.optim
    class SiameseNetwork(nn.Module):
        def __init__(self):
            super(SiameseNetwork, self).__init__()
            self.cnn = nn.Sequential(nn.Conv2d(1, 4, kernel_size=3), nn.ReLU(inplace=True),
                                     nn.BatchNorm2d(4), nn.Flatten())
            self.fc = nn.Sequential(nn.Linear(4 * 6 * 6, 16), nn.ReLU(inplace=True), nn.Linear(16, 8))
            self.fc_cls = nn.Linear(16, 1)
            self.sigmoid = nn.Sigmoid()
        def forward_once(self, x):
            return self.fc(self.cnn(x))
        def forward(self, input1, input2):
            output1 = self.forward_once(input1)
            output2 = self.forward_once(input2)
            output = T.cat((output1, output2), 1)
            return self.sigmoid(self.fc_cls(output)), output1, output2
    class ContrastiveLoss(T.nn.Module):
        def __init__(self, margin=2.0):
            super(ContrastiveLoss, self).__init__()
            self.margin = margin
        def forward(self, output1, output2, label):
            euclidean_distance = F.pairwise_distance(output1, output2, keepdim=True)
            loss_contrastive = T.mean((1 - label) * T.pow(euclidean_distance, 2) +
                                      (label) * T.pow(T.clamp(self.margin - euclidean_distance, min=0.0), 2))
            return loss_contrastive
    net = SiameseNetwork()
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    opt = optim.Adadelta(net.parameters(), lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    crit = ContrastiveLoss()
    trip = nn.TripletMarginLoss(margin=1.0, p=2, swap=True)
    tripd = nn.TripletMarginWithDistanceLoss(distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y),
                                             margin=0.5)
    bce = nn.BCELoss()
    out = []
    a, b, c, lab = map(T.from_numpy, (a, b, c, lab))
    for _ in range(3):
        opt.zero_grad()
        p, o1, o2 = net(a, b)
        o3 = net.forward_once(c)
        loss = crit(o1, o2, lab) + trip(o1, o2, o3) + tripd(o1, o2, o3) + bce(p, lab) \
            + F.cosine_embedding_loss(o1, o2, 1 - 2 * lab.squeeze(1), margin=0.1) \
            + F.margin_ranking_loss(o1[:, 0], o2[:, 0], 1 - 2 * lab.squeeze(1)) \
            + F.hinge_embedding_loss(F.pairwise_distance(o1, o2), 1 - 2 * lab.squeeze(1))
        loss.backward()
        opt.step()
        sched.step()
        out += [loss, [q.grad for q in net.parameters()]]
    return out

def ntxent(T, z1, z2, tau=0.5):
    nn, F = T.nn, T.nn.functional
    z1 = T.from_numpy(z1).requires_grad_()
    z2 = T.from_numpy(z2).requires_grad_()
    # SimCLR info_nce_loss (sthalles)
    features = T.cat([z1, z2], dim=0)
    n_views, bs = 2, z1.shape[0]
    labels = T.cat([T.arange(bs) for i in range(n_views)], dim=0)
    labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
    features = F.normalize(features, dim=1)
    similarity_matrix = T.matmul(features, features.T)
    mask = T.eye(labels.shape[0], dtype=T.bool)
    labels = labels[~mask].view(labels.shape[0], -1)
    similarity_matrix = similarity_matrix[~mask].view(similarity_matrix.shape[0], -1)
    positives = similarity_matrix[labels.bool()].view(labels.shape[0], -1)
    negatives = similarity_matrix[~labels.bool()].view(similarity_matrix.shape[0], -1)
    logits = T.cat([positives, negatives], dim=1)
    labels = T.zeros(logits.shape[0], dtype=T.long)
    logits = logits / tau
    loss = nn.CrossEntropyLoss()(logits, labels)
    # the other common form
    z = F.normalize(T.cat([z1, z2]), dim=1)
    sim = F.cosine_similarity(z.unsqueeze(1), z.unsqueeze(0), dim=2) / tau
    sim.fill_diagonal_(-float("inf"))
    N = z1.shape[0]
    target = T.cat([T.arange(N, 2 * N), T.arange(0, N)])
    loss2 = F.cross_entropy(sim, target)
    acc = (sim.argmax(dim=1) == target).float().mean()
    top5 = sim.topk(5, dim=1).indices
    (loss + loss2).backward()
    return [loss, loss2, acc, top5, z1.grad, z2.grad]

def mixup_cutmix(T, sd, x, y, lam, box, perm):
    nn, F = T.nn, T.nn.functional
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.GELU(), nn.AdaptiveMaxPool2d(2), nn.Flatten(),
                          nn.Dropout(0.0), nn.Linear(16, 5))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    x, y = T.from_numpy(x), T.from_numpy(y)
    index = T.from_numpy(perm)
    opt = T.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    out = []
    mixed_x = lam * x + (1 - lam) * x[index, :]
    y_a, y_b = y, y[index]
    pred = model(mixed_x)
    crit = nn.CrossEntropyLoss()
    loss = lam * crit(pred, y_a) + (1 - lam) * crit(pred, y_b)
    opt.zero_grad(); loss.backward(); opt.step(); out.append(loss)
    bbx1, bby1, bbx2, bby2 = box
    x2 = x.clone()
    x2[:, :, bbx1:bbx2, bby1:bby2] = x[index, :, bbx1:bbx2, bby1:bby2]
    lam2 = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (x.size()[-1] * x.size()[-2]))
    # torchvision-v2 style soft targets
    target = F.one_hot(y, num_classes=5).to(dtype=x.dtype)
    target = target.roll(1, 0).mul_(1.0 - lam2).add_(target.mul(lam2))
    pred = model(x2)
    loss = crit(pred, target) + F.cross_entropy(pred, y, label_smoothing=0.2)
    opt.zero_grad(); loss.backward(); opt.step(); out += [loss, x2, target]
    out.append(model.state_dict())
    return out

def ce_variants(T, logits, y, w):
    nn, F = T.nn, T.nn.functional
    out = []
    for ls in (0.0, 0.15):
        for red in ("mean", "sum", "none"):
            lg = T.from_numpy(logits).requires_grad_()
            crit = nn.CrossEntropyLoss(weight=T.from_numpy(w), ignore_index=-100 if red == "sum" else 2,
                                       reduction=red, label_smoothing=ls)
            l = crit(lg, T.from_numpy(y))
            l.sum().backward()
            out += [l, lg.grad]
    # nll with weights on 4d input
    lg = T.from_numpy(logits.reshape(2, 3, 5, 1)).requires_grad_()
    l = F.nll_loss(F.log_softmax(lg, 1), T.from_numpy(y.reshape(2, 5, 1)), weight=T.from_numpy(w), ignore_index=0)
    l.backward()
    out += [l, lg.grad]
    return out

def kd(T, s, t, y):
    nn, F = T.nn, T.nn.functional
    s = T.from_numpy(s).requires_grad_()
    t = T.from_numpy(t)
    Tt, alpha = 4.0, 0.7
    soft_loss = nn.KLDivLoss(reduction="batchmean")(F.log_softmax(s / Tt, dim=1), F.softmax(t / Tt, dim=1)) * (Tt * Tt)
    soft2 = nn.KLDivLoss(reduction="batchmean", log_target=True)(F.log_softmax(s / Tt, dim=-1),
                                                                  F.log_softmax(t / Tt, dim=-1)) * Tt ** 2
    soft3 = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction="sum") / s.numel()
    soft4 = F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), reduction="none", log_target=True)
    hard = F.cross_entropy(s, T.from_numpy(y))
    loss = alpha * soft_loss + (1 - alpha) * hard + soft2 + soft3 + soft4.mean()
    loss.backward()
    return [soft_loss, soft2, soft3, soft4, loss, s.grad]

def focal(T, x, y, yb):
    F = T.nn.functional
    x = T.from_numpy(x).requires_grad_()
    y, yb = T.from_numpy(y), T.from_numpy(yb)
    # torchvision.ops.sigmoid_focal_loss
    alpha, gamma = 0.25, 2
    p = T.sigmoid(x)
    ce_loss = F.binary_cross_entropy_with_logits(x, yb, reduction="none")
    p_t = p * yb + (1 - p) * (1 - yb)
    loss = ce_loss * ((1 - p_t) ** gamma)
    alpha_t = alpha * yb + (1 - alpha) * (1 - yb)
    loss = (alpha_t * loss).mean()
    # multiclass focal
    logp = F.log_softmax(x, dim=-1)
    ce = F.nll_loss(logp, y, reduction="none")
    pt = T.exp(-ce)
    mf = ((1 - pt) ** 2 * ce).mean()
    logpt = logp.gather(1, y.view(-1, 1)).view(-1)
    mf2 = -((1 - logpt.exp()) ** 2.5 * logpt).sum()
    pos_weight = T.ones(x.shape[1]) * 2
    bw = F.binary_cross_entropy_with_logits(x, yb, pos_weight=pos_weight, weight=T.linspace(0.5, 1, x.shape[1]))
    (loss + mf + mf2 + bw).backward()
    return [loss, mf, mf2, bw, x.grad]

def ce_ignored(T, logits, y, w):
    """Class-index (with -100 ignored) and probability targets, 3-d and 2-d, every weight/reduction/smoothing."""
    out = []
    for ls in (0.0, 0.15):
        for red in ("mean", "sum", "none"):
            for ww in (None, T.from_numpy(w)):
                lg = T.from_numpy(logits).requires_grad_()
                l = T.nn.CrossEntropyLoss(weight=ww, reduction=red, label_smoothing=ls)(lg, T.from_numpy(y))
                l.sum().backward(); out += [l, lg.grad]
                lg = T.from_numpy(logits[:, :, 0]).requires_grad_()
                l = T.nn.CrossEntropyLoss(weight=ww, reduction=red, label_smoothing=ls)(lg, T.from_numpy(y[:, 1]))
                l.sum().backward(); out += [l, lg.grad]
                # probabilities target
                p = T.softmax(T.from_numpy(logits * 2), 1)
                lg = T.from_numpy(logits).requires_grad_()
                l = T.nn.CrossEntropyLoss(weight=ww, reduction=red, label_smoothing=ls)(lg, p)
                l.sum().backward(); out += [l, lg.grad]
    return out

def wgan_gp(T, sdg, sdd, z, real, eps):
    nn, optim, autograd = T.nn, T.optim, T.autograd
    G = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2, inplace=True), nn.Linear(16, 6), nn.Tanh())
    D = nn.Sequential(nn.Linear(6, 16), nn.LeakyReLU(0.2, inplace=True), nn.utils.spectral_norm(nn.Linear(16, 16)),
                      nn.ELU(), nn.Linear(16, 1))
    if sdg is None:
        return _state(G), _state(D)
    _load(T, G, sdg); _load(T, D, sdd)
    optimizer_G = optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    optimizer_D = optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    def compute_gradient_penalty(D, real_samples, fake_samples, alpha):
        interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
        d_interpolates = D(interpolates)
        fake = T.ones(real_samples.shape[0], 1, requires_grad=False)
        gradients = autograd.grad(outputs=d_interpolates, inputs=interpolates, grad_outputs=fake,
                                  create_graph=True, retain_graph=True, only_inputs=True)[0]
        gradients = gradients.view(gradients.size(0), -1)
        return ((gradients.norm(2, dim=1) - 1) ** 2).mean()
    out = []
    for i in range(3):
        real_imgs = T.from_numpy(real[i])
        optimizer_D.zero_grad()
        zz = T.from_numpy(z[i])
        fake_imgs = G(zz)
        real_validity = D(real_imgs)
        fake_validity = D(fake_imgs)
        gp = compute_gradient_penalty(D, real_imgs.data, fake_imgs.data, T.from_numpy(eps[i]))
        d_loss = -T.mean(real_validity) + T.mean(fake_validity) + 10 * gp
        d_loss.backward()
        optimizer_D.step()
        out += [d_loss, gp, [p.grad for p in D.parameters()]]
        optimizer_G.zero_grad()
        fake_imgs = G(zz)
        g_loss = -T.mean(D(fake_imgs))
        g_loss.backward()
        optimizer_G.step()
        out += [g_loss, [p.grad for p in G.parameters()]]
    out += [G.state_dict(), D.state_dict()]
    return out

def ema(T, sd, xs):
    nn, optim = T.nn, T.optim
    swa_utils = import_module(T.__name__ + ".optim.swa_utils")
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    ema_model = copy.deepcopy(model)
    for p in ema_model.parameters():
        p.requires_grad_(False)
    avg = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
    avg2 = swa_utils.AveragedModel(model, avg_fn=swa_utils.get_ema_avg_fn(0.8), use_buffers=True)
    swa = swa_utils.AveragedModel(model)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sw = swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=2, anneal_strategy="cos")
    out = []
    for i, x in enumerate(xs):
        x = T.from_numpy(x)
        loss = model(x).pow(2).mean()
        (loss / 2).backward()
        if i % 2 == 1:  # gradient accumulation
            opt.step(); opt.zero_grad()
            with T.no_grad():
                ema_params = list(ema_model.parameters())
                model_params = list(model.parameters())
                T._foreach_mul_(ema_params, 0.99)
                T._foreach_add_(ema_params, model_params, alpha=1 - 0.99)
                T._foreach_lerp_(list(ema_model.buffers())[:2], list(model.buffers())[:2], 0.1)
            avg.update_parameters(model); avg2.update_parameters(model); swa.update_parameters(model)
            sw.step()
        out += [loss, sw.get_last_lr()]
    loader = [T.from_numpy(x) for x in xs]
    swa_utils.update_bn(loader, swa)
    out += [ema_model.state_dict(), avg.state_dict(), avg2.state_dict(), swa.state_dict()]
    x0 = T.from_numpy(xs[0])
    avg.eval(); swa.eval()
    out += [avg(x0), swa(x0)]
    return out

def realnvp(T, sd, x):
    nn = T.nn
    distributions = import_module(T.__name__ + ".distributions")
    class RealNVP(nn.Module):
        def __init__(self, nets, nett, mask, prior):
            super(RealNVP, self).__init__()
            self.prior = prior
            self.mask = nn.Parameter(mask, requires_grad=False)
            self.t = T.nn.ModuleList([nett() for _ in range(len(mask))])
            self.s = T.nn.ModuleList([nets() for _ in range(len(mask))])
        def g(self, z):
            x = z
            for i in range(len(self.t)):
                x_ = x * self.mask[i]
                s = self.s[i](x_) * (1 - self.mask[i])
                t = self.t[i](x_) * (1 - self.mask[i])
                x = x_ + (1 - self.mask[i]) * (x * T.exp(s) + t)
            return x
        def f(self, x):
            log_det_J, z = x.new_zeros(x.shape[0]), x
            for i in reversed(range(len(self.t))):
                z_ = self.mask[i] * z
                s = self.s[i](z_) * (1 - self.mask[i])
                t = self.t[i](z_) * (1 - self.mask[i])
                z = (1 - self.mask[i]) * (z - t) * T.exp(-s) + z_
                log_det_J -= s.sum(dim=1)
            return z, log_det_J
        def log_prob(self, x):
            z, logp = self.f(x)
            return self.prior.log_prob(z) + logp
    nets = lambda: nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(), nn.Linear(16, 16), nn.LeakyReLU(),
                                 nn.Linear(16, 2), nn.Tanh())
    nett = lambda: nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(), nn.Linear(16, 16), nn.LeakyReLU(),
                                 nn.Linear(16, 2))
    masks = T.from_numpy(np.array([[0, 1], [1, 0]] * 3).astype(np.float64))
    prior = distributions.MultivariateNormal(T.zeros(2), T.eye(2))
    flow = RealNVP(nets, nett, masks, prior)
    if sd is None:
        return _state(flow)
    _load(T, flow, sd)
    optimizer = T.optim.Adam([p for p in flow.parameters() if p.requires_grad == True], lr=1e-4)
    out = []
    for t in range(3):
        loss = -flow.log_prob(T.from_numpy(x)).mean()
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        optimizer.step()
        out.append(loss)
    z = T.from_numpy(x[:4])
    out.append(flow.g(flow.f(z)[0]))
    return out

def params_(T, sd, x):
    nn, F = T.nn, T.nn.functional
    P = import_module(T.__name__ + ".nn.utils.parametrizations")
    parametrize = import_module(T.__name__ + ".nn.utils.parametrize")
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = P.weight_norm(nn.Linear(4, 6), dim=0)
            self.b = P.spectral_norm(nn.Linear(6, 6), n_power_iterations=2)
            self.c = P.orthogonal(nn.Linear(6, 6))
            self.d = nn.utils.weight_norm(nn.Conv1d(2, 3, 3), name="weight")
            self.e = nn.Linear(6, 6)
        def forward(self, x):
            h = F.silu(self.a(x))
            h = self.b(h)
            h = self.c(h)
            y = self.d(h.view(-1, 2, 3)).flatten(1)
            return self.e(h).sum(1) + y.sum(1)
    class Sym(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)
    net = Net()
    parametrize.register_parametrization(net.e, "weight", Sym())
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    opt = T.optim.NAdam(net.parameters(), lr=1e-2)
    out = []
    for i in range(3):
        opt.zero_grad()
        with parametrize.cached():
            y = net(T.from_numpy(x))
        loss = y.pow(2).mean()
        loss.backward()
        opt.step()
        out += [loss, {n: p.grad for n, p in net.named_parameters()}]
    net.eval()
    out.append(net(T.from_numpy(x)))
    out.append(net.state_dict())
    out.append(net.c.weight @ net.c.weight.T)
    parametrize.remove_parametrizations(net.e, "weight")
    out.append(net.e.weight)
    return out

def capsule(T, u_hat0, W):
    F = T.nn.functional
    def squash(s, dim=-1):
        squared_norm = (s ** 2).sum(dim=dim, keepdim=True)
        return squared_norm / (1 + squared_norm) * s / (T.sqrt(squared_norm) + 1e-8)
    x = T.from_numpy(u_hat0).requires_grad_()   # (B, 8 in caps, 6 in dim)
    Wt = T.from_numpy(W).requires_grad_()       # (1, 8, 3 out caps, 4 out dim, 6)
    u = x[:, :, None, :, None]
    u_hat = T.matmul(Wt, u).squeeze(-1)        # B, in, out, 4
    b = T.zeros(u_hat.size(0), u_hat.size(1), u_hat.size(2), 1)
    u_hat_detached = u_hat.detach()
    for it in range(3):
        c = F.softmax(b, dim=2)
        if it == 2:
            s = (c * u_hat).sum(dim=1, keepdim=True)
            v = squash(s)
        else:
            s = (c * u_hat_detached).sum(dim=1, keepdim=True)
            v = squash(s)
            b = b + (u_hat_detached * v).sum(dim=-1, keepdim=True)
    v = v.squeeze(1)
    lengths = v.norm(dim=-1)
    target = F.one_hot(T.tensor([0, 2]), 3)
    left = F.relu(0.9 - lengths) ** 2
    right = F.relu(lengths - 0.1) ** 2
    margin_loss = (target * left + 0.5 * (1. - target) * right).sum(dim=1).mean()
    margin_loss.backward()
    return [v, lengths, margin_loss, x.grad, Wt.grad]

def pointnet(T, sd, pts, y):
    nn, F = T.nn, T.nn.functional
    class TNet(nn.Module):
        def __init__(self, k=3):
            super().__init__()
            self.k = k
            self.conv1 = nn.Conv1d(k, 16, 1)
            self.conv2 = nn.Conv1d(16, 32, 1)
            self.fc1 = nn.Linear(32, 16)
            self.fc2 = nn.Linear(16, k * k)
            self.bn1 = nn.BatchNorm1d(16)
            self.bn2 = nn.BatchNorm1d(32)
            self.bn3 = nn.BatchNorm1d(16)
        def forward(self, x):
            bs = x.size(0)
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            pool = nn.MaxPool1d(x.size(-1))(x)
            flat = nn.Flatten(1)(pool)
            x = F.relu(self.bn3(self.fc1(flat)))
            init = T.eye(self.k, requires_grad=True).repeat(bs, 1, 1)
            return self.fc2(x).view(-1, self.k, self.k) + init
    class PointNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_transform = TNet(k=3)
            self.conv1 = nn.Conv1d(3, 16, 1)
            self.conv2 = nn.Conv1d(16, 32, 1)
            self.bn1 = nn.BatchNorm1d(16)
            self.bn2 = nn.BatchNorm1d(32)
            self.fc = nn.Linear(32, 4)
            self.phi = nn.Sequential(nn.Linear(3, 8), nn.ReLU())
            self.rho = nn.Linear(8, 4)
        def forward(self, input):
            matrix3x3 = self.input_transform(input)
            xb = T.bmm(T.transpose(input, 1, 2), matrix3x3).transpose(1, 2)
            xb = F.relu(self.bn1(self.conv1(xb)))
            xb = self.bn2(self.conv2(xb))
            xb = nn.MaxPool1d(xb.size(-1))(xb)
            g, _ = T.max(xb, 2, keepdim=False)
            ds = self.rho(self.phi(input.transpose(1, 2)).sum(dim=1))   # DeepSets sum pooling
            ds2 = T.amax(self.phi(input.transpose(1, 2)), dim=1)
            return F.log_softmax(self.fc(nn.Flatten(1)(xb)), dim=1) + ds + ds2.mean(1, keepdim=True), matrix3x3
    def pointnetloss(outputs, labels, m3x3, alpha=0.0001):
        criterion = T.nn.NLLLoss()
        bs = outputs.size(0)
        id3x3 = T.eye(3, requires_grad=True).repeat(bs, 1, 1)
        diff3x3 = id3x3 - T.bmm(m3x3, m3x3.transpose(1, 2))
        return criterion(outputs, labels) + alpha * (T.norm(diff3x3)) / float(bs)
    net = PointNet()
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    opt = T.optim.Adam(net.parameters(), lr=1e-3)
    out = []
    for _ in range(2):
        opt.zero_grad()
        o, m = net(T.from_numpy(pts))
        loss = pointnetloss(o, T.from_numpy(y), m)
        loss.backward()
        opt.step()
        out += [loss, {n: p.grad for n, p in net.named_parameters()}]
    net.eval()
    with T.no_grad():
        o, m = net(T.from_numpy(pts))
        _, predicted = T.max(o.data, 1)
    out += [o, predicted, net.state_dict()]
    return out

def timeseq(T, sd, data):
    nn, optim = T.nn, T.optim
    class Sequence(nn.Module):
        def __init__(self):
            super(Sequence, self).__init__()
            self.lstm1 = nn.LSTMCell(1, 12)
            self.lstm2 = nn.LSTMCell(12, 12)
            self.linear = nn.Linear(12, 1)
        def forward(self, input, future=0):
            outputs = []
            h_t = T.zeros(input.size(0), 12, dtype=T.double)
            c_t = T.zeros(input.size(0), 12, dtype=T.double)
            h_t2 = T.zeros(input.size(0), 12, dtype=T.double)
            c_t2 = T.zeros(input.size(0), 12, dtype=T.double)
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for i in range(future):
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            outputs = T.cat(outputs, dim=1)
            return outputs
    input = T.from_numpy(data[3:, :-1])
    target = T.from_numpy(data[3:, 1:])
    test_input = T.from_numpy(data[:3, :-1])
    test_target = T.from_numpy(data[:3, 1:])
    seq = Sequence()
    seq.double()
    if sd is None:
        return _state(seq)
    _load(T, seq, sd)
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8, history_size=5, max_iter=6, line_search_fn="strong_wolfe")
    out = []
    for i in range(2):
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            loss.backward()
            return loss
        out.append(optimizer.step(closure))
        with T.no_grad():
            future = 5
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            y = pred.detach().numpy()
        out += [loss, y]
    return out

def stn(T, sd, x, y):
    nn, F = T.nn, T.nn.functional
    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=5)
            self.conv2 = nn.Conv2d(4, 6, kernel_size=3)
            self.conv2_drop = nn.Dropout2d(p=0.0)
            self.fc1 = nn.Linear(6 * 2 * 2, 10)
            self.fc2 = nn.Linear(10, 3)
            self.localization = nn.Sequential(
                nn.Conv2d(1, 4, kernel_size=5), nn.MaxPool2d(2, stride=2), nn.ReLU(True),
                nn.Conv2d(4, 5, kernel_size=3), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
            self.fc_loc = nn.Sequential(nn.Linear(5 * 2 * 2, 8), nn.ReLU(True), nn.Linear(8, 3 * 2))
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(T.tensor([1, 0, 0, 0, 1, 0], dtype=T.float))
        def stn(self, x, align):
            xs = self.localization(x)
            xs = xs.view(-1, 5 * 2 * 2)
            theta = self.fc_loc(xs)
            theta = theta.view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size(), align_corners=align)
            x = F.grid_sample(x, grid, align_corners=align)
            x2 = F.grid_sample(x, grid, mode="nearest", padding_mode="border", align_corners=align)
            x3 = F.grid_sample(x, grid * 1.3, padding_mode="reflection", align_corners=align)
            return x + 0.5 * x2.detach() + x3
        def forward(self, x, align):
            x = self.stn(x, align)
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 6 * 2 * 2)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=False)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)
    model = Net()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.SGD(model.parameters(), lr=0.05)
    out = []
    for align in (False, True, False):
        optimizer.zero_grad()
        output = model(T.from_numpy(x), align)
        loss = F.nll_loss(output, T.from_numpy(y))
        loss.backward()
        optimizer.step()
        out += [loss, {n: p.grad for n, p in model.named_parameters()}]
    return out

def crf(T, sd, sents, tags_):
    nn = T.nn
    START_TAG, STOP_TAG = "<START>", "<STOP>"
    tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}
    def argmax(vec):
        _, idx = T.max(vec, 1)
        return idx.item()
    def prepare_sequence(seq, to_ix):
        idxs = [to_ix[w] for w in seq]
        return T.tensor(idxs, dtype=T.long)
    def log_sum_exp(vec):
        max_score = vec[0, argmax(vec)]
        max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
        return max_score + T.log(T.sum(T.exp(vec - max_score_broadcast)))
    class BiLSTM_CRF(nn.Module):
        def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim):
            super(BiLSTM_CRF, self).__init__()
            self.embedding_dim = embedding_dim
            self.hidden_dim = hidden_dim
            self.vocab_size = vocab_size
            self.tag_to_ix = tag_to_ix
            self.tagset_size = len(tag_to_ix)
            self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, bidirectional=True)
            self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
            self.transitions = nn.Parameter(T.randn(self.tagset_size, self.tagset_size))
            self.transitions.data[tag_to_ix[START_TAG], :] = -10000
            self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000
            self.hidden = self.init_hidden()
        def init_hidden(self):
            return (T.zeros(2, 1, self.hidden_dim // 2), T.zeros(2, 1, self.hidden_dim // 2))
        def _forward_alg(self, feats):
            init_alphas = T.full((1, self.tagset_size), -10000.)
            init_alphas[0][self.tag_to_ix[START_TAG]] = 0.
            forward_var = init_alphas
            for feat in feats:
                alphas_t = []
                for next_tag in range(self.tagset_size):
                    emit_score = feat[next_tag].view(1, -1).expand(1, self.tagset_size)
                    trans_score = self.transitions[next_tag].view(1, -1)
                    next_tag_var = forward_var + trans_score + emit_score
                    alphas_t.append(log_sum_exp(next_tag_var).view(1))
                forward_var = T.cat(alphas_t).view(1, -1)
            terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
            return log_sum_exp(terminal_var)
        def _get_lstm_features(self, sentence):
            self.hidden = self.init_hidden()
            embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
            lstm_out, self.hidden = self.lstm(embeds, self.hidden)
            lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
            return self.hidden2tag(lstm_out)
        def _score_sentence(self, feats, tags):
            score = T.zeros(1)
            tags = T.cat([T.tensor([self.tag_to_ix[START_TAG]], dtype=T.long), tags])
            for i, feat in enumerate(feats):
                score = score + self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
            score = score + self.transitions[self.tag_to_ix[STOP_TAG], tags[-1]]
            return score
        def _viterbi_decode(self, feats):
            backpointers = []
            init_vvars = T.full((1, self.tagset_size), -10000.)
            init_vvars[0][self.tag_to_ix[START_TAG]] = 0
            forward_var = init_vvars
            for feat in feats:
                bptrs_t = []
                viterbivars_t = []
                for next_tag in range(self.tagset_size):
                    next_tag_var = forward_var + self.transitions[next_tag]
                    best_tag_id = argmax(next_tag_var)
                    bptrs_t.append(best_tag_id)
                    viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
                forward_var = (T.cat(viterbivars_t) + feat).view(1, -1)
                backpointers.append(bptrs_t)
            terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
            best_tag_id = argmax(terminal_var)
            path_score = terminal_var[0][best_tag_id]
            best_path = [best_tag_id]
            for bptrs_t in reversed(backpointers):
                best_tag_id = bptrs_t[best_tag_id]
                best_path.append(best_tag_id)
            start = best_path.pop()
            assert start == self.tag_to_ix[START_TAG]
            best_path.reverse()
            return path_score, best_path
        def neg_log_likelihood(self, sentence, tags):
            feats = self._get_lstm_features(sentence)
            forward_score = self._forward_alg(feats)
            gold_score = self._score_sentence(feats, tags)
            return forward_score - gold_score
        def forward(self, sentence):
            lstm_feats = self._get_lstm_features(sentence)
            score, tag_seq = self._viterbi_decode(lstm_feats)
            return score, tag_seq
    model = BiLSTM_CRF(10, tag_to_ix, 5, 4)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-4)
    out = []
    with T.no_grad():
        out.append(model(T.tensor(sents[0])))
    for s, t in zip(sents, tags_):
        model.zero_grad()
        loss = model.neg_log_likelihood(T.tensor(s), T.tensor(t, dtype=T.long))
        loss.backward()
        optimizer.step()
        out += [loss, model.transitions.grad]
    with T.no_grad():
        out.append(model(T.tensor(sents[0])))
    return out

def vqvae(T, sd, x):
    nn, F = T.nn, T.nn.functional
    class VectorQuantizer(nn.Module):
        def __init__(self, num_embeddings, embedding_dim, commitment_cost):
            super(VectorQuantizer, self).__init__()
            self._embedding_dim = embedding_dim
            self._num_embeddings = num_embeddings
            self._embedding = nn.Embedding(self._num_embeddings, self._embedding_dim)
            self._embedding.weight.data.uniform_(-1 / self._num_embeddings, 1 / self._num_embeddings)
            self._commitment_cost = commitment_cost
        def forward(self, inputs):
            inputs = inputs.permute(0, 2, 3, 1).contiguous()
            input_shape = inputs.shape
            flat_input = inputs.view(-1, self._embedding_dim)
            distances = (T.sum(flat_input ** 2, dim=1, keepdim=True)
                         + T.sum(self._embedding.weight ** 2, dim=1)
                         - 2 * T.matmul(flat_input, self._embedding.weight.t()))
            encoding_indices = T.argmin(distances, dim=1).unsqueeze(1)
            encodings = T.zeros(encoding_indices.shape[0], self._num_embeddings, device=inputs.device)
            encodings.scatter_(1, encoding_indices, 1)
            quantized = T.matmul(encodings, self._embedding.weight).view(input_shape)
            e_latent_loss = F.mse_loss(quantized.detach(), inputs)
            q_latent_loss = F.mse_loss(quantized, inputs.detach())
            loss = q_latent_loss + self._commitment_cost * e_latent_loss
            quantized = inputs + (quantized - inputs).detach()
            avg_probs = T.mean(encodings, dim=0)
            perplexity = T.exp(-T.sum(avg_probs * T.log(avg_probs + 1e-10)))
            d2 = T.cdist(flat_input, self._embedding.weight)
            return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, encodings, d2.argmin(1)
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.ReLU(), nn.Conv2d(8, 4, 3, 1, 1))
            self.vq = VectorQuantizer(6, 4, 0.25)
            self.dec = nn.Sequential(nn.ConvTranspose2d(4, 8, 3, 1, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(8, 1, 4, 2, 1))
        def forward(self, x):
            z = self.enc(x)
            loss, q, perp, enc, idx = self.vq(z)
            return loss, self.dec(q), perp, idx
    model = Model()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-3, amsgrad=False)
    out = []
    data_variance = float(np.var(x))
    for _ in range(3):
        opt.zero_grad()
        vq_loss, data_recon, perplexity, idx = model(T.from_numpy(x))
        recon_error = F.mse_loss(data_recon, T.from_numpy(x)) / data_variance
        loss = recon_error + vq_loss
        loss.backward()
        opt.step()
        out += [loss, perplexity, idx, {n: p.grad for n, p in model.named_parameters()}]
    return out

def swin(T, sd, x):
    nn = T.nn
    def window_partition(x, window_size):
        B, H, W, C = x.shape
        x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
        windows = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)
        return windows
    def window_reverse(windows, window_size, H, W):
        B = int(windows.shape[0] / (H * W / window_size / window_size))
        x = windows.view(B, H // window_size, W // window_size, window_size, window_size, -1)
        x = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)
        return x
    class WindowAttention(nn.Module):
        def __init__(self, dim, window_size, num_heads, qkv_bias=True, qk_scale=None):
            super().__init__()
            self.dim = dim
            self.window_size = window_size
            self.num_heads = num_heads
            head_dim = dim // num_heads
            self.scale = qk_scale or head_dim ** -0.5
            self.relative_position_bias_table = nn.Parameter(
                T.zeros((2 * window_size[0] - 1) * (2 * window_size[1] - 1), num_heads))
            coords_h = T.arange(self.window_size[0])
            coords_w = T.arange(self.window_size[1])
            coords = T.stack(T.meshgrid([coords_h, coords_w], indexing="ij"))
            coords_flatten = T.flatten(coords, 1)
            relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
            relative_coords = relative_coords.permute(1, 2, 0).contiguous()
            relative_coords[:, :, 0] += self.window_size[0] - 1
            relative_coords[:, :, 1] += self.window_size[1] - 1
            relative_coords[:, :, 0] *= 2 * self.window_size[1] - 1
            relative_position_index = relative_coords.sum(-1)
            self.register_buffer("relative_position_index", relative_position_index)
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim)
            T.nn.init.trunc_normal_(self.relative_position_bias_table, std=.02)
            self.softmax = nn.Softmax(dim=-1)
        def forward(self, x, mask=None):
            B_, N, C = x.shape
            qkv = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            q = q * self.scale
            attn = (q @ k.transpose(-2, -1))
            relative_position_bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(
                self.window_size[0] * self.window_size[1], self.window_size[0] * self.window_size[1], -1)
            relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()
            attn = attn + relative_position_bias.unsqueeze(0)
            if mask is not None:
                nW = mask.shape[0]
                attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
                attn = attn.view(-1, self.num_heads, N, N)
                attn = self.softmax(attn)
            else:
                attn = self.softmax(attn)
            x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
            return self.proj(x)
    class DropPath(nn.Module):
        def __init__(self, p):
            super().__init__(); self.drop_prob = p
        def forward(self, x):
            if self.drop_prob == 0. or not self.training:
                return x
            keep_prob = 1 - self.drop_prob
            shape = (x.shape[0],) + (1,) * (x.ndim - 1)
            random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
            random_tensor.fill_(1.0)
            return x.div(keep_prob) * random_tensor
    class SwinBlock(nn.Module):
        def __init__(self, dim, H, W, heads, ws, shift):
            super().__init__()
            self.H, self.W, self.ws, self.shift = H, W, ws, shift
            self.norm1 = nn.LayerNorm(dim)
            self.attn = WindowAttention(dim, (ws, ws), heads)
            self.drop_path = DropPath(0.1)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(approximate="tanh"), nn.Linear(2 * dim, dim))
            if self.shift > 0:
                img_mask = T.zeros((1, H, W, 1))
                h_slices = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
                w_slices = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
                cnt = 0
                for h in h_slices:
                    for w in w_slices:
                        img_mask[:, h, w, :] = cnt
                        cnt += 1
                mask_windows = window_partition(img_mask, ws)
                mask_windows = mask_windows.view(-1, ws * ws)
                attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
                attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))
            else:
                attn_mask = None
            self.register_buffer("attn_mask", attn_mask, persistent=False)
        def forward(self, x):
            H, W = self.H, self.W
            B, L, C = x.shape
            shortcut = x
            x = self.norm1(x).view(B, H, W, C)
            if self.shift > 0:
                shifted_x = T.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
            else:
                shifted_x = x
            x_windows = window_partition(shifted_x, self.ws).view(-1, self.ws * self.ws, C)
            attn_windows = self.attn(x_windows, mask=self.attn_mask).view(-1, self.ws, self.ws, C)
            shifted_x = window_reverse(attn_windows, self.ws, H, W)
            if self.shift > 0:
                x = T.roll(shifted_x, shifts=(self.shift, self.shift), dims=(1, 2))
            else:
                x = shifted_x
            x = shortcut + self.drop_path(x.view(B, H * W, C))
            x = x + self.drop_path(self.mlp(self.norm2(x)))
            return x
    model = nn.Sequential(SwinBlock(8, 4, 4, 2, 2, 0), SwinBlock(8, 4, 4, 2, 2, 1))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    def param_groups_lrd(model, weight_decay=0.05):
        decay, no_decay = [], []
        for n, p in model.named_parameters():
            if p.ndim == 1 or n.endswith(".bias") or "relative_position_bias_table" in n:
                no_decay.append(p)
            else:
                decay.append(p)
        return [{"params": no_decay, "weight_decay": 0.}, {"params": decay, "weight_decay": weight_decay}]
    opt = T.optim.AdamW(param_groups_lrd(model), lr=1e-3, betas=(0.9, 0.95))
    sched = T.optim.lr_scheduler.SequentialLR(opt, [T.optim.lr_scheduler.LinearLR(opt, 0.1, 1.0, 2),
                                                   T.optim.lr_scheduler.CosineAnnealingLR(opt, 4)], milestones=[2])
    out = []
    for _ in range(4):
        y = model(T.from_numpy(x))
        loss = y.square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step(); sched.step()
        out += [loss, sched.get_last_lr(), {n: p.grad for n, p in model.named_parameters()}]
    model.eval()
    out.append(model(T.from_numpy(x)))
    return out

def detr(T, boxes1, boxes2, logits, tgt_ids):
    from scipy.optimize import linear_sum_assignment
    def box_cxcywh_to_xyxy(x):
        x_c, y_c, w, h = x.unbind(-1)
        b = [(x_c - 0.5 * w), (y_c - 0.5 * h), (x_c + 0.5 * w), (y_c + 0.5 * h)]
        return T.stack(b, dim=-1)
    def box_area(boxes):
        return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    def box_iou(boxes1, boxes2):
        area1 = box_area(boxes1)
        area2 = box_area(boxes2)
        lt = T.max(boxes1[:, None, :2], boxes2[:, :2])
        rb = T.min(boxes1[:, None, 2:], boxes2[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[:, :, 0] * wh[:, :, 1]
        union = area1[:, None] + area2 - inter
        iou = inter / union
        return iou, union
    def generalized_box_iou(boxes1, boxes2):
        assert (boxes1[:, 2:] >= boxes1[:, :2]).all()
        assert (boxes2[:, 2:] >= boxes2[:, :2]).all()
        iou, union = box_iou(boxes1, boxes2)
        lt = T.min(boxes1[:, None, :2], boxes2[:, :2])
        rb = T.max(boxes1[:, None, 2:], boxes2[:, 2:])
        wh = (rb - lt).clamp(min=0)
        area = wh[:, :, 0] * wh[:, :, 1]
        return iou - (area - union) / area
    out_bbox = T.from_numpy(boxes1).requires_grad_()
    tgt_bbox = T.from_numpy(boxes2)
    out_logits = T.from_numpy(logits).requires_grad_()
    bs, num_queries = 1, out_logits.shape[0]
    out_prob = out_logits.flatten(0, 0).softmax(-1)
    tgt_ids = T.as_tensor(tgt_ids)
    cost_class = -out_prob[:, tgt_ids]
    cost_bbox = T.cdist(out_bbox, tgt_bbox, p=1)
    cost_giou = -generalized_box_iou(box_cxcywh_to_xyxy(out_bbox), box_cxcywh_to_xyxy(tgt_bbox))
    C = 5 * cost_bbox + 1 * cost_class + 2 * cost_giou
    C = C.view(bs, num_queries, -1).cpu()
    sizes = [len(tgt_ids)]
    indices = [linear_sum_assignment(c[i].detach()) for i, c in enumerate(C.split(sizes, -1))]
    indices = [(T.as_tensor(i, dtype=T.int64), T.as_tensor(j, dtype=T.int64)) for i, j in indices]
    src_idx, tgt_idx = indices[0]
    target_classes = T.full(out_logits.shape[:1], 4, dtype=T.int64)
    target_classes[src_idx] = tgt_ids[tgt_idx]
    empty_weight = T.ones(5); empty_weight[-1] = 0.1
    loss_ce = T.nn.functional.cross_entropy(out_logits, target_classes, empty_weight)
    src_boxes = out_bbox[src_idx]
    loss_bbox = T.nn.functional.l1_loss(src_boxes, tgt_bbox[tgt_idx], reduction='none').sum() / len(tgt_idx)
    loss_giou = (1 - T.diag(generalized_box_iou(box_cxcywh_to_xyxy(src_boxes),
                                                box_cxcywh_to_xyxy(tgt_bbox[tgt_idx])))).sum() / len(tgt_idx)
    loss = loss_ce + 5 * loss_bbox + 2 * loss_giou
    loss.backward()
    return [C, src_idx, tgt_idx, loss_ce, loss_bbox, loss_giou, out_bbox.grad, out_logits.grad]

def nerf(T, bins, weights, u, rgb, sigma, z):
    F = T.nn.functional
    def sample_pdf(bins, weights, N_samples, u):
        weights = weights + 1e-5
        pdf = weights / T.sum(weights, -1, keepdim=True)
        cdf = T.cumsum(pdf, -1)
        cdf = T.cat([T.zeros_like(cdf[..., :1]), cdf], -1)
        u = u.contiguous()
        inds = T.searchsorted(cdf, u, right=True)
        below = T.max(T.zeros_like(inds - 1), inds - 1)
        above = T.min((cdf.shape[-1] - 1) * T.ones_like(inds), inds)
        inds_g = T.stack([below, above], -1)
        matched_shape = [inds_g.shape[0], inds_g.shape[1], cdf.shape[-1]]
        cdf_g = T.gather(cdf.unsqueeze(1).expand(matched_shape), 2, inds_g)
        bins_g = T.gather(bins.unsqueeze(1).expand(matched_shape), 2, inds_g)
        denom = (cdf_g[..., 1] - cdf_g[..., 0])
        denom = T.where(denom < 1e-5, T.ones_like(denom), denom)
        t = (u - cdf_g[..., 0]) / denom
        samples = bins_g[..., 0] + t * (bins_g[..., 1] - bins_g[..., 0])
        return samples
    bins, weights = T.from_numpy(bins), T.from_numpy(weights).requires_grad_()
    s = sample_pdf(bins, weights, u.shape[-1], T.from_numpy(u))
    raw2alpha = lambda raw, dists, act_fn=F.relu: 1. - T.exp(-act_fn(raw) * dists)
    z_vals = T.from_numpy(z)
    z_vals, _ = T.sort(T.cat([z_vals, s.detach()], -1), -1)
    rgb_ = T.sigmoid(T.from_numpy(rgb).requires_grad_())
    sig = T.from_numpy(sigma).requires_grad_()
    dists = z_vals[..., 1:] - z_vals[..., :-1]
    dists = T.cat([dists, T.Tensor([1e10]).expand(dists[..., :1].shape)], -1)
    alpha = raw2alpha(sig[..., :dists.shape[-1]], dists)
    w = alpha * T.cumprod(T.cat([T.ones((alpha.shape[0], 1)), 1. - alpha + 1e-10], -1), -1)[:, :-1]
    rgb_map = T.sum(w[..., None] * rgb_[:, :dists.shape[-1]], -2)
    depth_map = T.sum(w * z_vals, -1)
    disp_map = 1. / T.max(1e-10 * T.ones_like(depth_map), depth_map / T.sum(w, -1))
    acc_map = T.sum(w, -1)
    loss = ((rgb_map - 0.5) ** 2).mean() + disp_map.mean() + s.sum()
    mse2psnr = lambda x: -10. * T.log(x) / T.log(T.Tensor([10.]))
    loss.backward()
    return [s, rgb_map, depth_map, disp_map, acc_map, loss, weights.grad, sig.grad, mse2psnr(loss.detach())]

def mdn(T, sd, x, y):
    nn, D = T.nn, import_module(T.__name__ + ".distributions")
    class MDN(nn.Module):
        def __init__(self, n_hidden, n_gaussians):
            super().__init__()
            self.z_h = nn.Sequential(nn.Linear(1, n_hidden), nn.Tanh())
            self.z_pi = nn.Linear(n_hidden, n_gaussians)
            self.z_sigma = nn.Linear(n_hidden, n_gaussians)
            self.z_mu = nn.Linear(n_hidden, n_gaussians)
        def forward(self, x):
            z_h = self.z_h(x)
            pi = nn.functional.softmax(self.z_pi(z_h), -1)
            sigma = T.exp(self.z_sigma(z_h))
            mu = self.z_mu(z_h)
            return pi, sigma, mu
    def mdn_loss_fn(pi, sigma, mu, y):
        m = D.Normal(loc=mu, scale=sigma)
        loss = T.exp(m.log_prob(y))
        loss = T.sum(loss * pi, dim=1)
        loss = -T.log(loss)
        return T.mean(loss)
    model = MDN(12, 3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters())
    out = []
    for _ in range(3):
        pi, sigma, mu = model(T.from_numpy(x))
        loss = mdn_loss_fn(pi, sigma, mu, T.from_numpy(y))
        mix = D.MixtureSameFamily(D.Categorical(probs=pi), D.Normal(mu, sigma))
        loss2 = -mix.log_prob(T.from_numpy(y[:, 0])).mean()
        opt.zero_grad(); (loss + loss2).backward(); opt.step()
        out += [loss, loss2, mix.mean, mix.variance, mix.cdf(T.from_numpy(y[:, 0]))]
    return out

def gradcam(T, sd, x):
    nn, F = T.nn, T.nn.functional
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    model.eval()
    acts, grads = {}, {}
    def fwd_hook(module, inp, out):
        acts["v"] = out.detach()
    def bwd_hook(module, grad_input, grad_output):
        grads["v"] = grad_output[0].detach()
    h1 = model[3].register_forward_hook(fwd_hook)
    h2 = model[3].register_full_backward_hook(bwd_hook)
    inp = T.from_numpy(x).requires_grad_(True)
    logits = model(inp)
    score = logits[:, logits.argmax(1)[0]].sum()
    model.zero_grad()
    score.backward()
    w = grads["v"].mean(dim=(2, 3), keepdim=True)
    cam = F.relu((w * acts["v"]).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=(10, 10), mode="bilinear", align_corners=False)
    cam = cam - cam.amin(dim=(2, 3), keepdim=True)
    cam = cam / (cam.amax(dim=(2, 3), keepdim=True) + 1e-8)
    h1.remove(); h2.remove()
    sal = inp.grad.abs().max(dim=1)[0]
    # FGSM + PGD
    eps, alpha = 0.03, 0.01
    x0 = T.from_numpy(x)
    y = T.tensor([1, 3])
    x_adv = x0.clone().detach().requires_grad_(True)
    loss = F.cross_entropy(model(x_adv), y)
    grad = T.autograd.grad(loss, x_adv)[0]
    fgsm = T.clamp(x0 + eps * grad.sign(), 0, 1)
    delta = T.zeros_like(x0).uniform_(-eps, eps) * 0 + 0.005
    delta.requires_grad = True
    for _ in range(3):
        loss = F.cross_entropy(model(x0 + delta), y)
        loss.backward()
        delta.data = (delta + alpha * delta.grad.detach().sign()).clamp(-eps, eps)
        delta.data = T.min(T.max(delta.detach(), -x0), 1 - x0)
        delta.grad.zero_()
    # integrated gradients
    baseline = T.zeros_like(x0)
    scaled = [baseline + (float(i) / 8) * (x0 - baseline) for i in range(0, 9)]
    gs = []
    for s in scaled:
        s = s.requires_grad_()
        out = F.softmax(model(s), dim=1)[:, 2].sum()
        gs.append(T.autograd.grad(out, s)[0])
    avg_grads = T.stack(gs[:-1]).mean(0)
    ig = (x0 - baseline) * avg_grads
    return [cam, sal, fgsm, delta, ig]

def dann(T, sd, xs, xt, ys):
    nn, F = T.nn, T.nn.functional
    class GradientReversal(T.autograd.Function):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.save_for_backward(x, alpha)
            return x.view_as(x)
        @staticmethod
        def backward(ctx, grad_output):
            x, alpha = ctx.saved_tensors
            grad_input = None
            if ctx.needs_input_grad[0]:
                grad_input = - alpha * grad_output
            return grad_input, None
    revgrad = GradientReversal.apply
    class GRL(nn.Module):
        def __init__(self, alpha):
            super().__init__()
            self.alpha = T.tensor(alpha, requires_grad=False)
        def forward(self, x):
            return revgrad(x, self.alpha)
    class STE(T.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            return (input > 0).to(input.dtype)
        @staticmethod
        def backward(ctx, grad_output):
            return F.hardtanh(grad_output)
    class Clamp(T.autograd.Function):
        @staticmethod
        def forward(ctx, i, lo, hi):
            ctx.mark_non_differentiable
            ctx.lo, ctx.hi = lo, hi
            ctx.save_for_backward(i)
            return i.clamp(lo, hi)
        @staticmethod
        def backward(ctx, g):
            i, = ctx.saved_tensors
            return g * ((i >= ctx.lo) & (i <= ctx.hi)).to(g.dtype), None, None
    feat = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    clf = nn.Linear(8, 2)
    disc = nn.Sequential(GRL(0.7), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 1))
    model = nn.ModuleDict({"feat": feat, "clf": clf, "disc": disc})
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, dampening=0.1)
    out = []
    for _ in range(3):
        fs, ft = feat(T.from_numpy(xs)), feat(T.from_numpy(xt))
        bits = STE.apply(fs)
        cl = Clamp.apply(ft, -0.5, 0.7)
        dom = disc(T.cat([fs, cl]))
        lab = T.cat([T.ones(len(xs), 1), T.zeros(len(xt), 1)])
        loss = F.cross_entropy(clf(fs), T.from_numpy(ys)) + F.binary_cross_entropy_with_logits(dom, lab) \
            + bits.mean() * 0.1
        opt.zero_grad(); loss.backward(); opt.step()
        out += [loss, {n: p.grad for n, p in model.named_parameters()}]
    return out

def gat(T, sd, x, edge_index):
    nn, F = T.nn, T.nn.functional
    class GATLayer(nn.Module):
        def __init__(self, in_f, out_f, heads):
            super().__init__()
            self.heads, self.out_f = heads, out_f
            self.W = nn.Linear(in_f, heads * out_f, bias=False)
            self.a_src = nn.Parameter(T.empty(1, heads, out_f))
            self.a_dst = nn.Parameter(T.empty(1, heads, out_f))
            nn.init.xavier_uniform_(self.a_src); nn.init.xavier_uniform_(self.a_dst)
        def forward(self, x, edge_index):
            N = x.size(0)
            h = self.W(x).view(N, self.heads, self.out_f)
            src, dst = edge_index
            e = F.leaky_relu((h * self.a_src).sum(-1)[src] + (h * self.a_dst).sum(-1)[dst], 0.2)
            e_max = T.zeros(N, self.heads).scatter_reduce(0, dst.unsqueeze(-1).expand_as(e), e, reduce="amax",
                                                          include_self=False)
            e = (e - e_max[dst]).exp()
            denom = T.zeros(N, self.heads).index_add_(0, dst, e)
            alpha = e / denom[dst]
            out = T.zeros(N, self.heads, self.out_f).index_add(0, dst, alpha.unsqueeze(-1) * h[src])
            out2 = T.zeros_like(out).scatter_add(0, dst.view(-1, 1, 1).expand(-1, self.heads, self.out_f),
                                                 alpha.unsqueeze(-1) * h[src])
            mean = T.zeros(N, self.heads).scatter_reduce(0, dst.unsqueeze(-1).expand_as(e), e, reduce="mean")
            return F.elu(out.flatten(1)), out2, mean
    model = GATLayer(5, 3, 2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    x = T.from_numpy(x).requires_grad_()
    o, o2, m = model(x, T.from_numpy(edge_index))
    (o.sum() + (o2 ** 2).sum() + m.sum()).backward()
    return [o, o2, m, x.grad, {n: p.grad for n, p in model.named_parameters()}]

def wavenet(T, sd, audio):
    nn, F = T.nn, T.nn.functional
    def mu_law_encoding(x, quantization_channels):
        mu = quantization_channels - 1.0
        if not x.is_floating_point():
            x = x.to(T.float)
        mu = T.tensor(mu, dtype=x.dtype)
        x_mu = T.sign(x) * T.log1p(mu * T.abs(x)) / T.log1p(mu)
        x_mu = ((x_mu + 1) / 2 * mu + 0.5).to(T.int64)
        return x_mu
    def mu_law_decoding(x_mu, quantization_channels):
        mu = quantization_channels - 1.0
        if not x_mu.is_floating_point():
            x_mu = x_mu.to(T.double)
        mu = T.tensor(mu, dtype=x_mu.dtype)
        x = ((x_mu) / mu) * 2 - 1.0
        x = T.sign(x) * (T.exp(T.abs(x) * T.log1p(mu)) - 1.0) / mu
        return x
    class CausalConv1d(nn.Conv1d):
        def __init__(self, in_c, out_c, k, dilation=1):
            super().__init__(in_c, out_c, k, dilation=dilation, padding=0)
            self.left = (k - 1) * dilation
        def forward(self, x):
            return super().forward(F.pad(x, (self.left, 0)))
    class ResBlock(nn.Module):
        def __init__(self, c, d):
            super().__init__()
            self.filt = CausalConv1d(c, c, 2, d)
            self.gate = CausalConv1d(c, c, 2, d)
            self.res = nn.Conv1d(c, c, 1)
            self.skip = nn.Conv1d(c, c, 1)
        def forward(self, x):
            z = T.tanh(self.filt(x)) * T.sigmoid(self.gate(x))
            return x + self.res(z), self.skip(z)
    class WaveNet(nn.Module):
        def __init__(self, q=16, c=6):
            super().__init__()
            self.q = q
            self.inp = CausalConv1d(q, c, 2)
            self.blocks = nn.ModuleList([ResBlock(c, 2 ** i) for i in range(3)])
            self.out = nn.Sequential(nn.ReLU(), nn.Conv1d(c, c, 1), nn.ReLU(), nn.Conv1d(c, q, 1))
        def forward(self, x):
            x = F.one_hot(x, self.q).transpose(1, 2).to(T.get_default_dtype())
            x = self.inp(x)
            skips = 0
            for b in self.blocks:
                x, s = b(x)
                skips = skips + s
            return self.out(skips)
    model = WaveNet()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    a = T.from_numpy(audio)
    q = mu_law_encoding(a, 16)
    rec = mu_law_decoding(q, 16)
    opt = T.optim.Adam(model.parameters(), lr=1e-3)
    out = [q, rec]
    for _ in range(2):
        logits = model(q[:, :-1])
        loss = F.cross_entropy(logits, q[:, 1:])
        opt.zero_grad(); loss.backward(); opt.step()
        out += [loss, logits.argmax(1)]
    return out

def oldstyle(T, sd, x, y):
    nn, F = T.nn, T.nn.functional
    from importlib import import_module
    Variable = import_module(T.__name__ + ".autograd").Variable
    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.fc1 = nn.Linear(4, 6)
            self.fc2 = nn.Linear(6, 3)
        def forward(self, x):
            return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)
    net = Net()
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Linear') != -1:
            m.bias.data.fill_(0.01)
    net.apply(weights_init)
    opt = T.optim.SGD(net.parameters(), lr=0.1)
    out = []
    X = Variable(T.DoubleTensor(x))
    Y = Variable(T.LongTensor(y.tolist()))
    for _ in range(2):
        opt.zero_grad()
        output = net(X)
        loss = F.nll_loss(output, Y)
        loss.backward()
        opt.step()
        pred = output.data.max(1, keepdim=True)[1]
        correct = pred.eq(Y.data.view_as(pred)).long().cpu().sum()
        out += [loss.data.item(), correct.item(), pred.type(T.FloatTensor).dtype == T.float32, pred]
    z = T.Tensor(2, 3).zero_()
    out.append(z.size())
    out.append(T.FloatTensor([1, 2]).type(T.DoubleTensor).dtype == T.float64)
    out.append(x.shape == tuple(X.size()))
    out.append(X.new_tensor([1.0, 2.0]).dtype == T.float64)
    out.append(X.new(2, 2).zero_().shape)
    return out

def resume(T, sd, xs, ys):
    nn, F = T.nn, T.nn.functional
    def build():
        m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
        _load(T, m, sd)
        opt = T.optim.Adam(m.parameters(), lr=1e-2, weight_decay=1e-4)
        sched = T.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0)
        warm = T.optim.lr_scheduler.LambdaLR(opt, lambda e: min(1.0, (e + 1) / 3))
        return m, opt, sched, warm
    def train(m, opt, sched, warm, steps):
        res = []
        for i in steps:
            m.train()
            loss = F.cross_entropy(m(T.from_numpy(xs[i])), T.from_numpy(ys[i]))
            opt.zero_grad(); loss.backward()
            T.nn.utils.clip_grad_norm_(m.parameters(), 0.5, error_if_nonfinite=True)
            opt.step(); warm.step()
            m.eval()
            with T.no_grad():
                acc = (m(T.from_numpy(xs[i])).argmax(1) == T.from_numpy(ys[i])).float().mean().item()
            sched.step(acc)
            res += [loss, acc, opt.param_groups[0]["lr"]]
        return res
    m, opt, sched, warm = build()
    full = train(m, opt, sched, warm, range(6))
    m, opt, sched, warm = build()
    part = train(m, opt, sched, warm, range(3))
    buf = io.BytesIO()
    T.save({"epoch": 3, "model_state_dict": m.state_dict(), "optimizer_state_dict": opt.state_dict(),
            "sched": sched.state_dict(), "warm": warm.state_dict(), "loss": part[-3]}, buf)
    buf.seek(0)
    ck = T.load(buf, weights_only=False)
    m2, opt2, sched2, warm2 = build()
    m2.load_state_dict(ck["model_state_dict"]); opt2.load_state_dict(ck["optimizer_state_dict"])
    sched2.load_state_dict(ck["sched"]); warm2.load_state_dict(ck["warm"])
    part += train(m2, opt2, sched2, warm2, range(3, 6))
    # progressive unfreezing: new group
    m3, opt3, _, _ = build()
    for p in m3[0].parameters():
        p.requires_grad_(False)
    opt4 = T.optim.SGD(filter(lambda p: p.requires_grad, m3.parameters()), lr=0.1, momentum=0.9)
    for i in range(3):
        if i == 2:
            for p in m3[0].parameters():
                p.requires_grad_(True)
            opt4.add_param_group({"params": m3[0].parameters(), "lr": 0.01})
        loss = F.cross_entropy(m3(T.from_numpy(xs[i])), T.from_numpy(ys[i]))
        opt4.zero_grad(); loss.backward(); opt4.step()
        part.append(loss)
    part.append(m3.state_dict())
    return full, part

def cyclegan(T, sds, A, B):
    nn = T.nn
    class ResnetBlock(nn.Module):
        def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
            super(ResnetBlock, self).__init__()
            conv_block = []
            p = 0
            if padding_type == 'reflect':
                conv_block += [nn.ReflectionPad2d(1)]
            elif padding_type == 'replicate':
                conv_block += [nn.ReplicationPad2d(1)]
            conv_block += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim), nn.ReLU(True)]
            if use_dropout:
                conv_block += [nn.Dropout(0.5)]
            if padding_type == 'reflect':
                conv_block += [nn.ReflectionPad2d(1)]
            elif padding_type == 'replicate':
                conv_block += [nn.ReplicationPad2d(1)]
            conv_block += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim)]
            self.conv_block = nn.Sequential(*conv_block)
        def forward(self, x):
            return x + self.conv_block(x)
    class ResnetGenerator(nn.Module):
        def __init__(self, input_nc, output_nc, ngf=4, norm_layer=nn.BatchNorm2d, n_blocks=1, padding_type='reflect'):
            super(ResnetGenerator, self).__init__()
            if type(norm_layer) == functools.partial:
                use_bias = norm_layer.func == nn.InstanceNorm2d
            else:
                use_bias = norm_layer == nn.InstanceNorm2d
            model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                     norm_layer(ngf), nn.ReLU(True)]
            model += [nn.Conv2d(ngf, ngf * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                      norm_layer(ngf * 2), nn.ReLU(True)]
            for i in range(n_blocks):
                model += [ResnetBlock(ngf * 2, padding_type=padding_type, norm_layer=norm_layer, use_dropout=False,
                                      use_bias=use_bias)]
            model += [nn.ConvTranspose2d(ngf * 2, ngf, kernel_size=3, stride=2, padding=1, output_padding=1,
                                         bias=use_bias), norm_layer(ngf), nn.ReLU(True)]
            model += [nn.ReflectionPad2d(3)]
            model += [nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0)]
            model += [nn.Tanh()]
            self.model = nn.Sequential(*model)
        def forward(self, input):
            return self.model(input)
    class NLayerDiscriminator(nn.Module):
        def __init__(self, input_nc, ndf=4, n_layers=2, norm_layer=nn.BatchNorm2d):
            super(NLayerDiscriminator, self).__init__()
            if type(norm_layer) == functools.partial:
                use_bias = norm_layer.func == nn.InstanceNorm2d
            else:
                use_bias = norm_layer == nn.InstanceNorm2d
            kw, padw = 4, 1
            sequence = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]
            nf_mult = 1
            for n in range(1, n_layers):
                nf_mult_prev = nf_mult
                nf_mult = min(2 ** n, 8)
                sequence += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kernel_size=kw, stride=2, padding=padw,
                                       bias=use_bias), norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
            sequence += [nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw)]
            self.model = nn.Sequential(*sequence)
        def forward(self, input):
            return self.model(input)
    norm = functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    G_A, G_B = ResnetGenerator(3, 3, norm_layer=norm), ResnetGenerator(3, 3, norm_layer=norm)
    D_A, D_B = NLayerDiscriminator(3, norm_layer=norm), NLayerDiscriminator(3, norm_layer=norm)
    nets = [G_A, G_B, D_A, D_B]
    if sds is None:
        return [_state(n) for n in nets]
    for n, s in zip(nets, sds):
        _load(T, n, s)
    class GANLoss(nn.Module):
        def __init__(self, gan_mode, target_real_label=1.0, target_fake_label=0.0):
            super(GANLoss, self).__init__()
            self.register_buffer('real_label', T.tensor(target_real_label))
            self.register_buffer('fake_label', T.tensor(target_fake_label))
            self.loss = nn.MSELoss() if gan_mode == 'lsgan' else nn.BCEWithLogitsLoss()
        def get_target_tensor(self, prediction, target_is_real):
            target_tensor = self.real_label if target_is_real else self.fake_label
            return target_tensor.expand_as(prediction)
        def __call__(self, prediction, target_is_real):
            return self.loss(prediction, self.get_target_tensor(prediction, target_is_real))
    crit = GANLoss("lsgan").double()
    crit_v = GANLoss("vanilla").double()
    l1 = T.nn.L1Loss()
    optimizer_G = T.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    optimizer_D = T.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    def lambda_rule(epoch):
        return 1.0 - max(0, epoch + 1 - 1) / float(2 + 1)
    schedulers = [T.optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda_rule) for o in (optimizer_G, optimizer_D)]
    def set_requires_grad(nets, requires_grad=False):
        for net in nets:
            for param in net.parameters():
                param.requires_grad = requires_grad
    out = []
    for i in range(2):
        real_A, real_B = T.from_numpy(A[i]), T.from_numpy(B[i])
        fake_B = G_A(real_A); rec_A = G_B(fake_B); fake_A = G_B(real_B); rec_B = G_A(fake_A)
        set_requires_grad([D_A, D_B], False)
        optimizer_G.zero_grad()
        idt_A = G_A(real_B); idt_B = G_B(real_A)
        loss_idt = l1(idt_A, real_B) * 5 + l1(idt_B, real_A) * 5
        loss_G = crit(D_A(fake_B), True) + crit_v(D_B(fake_A), True) + l1(rec_A, real_A) * 10 + \
            l1(rec_B, real_B) * 10 + loss_idt
        loss_G.backward()
        optimizer_G.step()
        set_requires_grad([D_A, D_B], True)
        optimizer_D.zero_grad()
        def backward_D_basic(netD, real, fake, c):
            loss_D = (c(netD(real), True) + c(netD(fake.detach()), False)) * 0.5
            loss_D.backward()
            return loss_D
        lda = backward_D_basic(D_A, real_B, fake_B, crit)
        ldb = backward_D_basic(D_B, real_A, fake_A, crit_v)
        optimizer_D.step()
        for s in schedulers:
            s.step()
        out += [loss_G, lda, ldb, optimizer_G.param_groups[0]["lr"]]
    out += [n.state_dict() for n in nets]
    return out


def nanogpt(T, sd, data, flash):
    nn, F = T.nn, T.nn.functional
    class LayerNorm(nn.Module):
        def __init__(self, ndim, bias):
            super().__init__()
            self.weight = nn.Parameter(T.ones(ndim))
            self.bias = nn.Parameter(T.zeros(ndim)) if bias else None
        def forward(self, input):
            return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)
    class CausalSelfAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            assert config.n_embd % config.n_head == 0
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
            self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
            self.attn_dropout = nn.Dropout(config.dropout)
            self.resid_dropout = nn.Dropout(config.dropout)
            self.n_head = config.n_head
            self.n_embd = config.n_embd
            self.dropout = config.dropout
            self.flash = hasattr(T.nn.functional, 'scaled_dot_product_attention') and flash
            if not self.flash:
                self.register_buffer("bias", T.tril(T.ones(config.block_size, config.block_size))
                                     .view(1, 1, config.block_size, config.block_size))
        def forward(self, x):
            B, Tt, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, Tt, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, Tt, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, Tt, self.n_head, C // self.n_head).transpose(1, 2)
            if self.flash:
                y = T.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=None,
                                                                 dropout_p=self.dropout if self.training else 0,
                                                                 is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
                att = att.masked_fill(self.bias[:, :, :Tt, :Tt] == 0, float('-inf'))
                att = F.softmax(att, dim=-1)
                att = self.attn_dropout(att)
                y = att @ v
            y = y.transpose(1, 2).contiguous().view(B, Tt, C)
            y = self.resid_dropout(self.c_proj(y))
            return y
    class MLP(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
            self.dropout = nn.Dropout(config.dropout)
        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))
    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
            self.mlp = MLP(config)
        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x
    @dataclass
    class GPTConfig:
        block_size: int = 8
        vocab_size: int = 11
        n_layer: int = 2
        n_head: int = 2
        n_embd: int = 8
        dropout: float = 0.0
        bias: bool = True
    class GPT(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            ))
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight
            self.apply(self._init_weights)
            for pn, p in self.named_parameters():
                if pn.endswith('c_proj.weight'):
                    T.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))
        def get_num_params(self, non_embedding=True):
            n_params = sum(p.numel() for p in self.parameters())
            if non_embedding:
                n_params -= self.transformer.wpe.weight.numel()
            return n_params
        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                T.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    T.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                T.nn.init.normal_(module.weight, mean=0.0, std=0.02)
        def forward(self, idx, targets=None):
            device = idx.device
            b, t = idx.size()
            assert t <= self.config.block_size
            pos = T.arange(0, t, dtype=T.long, device=device)
            tok_emb = self.transformer.wte(idx)
            pos_emb = self.transformer.wpe(pos)
            x = self.transformer.drop(tok_emb + pos_emb)
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            if targets is not None:
                logits = self.lm_head(x)
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
            else:
                logits = self.lm_head(x[:, [-1], :])
                loss = None
            return logits, loss
        def crop_block_size(self, block_size):
            assert block_size <= self.config.block_size
            self.config.block_size = block_size
            self.transformer.wpe.weight = nn.Parameter(self.transformer.wpe.weight[:block_size])
            for block in self.transformer.h:
                if hasattr(block.attn, 'bias'):
                    block.attn.bias = block.attn.bias[:, :, :block_size, :block_size]
        def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
            param_dict = {pn: p for pn, p in self.named_parameters()}
            param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
            decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
            nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
            optim_groups = [
                {'params': decay_params, 'weight_decay': weight_decay},
                {'params': nodecay_params, 'weight_decay': 0.0}
            ]
            fused_available = 'fused' in inspect.signature(T.optim.AdamW).parameters
            use_fused = fused_available and device_type == 'cuda'
            extra_args = dict(fused=True) if use_fused else dict()
            optimizer = T.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
            return optimizer
        @T.no_grad()
        def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
            for _ in range(max_new_tokens):
                idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
                logits, _ = self(idx_cond)
                logits = logits[:, -1, :] / temperature
                if top_k is not None:
                    v, _ = T.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float('Inf')
                probs = F.softmax(logits, dim=-1)
                idx_next = T.argmax(probs, dim=-1, keepdim=True)
                idx = T.cat((idx, idx_next), dim=1)
            return idx
    model = GPT(GPTConfig())
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    out = [model.get_num_params(), model.lm_head.weight is model.transformer.wte.weight]
    optimizer = model.configure_optimizers(0.1, 6e-3, (0.9, 0.95), "cpu")
    ctx = nullcontext()
    scaler = T.cuda.amp.GradScaler(enabled=False)
    def get_lr(it, warmup_iters=2, lr_decay_iters=6, learning_rate=6e-3, min_lr=6e-4):
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        if it > lr_decay_iters:
            return min_lr
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return min_lr + coeff * (learning_rate - min_lr)
    def get_batch(i):
        ix = data["ix"][i]
        x = T.stack([T.from_numpy((data["tokens"][j:j + 8]).astype(np.int64)) for j in ix])
        y = T.stack([T.from_numpy((data["tokens"][j + 1:j + 1 + 8]).astype(np.int64)) for j in ix])
        return x, y
    X, Y = get_batch(0)
    for it in range(5):
        lr = get_lr(it)
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
        for micro_step in range(2):
            with ctx:
                logits, loss = model(X, Y)
                loss = loss / 2
            X, Y = get_batch(it * 2 + micro_step + 1)
            scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        T.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        out += [loss.item() * 2, {n: p.grad for n, p in model.named_parameters()}]
        optimizer.zero_grad(set_to_none=True)
    model.eval()
    out.append(model.generate(T.tensor([[1, 2, 3]]), 7, temperature=0.8, top_k=4))
    model.crop_block_size(6)
    out.append(model(T.tensor([[1, 2, 3, 4, 5, 6]]))[0])
    out.append(model.state_dict())
    return out


def audio(T, sd, wav, target):
    nn, F = T.nn, T.nn.functional
    def stft(x, fft_size, hop_size, win_length, window):
        x_stft = T.stft(x, fft_size, hop_size, win_length, window, return_complex=True)
        real = x_stft.real
        imag = x_stft.imag
        return T.sqrt(T.clamp(real ** 2 + imag ** 2, min=1e-7)).transpose(2, 1)
    class SpectralConvergengeLoss(nn.Module):
        def forward(self, x_mag, y_mag):
            return T.norm(y_mag - x_mag, p="fro") / T.norm(y_mag, p="fro")
    class LogSTFTMagnitudeLoss(nn.Module):
        def forward(self, x_mag, y_mag):
            return F.l1_loss(T.log(y_mag), T.log(x_mag))
    class STFTLoss(nn.Module):
        def __init__(self, fft_size=32, shift_size=8, win_length=24, window="hann_window"):
            super().__init__()
            self.fft_size, self.shift_size, self.win_length = fft_size, shift_size, win_length
            self.register_buffer("window", getattr(T, window)(win_length))
            self.spectral_convergenge_loss = SpectralConvergengeLoss()
            self.log_stft_magnitude_loss = LogSTFTMagnitudeLoss()
        def forward(self, x, y):
            x_mag = stft(x, self.fft_size, self.shift_size, self.win_length, self.window)
            y_mag = stft(y, self.fft_size, self.shift_size, self.win_length, self.window)
            return self.spectral_convergenge_loss(x_mag, y_mag), self.log_stft_magnitude_loss(x_mag, y_mag)
    class MultiResolutionSTFTLoss(nn.Module):
        def __init__(self, fft_sizes=[32, 64, 16], hop_sizes=[8, 16, 4], win_lengths=[24, 48, 12],
                     window="hann_window"):
            super().__init__()
            self.stft_losses = T.nn.ModuleList()
            for fs, ss, wl in zip(fft_sizes, hop_sizes, win_lengths):
                self.stft_losses += [STFTLoss(fs, ss, wl, window)]
        def forward(self, x, y):
            sc_loss = 0.0
            mag_loss = 0.0
            for f in self.stft_losses:
                sc_l, mag_l = f(x, y)
                sc_loss += sc_l
                mag_loss += mag_l
            sc_loss /= len(self.stft_losses)
            mag_loss /= len(self.stft_losses)
            return sc_loss, mag_loss
    def _hz_to_mel(freq):
        return 2595.0 * math.log10(1.0 + (freq / 700.0))
    def _mel_to_hz(mels):
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    def _create_triangular_filterbank(all_freqs, f_pts):
        f_diff = f_pts[1:] - f_pts[:-1]
        slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
        zero = T.zeros(1)
        down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
        up_slopes = slopes[:, 2:] / f_diff[1:]
        fb = T.max(zero, T.min(down_slopes, up_slopes))
        return fb
    def melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate):
        all_freqs = T.linspace(0, sample_rate // 2, n_freqs)
        m_min = _hz_to_mel(f_min)
        m_max = _hz_to_mel(f_max)
        m_pts = T.linspace(m_min, m_max, n_mels + 2)
        f_pts = _mel_to_hz(m_pts)
        fb = _create_triangular_filterbank(all_freqs, f_pts)
        enorm = 2.0 / (f_pts[2: n_mels + 2] - f_pts[:n_mels])
        fb *= enorm.unsqueeze(0)
        return fb
    def amplitude_to_DB(x, multiplier, amin, db_multiplier, top_db=None):
        x_db = multiplier * T.log10(T.clamp(x, min=amin))
        x_db -= multiplier * db_multiplier
        if top_db is not None:
            shape = x_db.size()
            packed_channels = shape[-3] if x_db.dim() > 2 else 1
            x_db = x_db.reshape(-1, packed_channels, shape[-2], shape[-1])
            x_db = T.max(x_db, (x_db.amax(dim=(-3, -2, -1)) - top_db).view(-1, 1, 1, 1))
            x_db = x_db.reshape(shape)
        return x_db
    model = nn.Sequential(nn.Conv1d(1, 4, 5, padding=2), nn.Tanh(), nn.Conv1d(4, 1, 5, padding=2))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    crit = MultiResolutionSTFTLoss().double()
    opt = T.optim.Adam(model.parameters(), lr=1e-3)
    out = []
    x, y = T.from_numpy(wav), T.from_numpy(target)
    for _ in range(2):
        pred = model(x.unsqueeze(1)).squeeze(1)
        sc, mag = crit(pred, y)
        loss = sc + mag + F.l1_loss(pred, y)
        opt.zero_grad(); loss.backward(); opt.step()
        out += [sc, mag, {n: p.grad for n, p in model.named_parameters()}]
    win = T.hann_window(32, periodic=True)
    spec = T.stft(y, 32, 8, window=win, center=True, pad_mode="reflect", normalized=False, onesided=True,
                  return_complex=True)
    power = spec.abs().pow(2.0)
    fb = melscale_fbanks(17, 0.0, 4000.0, 6, 8000)
    mel = T.matmul(power.transpose(-1, -2), fb).transpose(-1, -2)
    db = amplitude_to_DB(mel, 10.0, 1e-10, 0.0, top_db=80.0)
    rec = T.istft(spec, 32, 8, window=win, length=y.shape[-1])
    phase = T.angle(spec)
    rebuilt = T.polar(spec.abs(), phase)
    out += [power, fb, mel, db, rec, T.view_as_real(rebuilt)]
    return out


def finetune(T, sd, phases):
    nn = T.nn
    device = T.device("cuda:0" if T.cuda.is_available() else "cpu")
    assert T.backends.cudnn.benchmark is False  # (the tutorial sets it True: a global we leave alone)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)),
                          nn.Flatten(), nn.Dropout(0.0), nn.Linear(4, 3))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    model = model.to(device)
    for param in model[0].parameters():
        param.requires_grad = False
    criterion = nn.CrossEntropyLoss()
    optimizer_ft = T.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.01, momentum=0.9)
    exp_lr_scheduler = T.optim.lr_scheduler.StepLR(optimizer_ft, step_size=1, gamma=0.1)
    best_model_wts = copy.deepcopy(model.state_dict())
    best_acc = 0.0
    out = []
    class AverageMeter(object):
        def __init__(self):
            self.reset()
        def reset(self):
            self.val = self.avg = self.sum = self.count = 0
        def update(self, val, n=1):
            self.val = val; self.sum += val * n; self.count += n; self.avg = self.sum / self.count
    def accuracy(output, target, topk=(1,)):
        with T.no_grad():
            maxk = max(topk)
            batch_size = target.size(0)
            _, pred = output.topk(maxk, 1, True, True)
            pred = pred.t()
            correct = pred.eq(target.view(1, -1).expand_as(pred))
            res = []
            for k in topk:
                correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
                res.append(correct_k.mul_(100.0 / batch_size))
            return res
    top1, top2 = AverageMeter(), AverageMeter()
    for epoch in range(2):
        for phase in ['train', 'val']:
            if phase == 'train':
                model.train()
            else:
                model.eval()
            running_loss = 0.0
            running_corrects = 0
            for inputs, labels in phases[phase]:
                inputs = T.from_numpy(inputs).to(device)
                labels = T.from_numpy(labels).to(device)
                optimizer_ft.zero_grad()
                with T.set_grad_enabled(phase == 'train'):
                    outputs = model(inputs)
                    _, preds = T.max(outputs, 1)
                    loss = criterion(outputs, labels)
                    if phase == 'train':
                        loss.backward()
                        optimizer_ft.step()
                    out.append(loss.requires_grad)
                running_loss += loss.item() * inputs.size(0)
                running_corrects += T.sum(preds == labels.data)
                a1, a2 = accuracy(outputs, labels, topk=(1, 2))
                top1.update(a1[0], inputs.size(0)); top2.update(a2[0].item(), inputs.size(0))
            if phase == 'train':
                exp_lr_scheduler.step()
            epoch_loss = running_loss / 8
            epoch_acc = running_corrects.double() / 8
            out += [epoch_loss, epoch_acc, str(running_corrects.dtype)]
            if phase == 'val' and epoch_acc > best_acc:
                best_acc = epoch_acc
                best_model_wts = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_model_wts)
    out += [best_acc, top1.avg, top2.avg, model.state_dict()]
    return out

# ---------------------------------------------------------------------------------------------------------- the tests
def _rng():
    return np.random.default_rng(0)


def test_reinforce_and_actor_critic(torch):
    """pytorch/examples reinforcement_learning: REINFORCE (Categorical log_prob, returns normalised with std + eps,
    torch.tensor of a deque) and actor-critic (smooth_l1_loss against torch.tensor([R]) of a 0-d tensor, stack)."""
    rng = _rng()
    episodes = [(rng.standard_normal((n, 4)), rng.integers(0, 2, n).tolist(), rng.random(n).tolist()) for n in (7, 5)]
    sd = {"affine1.weight": rng.standard_normal((128, 4)) * .3, "affine1.bias": rng.standard_normal(128) * .1,
          "affine2.weight": rng.standard_normal((2, 128)) * .1, "affine2.bias": rng.standard_normal(2) * .1}
    _compare(reinforce(tg, sd, episodes), reinforce(torch, sd, episodes))
    sd = {"affine1.weight": sd["affine1.weight"], "affine1.bias": sd["affine1.bias"],
          "action_head.weight": sd["affine2.weight"], "action_head.bias": sd["affine2.bias"],
          "value_head.weight": rng.standard_normal((1, 128)) * .1, "value_head.bias": rng.standard_normal(1) * .1}
    _compare(actor_critic(tg, sd, episodes), actor_critic(torch, sd, episodes))


def test_dqn_replay_buffer_and_soft_target_update(torch):
    """The PyTorch DQN tutorial's optimize_model: gather, max(1).values into a masked slice, SmoothL1Loss, AdamW
    amsgrad, clip_grad_value_, a soft update of the target net through state_dict arithmetic."""
    rng = _rng()
    sd = dqn(torch, None, None)
    data = [(rng.standard_normal(4), int(rng.integers(0, 3)), None if i % 5 == 4 else rng.standard_normal(4),
             rng.random()) for i in range(12)]
    _compare(dqn(tg, sd, data), dqn(torch, sd, data))


def test_ppo_clipped_objective_with_gae(torch):
    """CleanRL's ppo.py update: orthogonal init, GAE in reverse under no_grad, minibatches indexed by numpy ints,
    the clipped policy and value losses, entropy bonus, clip_grad_norm_, lr annealed in param_groups."""
    rng = _rng()
    sd = ppo(torch, None, None)
    data = {"obs0": rng.standard_normal((4, 5)), "acts": {u: rng.integers(0, 3, (6, 4)) for u in (1, 2)},
            "rew": {u: rng.random((6, 4)) for u in (1, 2)}, "obs": {u: rng.standard_normal((6, 4, 5)) for u in (1, 2)},
            "done": {u: (rng.random((6, 4)) < .2).astype(float) for u in (1, 2)}}
    _compare(ppo(tg, sd, data), ppo(torch, sd, data))


@pytest.mark.parametrize("sched", ["onecycle", "warm_restarts"])
def test_resnet_basic_blocks_sgd_nesterov_and_schedules(torch, sched):
    """torchvision's ResNet (BasicBlock, downsample, zero-init residual BN replaced by random weights), train then
    eval mode, SGD nesterov + weight decay, OneCycleLR or CosineAnnealingWarmRestarts stepped by fractional epochs,
    label smoothing."""
    rng = _rng()
    sd = resnet(torch, None, None, None)
    for k in sd:
        if k.endswith("bn2.weight"):
            sd[k] = rng.random(sd[k].shape)
    data = [(rng.standard_normal((4, 3, 16, 16)), rng.integers(0, 5, 4)) for _ in range(2)]
    _compare(resnet(tg, sd, data, sched), resnet(torch, sd, data, sched))


def test_unet_transposed_and_bilinear_up_with_dice(torch):
    """milesial's Pytorch-UNet: DoubleConv, MaxPool down, ConvTranspose2d or Upsample(bilinear, align_corners) up,
    F.pad to the skip's odd size, cat; cross entropy + Dice over one_hot(...).permute; RMSprop foreach."""
    rng = _rng()
    sd = dict(enumerate(unet(torch, None, None, None)))
    x, y = rng.standard_normal((2, 2, 13, 11)), rng.integers(0, 3, (2, 13, 11))
    _compare(unet(tg, sd, x, y), unet(torch, sd, x, y))


def test_pixel_shuffle_super_resolution(torch):
    """pytorch/examples super_resolution: orthogonal_ with calculate_gain('relu'), PixelShuffle, PSNR; then
    PixelUnshuffle inverts it."""
    rng = _rng()
    sd = sr(torch, None, None, None)
    x, y = rng.random((2, 1, 8, 7)), rng.random((2, 1, 24, 21))
    _compare(sr(tg, sd, x, y), sr(torch, sd, x, y))


def test_siamese_contrastive_and_triplet_losses(torch):
    """A siamese net with a contrastive loss of pairwise_distance, TripletMarginLoss(swap=True),
    TripletMarginWithDistanceLoss(cosine), BCELoss, cosine embedding, margin ranking and hinge embedding losses;
    Adadelta + StepLR."""
    rng = _rng()
    sd = siamese(torch, None, None, None, None, None)
    a, b, c = (rng.standard_normal((4, 1, 8, 8)) for _ in range(3))
    lab = rng.integers(0, 2, (4, 1)).astype(float)
    _compare(siamese(tg, sd, a, b, c, lab), siamese(torch, sd, a, b, c, lab))


def test_simclr_nt_xent(torch):
    """SimCLR's info_nce_loss (boolean-mask selection of positives/negatives) and the cosine_similarity form with
    fill_diagonal_(-inf), argmax accuracy and topk."""
    rng = _rng()
    z1, z2 = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    _compare(ntxent(tg, z1, z2), ntxent(torch, z1, z2))


def test_mixup_and_cutmix_steps(torch):
    """mixup (lam-mixed inputs, two cross entropies) and cutmix (a box pasted from a permutation, soft one-hot
    targets rolled and mixed in place), with label smoothing; AdamW."""
    rng = _rng()
    sd = mixup_cutmix(torch, None, None, None, None, None, None)
    x, y, perm = rng.standard_normal((4, 3, 6, 6)), rng.integers(0, 5, 4), rng.permutation(4)
    _compare(mixup_cutmix(tg, sd, x, y, 0.3, (1, 2, 4, 5), perm),
             mixup_cutmix(torch, sd, x, y, 0.3, (1, 2, 4, 5), perm))


def test_cross_entropy_with_weights_smoothing_and_ignore_index(torch):
    rng = _rng()
    logits, w = rng.standard_normal((2, 3, 5)), rng.random(3) + .5
    y = rng.integers(0, 3, (2, 5))
    _compare(ce_variants(tg, logits, y, w), ce_variants(torch, logits, y, w))
    y[0, 1] = -100
    _compare(ce_ignored(tg, logits, y, w), ce_ignored(torch, logits, y, w))


def test_distillation_and_focal_losses(torch):
    """Knowledge distillation (KLDivLoss batchmean with T^2, log_target=True, kl_div sum/none) and focal losses
    (torchvision's sigmoid_focal_loss, multi-class forms through gather, BCE with pos_weight and weight)."""
    rng = _rng()
    s, t, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    _compare(kd(tg, s, t, y), kd(torch, s, t, y))
    yb = (rng.random((5, 4)) < .4).astype(float)
    _compare(focal(tg, s, y, yb), focal(torch, s, y, yb))


def test_wgan_gp_gradient_penalty(torch):
    """WGAN-GP (eriklindernoren's): autograd.grad(create_graph=True) of the critic at interpolates, the norm's
    penalty differentiated again; the critic has an old-style spectral_norm layer."""
    rng = _rng()
    sdg, sdd = wgan_gp(torch, None, None, None, None, None)
    z, real, eps = rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 5, 6)), rng.random((3, 5, 1))
    _compare(wgan_gp(tg, sdg, sdd, z, real, eps), wgan_gp(torch, sdg, sdd, z, real, eps))


def test_ema_swa_and_gradient_accumulation(torch):
    """EMA by torch._foreach_mul_/_foreach_add_/_foreach_lerp_, AveragedModel with get_ema_multi_avg_fn,
    get_ema_avg_fn(use_buffers=True) and plain SWA, SWALR, update_bn; gradients accumulated over two steps."""
    rng = _rng()
    sd = ema(torch, None, None)
    xs = [rng.standard_normal((6, 3)) for _ in range(4)]
    _compare(ema(tg, sd, xs), ema(torch, sd, xs))


def test_realnvp_coupling_flow(torch):
    """senya-ashukha's RealNVP: masks as a frozen Parameter, ModuleLists of s and t nets, MultivariateNormal
    prior, inverse g(f(x)) == x."""
    rng = _rng()
    sd = realnvp(torch, None, None)
    x = rng.standard_normal((20, 2))
    _compare(realnvp(tg, sd, x), realnvp(torch, sd, x))


def test_parametrizations_weight_norm_spectral_orthogonal(torch):
    """parametrizations.weight_norm / spectral_norm / orthogonal, a custom symmetric parametrization, the old
    nn.utils.weight_norm, parametrize.cached(), remove_parametrizations; NAdam."""
    import warnings
    rng = _rng()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # (the old weight_norm is deprecated)
        sd = params_(torch, None, None)
        x = rng.standard_normal((5, 4))
        _compare(params_(tg, sd, x), params_(torch, sd, x))


def test_capsule_routing_pointnet_and_deep_sets(torch):
    """Dynamic routing between capsules (squash, softmax over routes, detached agreement) with the margin loss;
    PointNet (T-Net with eye().repeat, Conv1d + BatchNorm1d, MaxPool1d of the whole set, regulariser on the
    transform) beside Deep Sets sum and amax pooling."""
    rng = _rng()
    u0, W = rng.standard_normal((2, 8, 6)), rng.standard_normal((1, 8, 3, 4, 6)) * .3
    _compare(capsule(tg, u0, W), capsule(torch, u0, W))
    sd = pointnet(torch, None, None, None)
    pts, y = rng.standard_normal((4, 3, 10)), rng.integers(0, 4, 4)
    _compare(pointnet(tg, sd, pts, y), pointnet(torch, sd, pts, y))


def test_time_sequence_prediction_lbfgs(torch):
    """pytorch/examples time_sequence_prediction: two LSTMCells over input.split(1, dim=1) with a future
    rollout, trained by LBFGS (strong Wolfe) through a closure."""
    rng = _rng()
    data = np.sin((np.arange(20) + rng.integers(-4, 4, (6, 1))) / 5.0)
    sd = timeseq(torch, None, data)
    _compare(timeseq(tg, sd, data), timeseq(torch, sd, data), tol=1e-8)


def test_spatial_transformer_network(torch):
    """The spatial transformer tutorial: affine_grid + grid_sample (bilinear, nearest/border, reflection), both
    align_corners, the localisation net trained through the sampler."""
    rng = _rng()
    sd = stn(torch, None, None, None)
    for k in sd:
        if k.startswith("fc_loc.2."):
            sd[k] = sd[k] + rng.standard_normal(sd[k].shape) * .1
    x, y = rng.standard_normal((3, 1, 18, 18)), rng.integers(0, 3, 3)
    _compare(stn(tg, sd, x, y), stn(torch, sd, x, y))


def test_bilstm_crf(torch):
    """The PyTorch BiLSTM-CRF tutorial: forward algorithm with log_sum_exp, gold path score, Viterbi decoding."""
    rng = _rng()
    sd = crf(torch, None, None, None)
    sents = [rng.integers(0, 10, 5).tolist() for _ in range(2)]
    tags = [rng.integers(0, 3, 5).tolist() for _ in range(2)]
    _compare(crf(tg, sd, sents, tags), crf(torch, sd, sents, tags))


def test_vq_vae(torch):
    """A VQ-VAE's VectorQuantizer (distances, argmin, scatter_ one-hot, straight-through, commitment loss,
    perplexity, cdist) between a conv encoder and a ConvTranspose2d decoder."""
    rng = _rng()
    sd = vqvae(torch, None, None)
    sd["vq._embedding.weight"] = rng.standard_normal((6, 4))
    x = rng.standard_normal((2, 1, 8, 8))
    _compare(vqvae(tg, sd, x), vqvae(torch, sd, x))


def test_swin_window_attention(torch):
    """Swin Transformer blocks: window partition/reverse views, relative position index from meshgrid, cyclic
    shift by roll with its masked_fill attention mask, trunc_normal_, DropPath; AdamW with no-decay groups under
    SequentialLR(LinearLR, CosineAnnealingLR)."""
    rng = _rng()
    sd = swin(torch, None, None)
    x = rng.standard_normal((2, 16, 8))
    _compare(swin(tg, sd, x), swin(torch, sd, x))


def test_detr_matcher_and_box_losses(torch):
    """DETR's HungarianMatcher (cdist p=1, generalized box IoU, scipy's linear_sum_assignment on the split cost)
    and SetCriterion's class, L1 and GIoU losses."""
    pytest.importorskip("scipy")
    rng = _rng()
    b1 = np.concatenate([rng.random((6, 2)), rng.random((6, 2)) * .5 + .1], 1)
    b2 = np.concatenate([rng.random((3, 2)), rng.random((3, 2)) * .5 + .1], 1)
    lg = rng.standard_normal((6, 5))
    _compare(detr(tg, b1, b2, lg, [0, 2, 1]), detr(torch, b1, b2, lg, [0, 2, 1]))


def test_nerf_sampling_and_volume_rendering(torch):
    """NeRF's sample_pdf (cumsum, searchsorted right, gather of expanded cdf) and raw2outputs (cumprod
    transmittance, depth and disparity maps)."""
    rng = _rng()
    bins, wts, u = np.sort(rng.random((3, 8)), -1), rng.random((3, 7)), rng.random((3, 5))
    rgb, sigma, z = rng.standard_normal((3, 13, 3)), rng.standard_normal((3, 13)), np.sort(rng.random((3, 8)), -1) + 1
    _compare(nerf(tg, bins, wts, u, rgb, sigma, z), nerf(torch, bins, wts, u, rgb, sigma, z))


def test_mixture_density_network(torch):
    rng = _rng()
    sd = mdn(torch, None, None, None)
    x, y = rng.standard_normal((10, 1)), rng.standard_normal((10, 1))
    _compare(mdn(tg, sd, x, y), mdn(torch, sd, x, y))


def test_grad_cam_saliency_adversarial_and_integrated_gradients(torch):
    """Grad-CAM from a forward hook and a full backward hook, a saliency map, FGSM and PGD (delta.data updates),
    integrated gradients by autograd.grad along the path."""
    rng = _rng()
    sd = gradcam(torch, None, None)
    x = rng.random((2, 3, 5, 5))
    _compare(gradcam(tg, sd, x), gradcam(torch, sd, x))


def test_domain_adversarial_gradient_reversal(torch):
    """DANN's gradient reversal layer and a straight-through estimator as autograd.Functions (save_for_backward,
    needs_input_grad, None gradients for non-tensor inputs); SGD with dampening."""
    rng = _rng()
    sd = dann(torch, None, None, None, None)
    xs, xt, ys = rng.standard_normal((5, 4)), rng.standard_normal((6, 4)), rng.integers(0, 2, 5)
    _compare(dann(tg, sd, xs, xt, ys), dann(torch, sd, xs, xt, ys))


def test_graph_attention_by_scatter(torch):
    """A PyG-style GAT layer on an edge list: scatter_reduce('amax', include_self=False) for the softmax's max,
    index_add_ / index_add / scatter_add for the sums, scatter_reduce('mean')."""
    rng = _rng()
    sd = gat(torch, None, None, None)
    x = rng.standard_normal((6, 5))
    ei = np.stack([rng.integers(0, 6, 14), np.r_[np.arange(6), rng.integers(0, 6, 8)]])
    _compare(gat(tg, sd, x, ei), gat(torch, sd, x, ei))


def test_wavenet_mu_law_and_causal_convolutions(torch):
    """torchaudio's mu-law encoding and decoding, a WaveNet of causal dilated Conv1d (a Conv1d subclass padding
    on the left) with gated activations and skip sums over one_hot inputs."""
    rng = _rng()
    sd = wavenet(torch, None, None)
    audio = np.clip(rng.standard_normal((2, 20)) * .4, -1, 1)
    _compare(wavenet(tg, sd, audio), wavenet(torch, sd, audio))


def test_old_style_code_and_checkpoint_resume(torch):
    """0.4-era idioms (Variable, DoubleTensor/LongTensor, .data, .type(FloatTensor), new/new_tensor, apply with a
    class-name init); a run saved with torch.save / tg.save mid-way (model, optimizer, ReduceLROnPlateau(max) and
    LambdaLR warm-up states) and resumed equals the uninterrupted run; progressive unfreezing by
    add_param_group."""
    rng = _rng()
    sd = oldstyle(torch, None, None, None)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    _compare(oldstyle(tg, sd, x, y), oldstyle(torch, sd, x, y))
    m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    sd = _state(m)
    xs, ys = [rng.standard_normal((6, 4)) for _ in range(6)], [rng.integers(0, 3, 6) for _ in range(6)]
    ours = resume(tg, sd, xs, ys)
    _compare(ours, resume(torch, sd, xs, ys))
    _compare(ours[0], ours[1][:18])  # (resumed == uninterrupted)


def test_cyclegan_step(torch):
    """junyanz's CycleGAN: ResnetGenerator / NLayerDiscriminator with functools.partial(InstanceNorm2d), reflection
    padding, ConvTranspose2d output_padding, GANLoss buffers expanded as the prediction (LSGAN and vanilla),
    itertools.chain'd Adam, set_requires_grad, LambdaLR linear decay."""
    rng = _rng()
    sds = cyclegan(torch, None, None, None)
    A, B = rng.random((2, 1, 3, 12, 12)) * 2 - 1, rng.random((2, 1, 3, 12, 12)) * 2 - 1
    _compare(cyclegan(tg, sds, A, B), cyclegan(torch, sds, A, B))


@pytest.mark.parametrize("flash", [True, False])
def test_nanogpt_model_and_training_loop(torch, flash):
    """karpathy's nanoGPT: a dataclass config, causal attention by scaled_dot_product_attention(is_causal=True) or a
    tril buffer with masked_fill, tied wte / lm_head weights, configure_optimizers (decay groups by p.dim(),
    inspect.signature(AdamW) for 'fused'), gradient accumulation under nullcontext with a disabled GradScaler,
    the cosine lr in param_groups, top-k generate, crop_block_size."""
    import warnings
    rng = _rng()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # (torch.cuda.amp.GradScaler is deprecated)
        sd = nanogpt(torch, None, None, flash)
        data = {"tokens": rng.integers(0, 11, 100), "ix": rng.integers(0, 90, (12, 4))}
        _compare(nanogpt(tg, sd, data, flash), nanogpt(torch, sd, data, flash))


def test_multi_resolution_stft_loss_and_mel_features(torch):
    """ParallelWaveGAN's multi-resolution STFT loss (stft return_complex, .real/.imag, Frobenius norms), then
    torchaudio's spectrogram pieces: hann window, melscale_fbanks, amplitude_to_DB with top_db, istft, polar."""
    rng = _rng()
    sd = audio(torch, None, None, None)
    wav, target = rng.standard_normal((2, 200)) * .3, np.sin(np.arange(200) / 3.0)[None].repeat(2, 0) * .5
    _compare(audio(tg, sd, wav, target), audio(torch, sd, wav, target))


def test_transfer_learning_tutorial_loop(torch):
    """The finetuning tutorial's train_model: frozen layer, set_grad_enabled(phase == 'train'), running_corrects
    as an int64 tensor summed with +=, .double() / size, best weights by deepcopy(state_dict()); the ImageNet
    example's topk accuracy and AverageMeter."""
    rng = _rng()
    sd = finetune(torch, None, None)
    phases = {p: [(rng.standard_normal((4, 3, 6, 6)), rng.integers(0, 3, 4)) for _ in range(2)]
              for p in ("train", "val")}
    ours, theirs = finetune(tg, sd, phases), finetune(torch, sd, phases)
    assert [x for x in ours if isinstance(x, str)] == [x for x in theirs if isinstance(x, str)]
    _compare([x for x in ours if not isinstance(x, str)], [x for x in theirs if not isinstance(x, str)])

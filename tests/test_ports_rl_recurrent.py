"""Recurrent reinforcement-learning programs and world models, ported: each written once, as its authors write it
against torch, as a function of a module ``T`` (torch or tinygrad_rnn), run by both from the same initial weights
(torch's, loaded into ours) in float64 for a few steps; losses, outputs, every parameter's gradient and the final
weights agree to ~1e-10. Random draws (action sampling, reparameterisation noise) come from numpy, passed in;
the environments are tiny deterministic numpy functions. Skipped without torch.

Programs: A3C-LSTM as ikostrikov/pytorch-a3c writes it (LSTMCell core, n-step returns, GAE, entropy bonus, the
SharedAdam subclass initialising its state in __init__ and share_memory_-ing it, ensure_shared_grads'
``shared_param._grad = param.grad``); IMPALA as torchbeast's monobeast (an LSTM core over the unroll with
done-masks resetting its state, V-trace targets by the backward recursion under no_grad, RMSprop with LambdaLR);
cleanrl's recurrent PPO (ppo_atari_lstm: LSTM states stored per rollout, minibatches of whole environments'
sequences, masks at episode ends, GAE, clipped value loss); muzero-general's fully connected MuZero (the
representation / dynamics / prediction nets, min-max normalised hidden states, scale_gradient, the h(x) support
transform and its inverse, categorical cross-entropies, the loss hooks); World Models as ctallec/world-models
(the VAE, the MDN-RNN with its logsumexp GMM loss, the MDRNNCell loaded from the MDRNN's state dict, the linear
controller and a dream rollout with a temperature); DreamerV3's RSSM (GRUCell deterministic state, 4x4 categorical
latents with unimix and straight-through samples, KL balancing with free nats by kl_divergence of Independent
OneHotCategoricalStraightThrough, symlog / twohot heads, imagination with the actor, lambda-returns, a slow EMA
critic, REINFORCE + dynamics-backprop actor loss, separate Adam optimisers with clip_grad_norm_); PlaNet /
DreamerV1 as yusukeurakami/dreamer-pytorch (a Gaussian RSSM with nonterminal masks, kl_divergence of Normals
against free nats, FreezeParameters over hand-kept ``self.modules`` lists, imagination with a TanhBijector
Transform subclass inside TransformedDistribution / Independent / SampleDist, lambda_return, a Normal(value, 1)
critic); ikostrikov/pytorch-a2c-ppo-acktr-gail's recurrent PPO (_forward_gru splitting the sequence where masks
are zero, FixedCategorical, RolloutStorage's recurrent_generator, GAE with bad_masks); DreamerV2 as
RajGhugare19/dreamerv2 (RSSMDiscState namedtuples, OneHotCategoricalStraightThrough's rsample, KL balancing with
alpha = 0.8 and new_full free nats, straight-through actions, REINFORCE with cumprod discounts, a target critic).
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, rng as _rng, state as _state

pytestmark = pytest.mark.filterwarnings("ignore")


class _Env:
    """A tiny deterministic environment: the state moved by a fixed matrix and the action, reward a fixed function
    of it, done after ``horizon`` steps (then reset to the start state)."""

    def __init__(self, obs_dim, n_actions, horizon, seed):
        r = _rng(seed)
        self.A = r.standard_normal((obs_dim, obs_dim)) * 0.5
        self.B = r.standard_normal((n_actions, obs_dim))
        self.w = r.standard_normal(obs_dim)
        self.s0 = r.standard_normal(obs_dim)
        self.horizon = horizon

    def reset(self):
        self.t, self.s = 0, self.s0.copy()
        return self.s.copy()

    def step(self, action):
        self.s = np.tanh(self.A @ self.s + self.B[int(np.asarray(action).reshape(-1)[0])])
        self.t += 1
        done = self.t >= self.horizon
        reward = float(np.sin(self.w @ self.s))
        return self.s.copy(), reward, done, {}


def _sample(probs, u):
    """Inverse-CDF sampling of a categorical (rows of probs) with the given uniforms: the stand-in for
    ``probs.multinomial(1)`` / ``Categorical.sample()``."""
    p = probs.detach().numpy().reshape(-1, probs.shape[-1])
    return np.minimum((np.cumsum(p, -1) < np.reshape(u, (-1, 1))).sum(-1), p.shape[-1] - 1)


# ------------------------------------------------------------------------------------------------------------ A3C
def a3c(T, sd, uniforms, num_updates=4, num_steps=5):
    """ikostrikov/pytorch-a3c: model.py's ActorCritic (normalized_columns_initializer, weights_init, an LSTMCell core
    whose biases are zeroed), my_optim.SharedAdam and train.py's loop for one worker, ensure_shared_grads included."""
    nn = T.nn
    F = nn.functional
    optim = T.optim

    def normalized_columns_initializer(weights, std=1.0):
        out = T.randn(weights.size())
        out *= std / T.sqrt(out.pow(2).sum(1, keepdim=True))
        return out

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Linear') != -1:
            weight_shape = list(m.weight.data.size())
            fan_in = weight_shape[1]
            fan_out = weight_shape[0]
            w_bound = np.sqrt(6. / (fan_in + fan_out))
            m.weight.data.uniform_(-w_bound, w_bound)
            m.bias.data.fill_(0)

    class ActorCritic(T.nn.Module):
        def __init__(self, num_inputs, action_space):
            super(ActorCritic, self).__init__()
            self.fc1 = nn.Linear(num_inputs, 8)
            self.lstm = nn.LSTMCell(8, 6)
            num_outputs = action_space
            self.critic_linear = nn.Linear(6, 1)
            self.actor_linear = nn.Linear(6, num_outputs)
            self.apply(weights_init)
            self.actor_linear.weight.data = normalized_columns_initializer(self.actor_linear.weight.data, 0.01)
            self.actor_linear.bias.data.fill_(0)
            self.critic_linear.weight.data = normalized_columns_initializer(self.critic_linear.weight.data, 1.0)
            self.critic_linear.bias.data.fill_(0)
            self.lstm.bias_ih.data.fill_(0)
            self.lstm.bias_hh.data.fill_(0)
            self.train()

        def forward(self, inputs):
            inputs, (hx, cx) = inputs
            x = F.elu(self.fc1(inputs))
            hx, cx = self.lstm(x, (hx, cx))
            x = hx
            return self.critic_linear(x), self.actor_linear(x), (hx, cx)

    class SharedAdam(optim.Adam):
        """Implements Adam algorithm with shared states."""

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
            super(SharedAdam, self).__init__(params, lr, betas, eps, weight_decay)
            for group in self.param_groups:
                for p in group['params']:
                    state = self.state[p]
                    state['step'] = T.zeros(1)
                    state['exp_avg'] = p.data.new().resize_as_(p.data).zero_()
                    state['exp_avg_sq'] = p.data.new().resize_as_(p.data).zero_()

        def share_memory(self):
            for group in self.param_groups:
                for p in group['params']:
                    state = self.state[p]
                    state['step'].share_memory_()
                    state['exp_avg'].share_memory_()
                    state['exp_avg_sq'].share_memory_()

        def step(self, closure=None):
            loss = None
            if closure is not None:
                loss = closure()
            for group in self.param_groups:
                for p in group['params']:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    state = self.state[p]
                    exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
                    beta1, beta2 = group['betas']
                    state['step'] += 1
                    if group['weight_decay'] != 0:
                        grad = grad.add(p.data, alpha=group['weight_decay'])
                    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    denom = exp_avg_sq.sqrt().add_(group['eps'])
                    bias_correction1 = 1 - beta1 ** state['step'].item()
                    bias_correction2 = 1 - beta2 ** state['step'].item()
                    step_size = group['lr'] * math.sqrt(bias_correction2) / bias_correction1
                    p.data.addcdiv_(exp_avg, denom, value=-step_size)
            return loss

    def ensure_shared_grads(model, shared_model):
        for param, shared_param in zip(model.parameters(), shared_model.parameters()):
            if shared_param.grad is not None:
                return
            shared_param._grad = param.grad

    env = _Env(4, 3, 7, seed=1)
    shared_model = ActorCritic(4, 3)
    if sd is None:
        return _state(shared_model)
    _load(T, shared_model, sd)
    shared_model.share_memory()
    optimizer = SharedAdam(shared_model.parameters(), lr=0.01)
    optimizer.share_memory()
    gamma, gae_lambda, entropy_coef, value_loss_coef, max_grad_norm = 0.99, 1.00, 0.01, 0.5, 50
    model = ActorCritic(4, 3)
    model.train()
    state = env.reset()
    state = T.from_numpy(state)
    done = True
    out = []
    draws = iter(uniforms)
    for _ in range(num_updates):
        model.load_state_dict(shared_model.state_dict())
        if done:
            cx = T.zeros(1, 6)
            hx = T.zeros(1, 6)
        else:
            cx = cx.detach()
            hx = hx.detach()
        values, log_probs, rewards, entropies = [], [], [], []
        for step in range(num_steps):
            value, logit, (hx, cx) = model((state.unsqueeze(0), (hx, cx)))
            prob = F.softmax(logit, dim=-1)
            log_prob = F.log_softmax(logit, dim=-1)
            entropy = -(log_prob * prob).sum(1, keepdim=True)
            entropies.append(entropy)
            action = T.from_numpy(_sample(prob, next(draws))).view(1, 1).detach()  # prob.multinomial(num_samples=1)
            log_prob = log_prob.gather(1, action)
            state, reward, done, _ = env.step(action.numpy())
            reward = max(min(reward, 1), -1)
            if done:
                state = env.reset()
            state = T.from_numpy(state)
            values.append(value)
            log_probs.append(log_prob)
            rewards.append(reward)
            if done:
                break
        R = T.zeros(1, 1)
        if not done:
            value, _, _ = model((state.unsqueeze(0), (hx, cx)))
            R = value.detach()
        values.append(R)
        policy_loss = 0
        value_loss = 0
        gae = T.zeros(1, 1)
        for i in reversed(range(len(rewards))):
            R = gamma * R + rewards[i]
            advantage = R - values[i]
            value_loss = value_loss + 0.5 * advantage.pow(2)
            # Generalized Advantage Estimation
            delta_t = rewards[i] + gamma * values[i + 1] - values[i]
            gae = gae * gamma * gae_lambda + delta_t
            policy_loss = policy_loss - log_probs[i] * gae.detach() - entropy_coef * entropies[i]
        optimizer.zero_grad()
        (policy_loss + value_loss_coef * value_loss).backward()
        out += [policy_loss, value_loss, _grads(model)]
        out.append(T.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm))
        ensure_shared_grads(model, shared_model)
        out.append([p.grad is q.grad for p, q in zip(model.parameters(), shared_model.parameters())])
        optimizer.step()
    out += [shared_model.state_dict(), [s['step'] for s in optimizer.state.values()]]
    return out


def test_a3c_lstm_shared_adam_and_ensure_shared_grads(torch):
    uniforms = _rng(1).random(40)
    sd = a3c(torch, None, None)
    _compare(a3c(tg, sd, uniforms), a3c(torch, sd, uniforms))


# --------------------------------------------------------------------------------------------------------- IMPALA
def impala(T, sd, batches, lr_steps=4):
    """torchbeast/monobeast.py: the Net's LSTM core over the unroll with ``nd * s`` resetting its state at episode
    ends, vtrace.from_logits / from_importance_weights, the three losses and learn()'s RMSprop + LambdaLR step."""
    nn = T.nn
    F = nn.functional
    import collections
    VTraceFromLogitsReturns = collections.namedtuple(
        "VTraceFromLogitsReturns",
        ["vs", "pg_advantages", "log_rhos", "behavior_action_log_probs", "target_action_log_probs"])
    VTraceReturns = collections.namedtuple("VTraceReturns", "vs pg_advantages")

    def action_log_probs(policy_logits, actions):
        return -F.nll_loss(F.log_softmax(T.flatten(policy_logits, 0, -2), dim=-1), T.flatten(actions),
                           reduction="none").view_as(actions)

    def from_logits(behavior_policy_logits, target_policy_logits, actions, discounts, rewards, values,
                    bootstrap_value, clip_rho_threshold=1.0, clip_pg_rho_threshold=1.0):
        """V-trace for softmax policies."""
        target_action_log_probs = action_log_probs(target_policy_logits, actions)
        behavior_action_log_probs = action_log_probs(behavior_policy_logits, actions)
        log_rhos = target_action_log_probs - behavior_action_log_probs
        vtrace_returns = from_importance_weights(
            log_rhos=log_rhos, discounts=discounts, rewards=rewards, values=values,
            bootstrap_value=bootstrap_value, clip_rho_threshold=clip_rho_threshold,
            clip_pg_rho_threshold=clip_pg_rho_threshold)
        return VTraceFromLogitsReturns(log_rhos=log_rhos, behavior_action_log_probs=behavior_action_log_probs,
                                       target_action_log_probs=target_action_log_probs, **vtrace_returns._asdict())

    @T.no_grad()
    def from_importance_weights(log_rhos, discounts, rewards, values, bootstrap_value, clip_rho_threshold=1.0,
                                clip_pg_rho_threshold=1.0):
        """V-trace from log importance weights."""
        with T.no_grad():
            rhos = T.exp(log_rhos)
            if clip_rho_threshold is not None:
                clipped_rhos = T.clamp(rhos, max=clip_rho_threshold)
            else:
                clipped_rhos = rhos
            cs = T.clamp(rhos, max=1.0)
            # Append bootstrapped value to get [v1, ..., v_t+1]
            values_t_plus_1 = T.cat([values[1:], T.unsqueeze(bootstrap_value, 0)], dim=0)
            deltas = clipped_rhos * (rewards + discounts * values_t_plus_1 - values)
            acc = T.zeros_like(bootstrap_value)
            result = []
            for t in range(discounts.shape[0] - 1, -1, -1):
                acc = deltas[t] + discounts[t] * cs[t] * acc
                result.append(acc)
            result.reverse()
            vs_minus_v_xs = T.stack(result)
            # Add V(x_s) to get v_s.
            vs = T.add(vs_minus_v_xs, values)
            # Advantage for policy gradient.
            broadcasted_bootstrap_values = T.ones_like(vs[0]) * bootstrap_value
            vs_t_plus_1 = T.cat([vs[1:], broadcasted_bootstrap_values.unsqueeze(0)])
            if clip_pg_rho_threshold is not None:
                clipped_pg_rhos = T.clamp(rhos, max=clip_pg_rho_threshold)
            else:
                clipped_pg_rhos = rhos
            pg_advantages = clipped_pg_rhos * (rewards + discounts * vs_t_plus_1 - values)
        # Make sure no gradients backpropagated through the returned values.
        return VTraceReturns(vs=vs, pg_advantages=pg_advantages)

    class Net(nn.Module):
        def __init__(self, observation_shape, num_actions, use_lstm=True):
            super(Net, self).__init__()
            self.observation_shape = observation_shape
            self.num_actions = num_actions
            self.fc = nn.Linear(observation_shape[0], 8)
            # FC output size + one-hot of last action + last reward.
            core_output_size = self.fc.out_features + num_actions + 1
            self.use_lstm = use_lstm
            if use_lstm:
                self.core = nn.LSTM(core_output_size, core_output_size, 2)
            self.policy = nn.Linear(core_output_size, self.num_actions)
            self.baseline = nn.Linear(core_output_size, 1)

        def initial_state(self, batch_size):
            if not self.use_lstm:
                return tuple()
            return tuple(T.zeros(self.core.num_layers, batch_size, self.core.hidden_size) for _ in range(2))

        def forward(self, inputs, core_state=()):
            x = inputs["frame"]  # [T, B, C].
            T_, B, *_ = x.shape
            x = T.flatten(x, 0, 1)  # Merge time and batch.
            x = F.relu(self.fc(x))
            one_hot_last_action = F.one_hot(inputs["last_action"].view(T_ * B), self.num_actions).float()
            clipped_reward = T.clamp(inputs["reward"], -1, 1).view(T_ * B, 1)
            core_input = T.cat([x, clipped_reward, one_hot_last_action], dim=-1)
            if self.use_lstm:
                core_input = core_input.view(T_, B, -1)
                core_output_list = []
                notdone = (~inputs["done"]).float()
                for input, nd in zip(core_input.unbind(), notdone.unbind()):
                    # Reset core state to zero whenever an episode ended.
                    # Make `done` broadcastable with (num_layers, B, hidden_size)
                    # states:
                    nd = nd.view(1, -1, 1)
                    core_state = tuple(nd * s for s in core_state)
                    output, core_state = self.core(input.unsqueeze(0), core_state)
                    core_output_list.append(output)
                core_output = T.flatten(T.cat(core_output_list), 0, 1)
            else:
                core_output = core_input
                core_state = tuple()
            policy_logits = self.policy(core_output)
            baseline = self.baseline(core_output)
            action = T.argmax(policy_logits, dim=1)
            policy_logits = policy_logits.view(T_, B, self.num_actions)
            baseline = baseline.view(T_, B)
            action = action.view(T_, B)
            return (dict(policy_logits=policy_logits, baseline=baseline, action=action), core_state)

    def compute_baseline_loss(advantages):
        return 0.5 * T.sum(advantages ** 2)

    def compute_entropy_loss(logits):
        """Return the entropy loss, i.e., the negative entropy of the policy."""
        policy = F.softmax(logits, dim=-1)
        log_policy = F.log_softmax(logits, dim=-1)
        return T.sum(policy * log_policy)

    def compute_policy_gradient_loss(logits, actions, advantages):
        cross_entropy = F.nll_loss(F.log_softmax(T.flatten(logits, 0, 1), dim=-1),
                                   target=T.flatten(actions, 0, 1), reduction="none")
        cross_entropy = cross_entropy.view_as(advantages)
        return T.sum(cross_entropy * advantages.detach())

    model = Net((5,), 3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    discounting, baseline_cost, entropy_cost, grad_norm_clipping = 0.99, 0.5, 0.0006, 40.0
    optimizer = T.optim.RMSprop(model.parameters(), lr=0.01, momentum=0.1, eps=0.01, alpha=0.99)
    total_steps, unroll_length, batch_size = 80, 4, 3

    def lr_lambda(epoch):
        return 1 - min(epoch * unroll_length * batch_size, total_steps) / total_steps

    scheduler = T.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    out = []
    initial_agent_state = model.initial_state(batch_size)
    for b in batches:
        batch = {k: T.from_numpy(v) for k, v in b.items()}
        learner_outputs, unused_state = model(batch, initial_agent_state)
        # Take final value function slice for bootstrapping.
        bootstrap_value = learner_outputs["baseline"][-1]
        # Move from obs[t] -> action[t] to action[t] -> obs[t].
        batch = {key: tensor[1:] for key, tensor in batch.items()}
        learner_outputs = {key: tensor[:-1] for key, tensor in learner_outputs.items()}
        rewards = batch["reward"]
        clipped_rewards = T.clamp(rewards, -1, 1)
        discounts = (~batch["done"]).float() * discounting
        vtrace_returns = from_logits(
            behavior_policy_logits=batch["policy_logits"], target_policy_logits=learner_outputs["policy_logits"],
            actions=batch["action"], discounts=discounts, rewards=clipped_rewards,
            values=learner_outputs["baseline"], bootstrap_value=bootstrap_value)
        pg_loss = compute_policy_gradient_loss(learner_outputs["policy_logits"], batch["action"],
                                               vtrace_returns.pg_advantages)
        baseline_loss = baseline_cost * compute_baseline_loss(vtrace_returns.vs - learner_outputs["baseline"])
        entropy_loss = entropy_cost * compute_entropy_loss(learner_outputs["policy_logits"])
        total_loss = pg_loss + baseline_loss + entropy_loss
        optimizer.zero_grad()
        total_loss.backward()
        out += [total_loss, pg_loss, baseline_loss, entropy_loss, list(vtrace_returns), unused_state,
                learner_outputs["action"], _grads(model)]
        out.append(nn.utils.clip_grad_norm_(model.parameters(), grad_norm_clipping))
        optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr())
    out.append(model.state_dict())
    return out


def test_impala_vtrace_lstm_core_with_done_masks(torch):
    rng = _rng(2)
    Tn, B = 5, 3  # unroll_length + 1
    batches = [dict(frame=rng.standard_normal((Tn, B, 5)), reward=rng.standard_normal((Tn, B)) * 2,
                    done=rng.random((Tn, B)) < 0.3, last_action=rng.integers(0, 3, (Tn, B)),
                    action=rng.integers(0, 3, (Tn, B)), policy_logits=rng.standard_normal((Tn, B, 3)))
               for _ in range(3)]
    sd = impala(torch, None, None)
    _compare(impala(tg, sd, batches), impala(torch, sd, batches))


# ---------------------------------------------------------------------------------------------------- recurrent PPO
class _VecEnv:
    """num_envs copies of _Env, autoreset, as gymnasium's SyncVectorEnv steps them."""

    def __init__(self, num_envs, obs_dim, n_actions):
        self.envs = [_Env(obs_dim, n_actions, 3 + i, seed=10 + i) for i in range(num_envs)]

    def reset(self):
        return np.stack([e.reset() for e in self.envs]), {}

    def step(self, actions):
        obs, rews, terms = [], [], []
        for e, a in zip(self.envs, actions):
            o, r, d, _ = e.step(a)
            if d:
                o = e.reset()
            obs.append(o)
            rews.append(r)
            terms.append(d)
        return np.stack(obs), np.array(rews), np.array(terms), np.zeros(len(terms), bool), {}


def recurrent_ppo(T, sd, uniforms, perms, num_iterations=2):
    """vwxyzjn/cleanrl's ppo_atari_lstm.py (an MLP torso for the CNN): layer_init, the LSTM with orthogonal
    weights and zero biases, get_states' per-step loop masking the state by (1 - done), the rollout storing the
    initial LSTM state, GAE, minibatches of whole environments (flatinds[:, mbenvinds]), the clipped losses, the
    learning-rate annealing and clip_grad_norm_."""
    nn = T.nn
    optim = T.optim
    Categorical = T.distributions.categorical.Categorical

    def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
        T.nn.init.orthogonal_(layer.weight, std)
        T.nn.init.constant_(layer.bias, bias_const)
        return layer

    class Agent(nn.Module):
        def __init__(self, obs_dim, n_actions):
            super().__init__()
            self.network = nn.Sequential(layer_init(nn.Linear(obs_dim, 8)), nn.ReLU())
            self.lstm = nn.LSTM(8, 6)
            for name, param in self.lstm.named_parameters():
                if "bias" in name:
                    nn.init.constant_(param, 0)
                elif "weight" in name:
                    nn.init.orthogonal_(param, 1.0)
            self.actor = layer_init(nn.Linear(6, n_actions), std=0.01)
            self.critic = layer_init(nn.Linear(6, 1), std=1)

        def get_states(self, x, lstm_state, done):
            hidden = self.network(x / 255.0)
            # LSTM logic
            batch_size = lstm_state[0].shape[1]
            hidden = hidden.reshape((-1, batch_size, self.lstm.input_size))
            done = done.reshape((-1, batch_size))
            new_hidden = []
            for h, d in zip(hidden, done):
                h, lstm_state = self.lstm(
                    h.unsqueeze(0),
                    ((1.0 - d).view(1, -1, 1) * lstm_state[0], (1.0 - d).view(1, -1, 1) * lstm_state[1]))
                new_hidden += [h]
            new_hidden = T.flatten(T.cat(new_hidden), 0, 1)
            return new_hidden, lstm_state

        def get_value(self, x, lstm_state, done):
            hidden, _ = self.get_states(x, lstm_state, done)
            return self.critic(hidden)

        def get_action_and_value(self, x, lstm_state, done, action=None, u=None):
            hidden, lstm_state = self.get_states(x, lstm_state, done)
            logits = self.actor(hidden)
            probs = Categorical(logits=logits)
            if action is None:
                action = T.from_numpy(_sample(probs.probs, u))  # probs.sample()
            return action, probs.log_prob(action), probs.entropy(), self.critic(hidden), lstm_state

    num_envs, num_steps, obs_dim, n_actions = 4, 5, 3, 3
    num_minibatches, update_epochs, learning_rate = 2, 2, 2.5e-2
    gamma, gae_lambda, clip_coef, ent_coef, vf_coef, max_grad_norm = 0.99, 0.95, 0.1, 0.01, 0.5, 0.5
    batch_size = num_envs * num_steps
    envs = _VecEnv(num_envs, obs_dim, n_actions)
    agent = Agent(obs_dim, n_actions)
    if sd is None:
        return _state(agent)
    _load(T, agent, sd)
    optimizer = optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)
    obs = T.zeros((num_steps, num_envs) + (obs_dim,))
    actions = T.zeros((num_steps, num_envs))
    logprobs = T.zeros((num_steps, num_envs))
    rewards = T.zeros((num_steps, num_envs))
    dones = T.zeros((num_steps, num_envs))
    values = T.zeros((num_steps, num_envs))
    next_obs, _ = envs.reset()
    next_obs = T.Tensor(next_obs)
    next_done = T.zeros(num_envs)
    next_lstm_state = (T.zeros(agent.lstm.num_layers, num_envs, agent.lstm.hidden_size),
                       T.zeros(agent.lstm.num_layers, num_envs, agent.lstm.hidden_size))
    out = []
    draws, shuffles = iter(uniforms), iter(perms)
    for iteration in range(1, num_iterations + 1):
        initial_lstm_state = (next_lstm_state[0].clone(), next_lstm_state[1].clone())
        frac = 1.0 - (iteration - 1.0) / num_iterations
        lrnow = frac * learning_rate
        optimizer.param_groups[0]["lr"] = lrnow
        for step in range(0, num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with T.no_grad():
                action, logprob, _, value, next_lstm_state = agent.get_action_and_value(
                    next_obs, next_lstm_state, next_done, u=next(draws))
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
            next_done = np.logical_or(terminations, truncations)
            rewards[step] = T.tensor(reward).view(-1)
            # (cleanrl passes the bool array: torch.Tensor makes it the default float dtype, tg.Tensor keeps an
            # array's dtype, and 1.0 - bool is refused by both; the float array here gives both the same tensor)
            next_obs, next_done = T.Tensor(next_obs), T.Tensor(next_done.astype(np.float64))
        with T.no_grad():
            next_value = agent.get_value(next_obs, next_lstm_state, next_done).reshape(1, -1)
            advantages = T.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values
        out += [obs.clone(), actions.clone(), logprobs.clone(), values.clone(), advantages, returns]
        b_obs = obs.reshape((-1,) + (obs_dim,))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1,))
        b_dones = dones.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)
        # Optimizing the policy and value network
        assert num_envs % num_minibatches == 0
        envsperbatch = num_envs // num_minibatches
        envinds = np.arange(num_envs)
        flatinds = np.arange(batch_size).reshape(num_steps, num_envs)
        clipfracs = []
        for epoch in range(update_epochs):
            envinds = envinds[next(shuffles)]  # np.random.shuffle(envinds)
            for start in range(0, num_envs, envsperbatch):
                end = start + envsperbatch
                mbenvinds = envinds[start:end]
                mb_inds = flatinds[:, mbenvinds].ravel()  # be really careful about the index
                _, newlogprob, entropy, newvalue, _ = agent.get_action_and_value(
                    b_obs[mb_inds],
                    (initial_lstm_state[0][:, mbenvinds], initial_lstm_state[1][:, mbenvinds]),
                    b_dones[mb_inds],
                    b_actions.long()[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with T.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_coef).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                # Policy loss
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * T.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
                pg_loss = T.max(pg_loss1, pg_loss2).mean()
                # Value loss
                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + T.clamp(newvalue - b_values[mb_inds], -clip_coef, clip_coef)
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss_max = T.max(v_loss_unclipped, v_loss_clipped)
                v_loss = 0.5 * v_loss_max.mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef
                optimizer.zero_grad()
                loss.backward()
                out += [loss, pg_loss, v_loss, entropy_loss, old_approx_kl, approx_kl, _grads(agent)]
                out.append(nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm))
                optimizer.step()
        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        out += [clipfracs, np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y]
    out.append(agent.state_dict())
    return out


def test_recurrent_ppo_stored_lstm_states_and_sequence_minibatches(torch):
    rng = _rng(3)
    uniforms = rng.random((10, 4))
    perms = [rng.permutation(4) for _ in range(4)]
    sd = recurrent_ppo(torch, None, None, None)
    _compare(recurrent_ppo(tg, sd, uniforms, perms), recurrent_ppo(torch, sd, uniforms, perms))


# ------------------------------------------------------------------------------------------------------------ MuZero
def muzero(T, sd, batches, scale_by_hook=False):
    """werner-duvaud/muzero-general: models.py's MuZeroFullyConnectedNetwork (mlp, min-max normalised encoded
    states with the in-place ``scale[scale < 1e-5] += 1e-5``, the float action one-hot by scatter_,
    initial_inference's log of a one-hot reward), support_to_scalar / scalar_to_support (h and its inverse), and
    trainer.py's update_weights (scale_gradient of the paper's pseudocode on the hidden state, or the repository's
    ``hidden_state.register_hook(lambda grad: grad * 0.5)``, loss_function's
    categorical cross-entropies, the gradient_scale hooks, PER weights, SGD with momentum and weight decay).
    The batch's ``.float()`` casts are ``.double()`` here (float64 throughout; scatter_ wants src in the target's
    dtype in both libraries); the float32 support and action one-hot are kept, promoted as in torch."""
    nn = T.nn

    def mlp(input_size, layer_sizes, output_size, output_activation=nn.Identity, activation=nn.ELU):
        sizes = [input_size] + layer_sizes + [output_size]
        layers = []
        for i in range(len(sizes) - 1):
            act = activation if i < len(sizes) - 2 else output_activation
            layers += [nn.Linear(sizes[i], sizes[i + 1]), act()]
        return nn.Sequential(*layers)

    def support_to_scalar(logits, support_size):
        """Transform a categorical representation to a scalar. See paper appendix Network Architecture"""
        # Decode to a scalar
        probabilities = T.softmax(logits, dim=1)
        support = (T.tensor([x for x in range(-support_size, support_size + 1)])
                   .expand(probabilities.shape).float().to(device=probabilities.device))
        x = T.sum(support * probabilities, dim=1, keepdim=True)
        # Invert the scaling (defined in https://arxiv.org/abs/1805.11593)
        x = T.sign(x) * (((T.sqrt(1 + 4 * 0.001 * (T.abs(x) + 1 + 0.001)) - 1) / (2 * 0.001)) ** 2 - 1)
        return x

    def scalar_to_support(x, support_size):
        """Transform a scalar to a categorical representation with (2 * support_size + 1) categories"""
        # Reduce the scale (defined in https://arxiv.org/abs/1805.11593)
        x = T.sign(x) * (T.sqrt(T.abs(x) + 1) - 1) + 0.001 * x
        # Encode on a vector
        x = T.clamp(x, -support_size, support_size)
        floor = x.floor()
        prob = x - floor
        logits = T.zeros(x.shape[0], x.shape[1], 2 * support_size + 1).to(x.device)
        logits.scatter_(2, (floor + support_size).long().unsqueeze(-1), (1 - prob).unsqueeze(-1))
        indexes = floor + support_size + 1
        prob = prob.masked_fill_(2 * support_size < indexes, 0.0)
        indexes = indexes.masked_fill_(2 * support_size < indexes, 0.0)
        logits.scatter_(2, indexes.long().unsqueeze(-1), prob.unsqueeze(-1))
        return logits

    def scale_gradient(tensor, scale):
        """Scales the gradient for the backward pass."""
        return tensor * scale + tensor.detach() * (1 - scale)

    class MuZeroFullyConnectedNetwork(nn.Module):
        def __init__(self, observation_shape, stacked_observations, action_space_size, encoding_size,
                     fc_reward_layers, fc_value_layers, fc_policy_layers, fc_representation_layers,
                     fc_dynamics_layers, support_size):
            super().__init__()
            self.action_space_size = action_space_size
            self.full_support_size = 2 * support_size + 1
            self.representation_network = nn.DataParallel(mlp(
                observation_shape[0] * observation_shape[1] * observation_shape[2] * (stacked_observations + 1)
                + stacked_observations * observation_shape[1] * observation_shape[2],
                fc_representation_layers, encoding_size))
            self.dynamics_encoded_state_network = nn.DataParallel(
                mlp(encoding_size + self.action_space_size, fc_dynamics_layers, encoding_size))
            self.dynamics_reward_network = nn.DataParallel(
                mlp(encoding_size, fc_reward_layers, self.full_support_size))
            self.prediction_policy_network = nn.DataParallel(
                mlp(encoding_size, fc_policy_layers, self.action_space_size))
            self.prediction_value_network = nn.DataParallel(
                mlp(encoding_size, fc_value_layers, self.full_support_size))

        def prediction(self, encoded_state):
            policy_logits = self.prediction_policy_network(encoded_state)
            value = self.prediction_value_network(encoded_state)
            return policy_logits, value

        def representation(self, observation):
            encoded_state = self.representation_network(observation.view(observation.shape[0], -1))
            # Scale encoded state between [0, 1] (See appendix paper Training)
            min_encoded_state = encoded_state.min(1, keepdim=True)[0]
            max_encoded_state = encoded_state.max(1, keepdim=True)[0]
            scale_encoded_state = max_encoded_state - min_encoded_state
            scale_encoded_state[scale_encoded_state < 1e-5] += 1e-5
            encoded_state_normalized = (encoded_state - min_encoded_state) / scale_encoded_state
            return encoded_state_normalized

        def dynamics(self, encoded_state, action):
            # Stack encoded_state with a game specific one hot encoded action (See paper appendix Network
            # Architecture)
            action_one_hot = (T.zeros((action.shape[0], self.action_space_size)).to(action.device).float())
            action_one_hot.scatter_(1, action.long(), 1.0)
            x = T.cat((encoded_state, action_one_hot), dim=1)
            next_encoded_state = self.dynamics_encoded_state_network(x)
            reward = self.dynamics_reward_network(next_encoded_state)
            # Scale encoded state between [0, 1] (See paper appendix Training)
            min_next_encoded_state = next_encoded_state.min(1, keepdim=True)[0]
            max_next_encoded_state = next_encoded_state.max(1, keepdim=True)[0]
            scale_next_encoded_state = max_next_encoded_state - min_next_encoded_state
            scale_next_encoded_state[scale_next_encoded_state < 1e-5] += 1e-5
            next_encoded_state_normalized = (next_encoded_state - min_next_encoded_state) / scale_next_encoded_state
            return next_encoded_state_normalized, reward

        def initial_inference(self, observation):
            encoded_state = self.representation(observation)
            policy_logits, value = self.prediction(encoded_state)
            # reward equal to 0 for consistency
            reward = T.log((T.zeros(1, self.full_support_size)
                            .scatter(1, T.tensor([[self.full_support_size // 2]]).long(), 1.0)
                            .repeat(len(observation), 1).to(observation.device)))
            return (value, reward, policy_logits, encoded_state)

        def recurrent_inference(self, encoded_state, action):
            next_encoded_state, reward = self.dynamics(encoded_state, action)
            policy_logits, value = self.prediction(next_encoded_state)
            return value, reward, policy_logits, next_encoded_state

    def loss_function(value, reward, policy_logits, target_value, target_reward, target_policy):
        # Cross-entropy seems to have a better convergence than MSE
        value_loss = (-target_value * nn.LogSoftmax(dim=1)(value)).sum(1)
        reward_loss = (-target_reward * nn.LogSoftmax(dim=1)(reward)).sum(1)
        policy_loss = (-target_policy * nn.LogSoftmax(dim=1)(policy_logits)).sum(1)
        return value_loss, reward_loss, policy_loss

    support_size, value_loss_weight = 5, 0.25
    model = MuZeroFullyConnectedNetwork((1, 1, 4), 0, 2, 5, [6], [6], [6], [6], [6], support_size)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    out = []
    for (observation_batch, action_batch, target_value, target_reward, target_policy, weight_batch,
         gradient_scale_batch) in batches:
        target_value_scalar = np.array(target_value, dtype="float32")
        priorities = np.zeros_like(target_value_scalar)
        weight_batch = T.tensor(weight_batch.copy()).double()
        observation_batch = T.tensor(np.array(observation_batch)).double()
        action_batch = T.tensor(action_batch).long().unsqueeze(-1)
        target_value = T.tensor(target_value).double()
        target_reward = T.tensor(target_reward).double()
        target_policy = T.tensor(target_policy).double()
        gradient_scale_batch = T.tensor(gradient_scale_batch).double()
        target_value = scalar_to_support(target_value, support_size)
        target_reward = scalar_to_support(target_reward, support_size)
        # Generate predictions
        value, reward, policy_logits, hidden_state = model.initial_inference(observation_batch)
        predictions = [(value, reward, policy_logits)]
        for i in range(1, action_batch.shape[1]):
            value, reward, policy_logits, hidden_state = model.recurrent_inference(hidden_state, action_batch[:, i])
            # Scale the gradient at the start of the dynamics function (See paper appendix Training)
            if scale_by_hook:  # muzero-general's own form
                hidden_state.register_hook(lambda grad: grad * 0.5)
            else:  # the paper's pseudocode
                hidden_state = scale_gradient(hidden_state, 0.5)
            predictions.append((value, reward, policy_logits))
        # Compute losses
        value_loss, reward_loss, policy_loss = (0, 0, 0)
        value, reward, policy_logits = predictions[0]
        # Ignore reward loss for the first batch step
        current_value_loss, _, current_policy_loss = loss_function(
            value.squeeze(-1), reward.squeeze(-1), policy_logits, target_value[:, 0], target_reward[:, 0],
            target_policy[:, 0])
        value_loss += current_value_loss
        policy_loss += current_policy_loss
        # Compute priorities for the prioritized replay (See paper appendix Training)
        pred_value_scalar = support_to_scalar(value, support_size).detach().cpu().numpy().squeeze()
        priorities[:, 0] = np.abs(pred_value_scalar - target_value_scalar[:, 0]) ** 1.0
        for i in range(1, len(predictions)):
            value, reward, policy_logits = predictions[i]
            (current_value_loss, current_reward_loss, current_policy_loss) = loss_function(
                value.squeeze(-1), reward.squeeze(-1), policy_logits, target_value[:, i], target_reward[:, i],
                target_policy[:, i])
            # Scale gradient by the number of unroll steps (See paper appendix Training)
            current_value_loss.register_hook(lambda grad: grad / gradient_scale_batch[:, i])
            current_reward_loss.register_hook(lambda grad: grad / gradient_scale_batch[:, i])
            current_policy_loss.register_hook(lambda grad: grad / gradient_scale_batch[:, i])
            value_loss += current_value_loss
            reward_loss += current_reward_loss
            policy_loss += current_policy_loss
            pred_value_scalar = support_to_scalar(value, support_size).detach().cpu().numpy().squeeze()
            priorities[:, i] = np.abs(pred_value_scalar - target_value_scalar[:, i]) ** 1.0
        # Scale the value loss, paper recommends by 0.25 (See paper appendix Reanalyze)
        loss = value_loss * value_loss_weight + reward_loss + policy_loss
        loss *= weight_batch  # Correct PER bias by using importance-sampling (IS) weights
        loss = loss.mean()
        # Optimize
        optimizer.zero_grad()
        loss.backward()
        out += [loss, value_loss.mean(), reward_loss.mean(), policy_loss.mean(), priorities, target_value,
                target_reward, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


@pytest.mark.parametrize("scale_by_hook", [False, True])
def test_muzero_scale_gradient_and_support_transform(torch, scale_by_hook):
    rng = _rng(4)
    B, K = 3, 4  # batch, num_unroll_steps + 1
    batches = []
    for _ in range(3):
        target_policy = rng.random((B, K, 2))
        batches.append((rng.standard_normal((B, 1, 1, 4)), rng.integers(0, 2, (B, K)),
                        rng.standard_normal((B, K)) * 20, rng.standard_normal((B, K)) * 3,
                        target_policy / target_policy.sum(-1, keepdims=True), rng.random(B) + 0.5,
                        rng.integers(1, 4, (B, K)).astype(float)))
    sd = muzero(torch, None, None)
    _compare(muzero(tg, sd, batches, scale_by_hook), muzero(torch, sd, batches, scale_by_hook))


# ---------------------------------------------------------------------------------------------------- World Models
def world_models(T, sd, frames, eps, seqs, dream_draws, temperature=1.15):
    """ctallec/world-models: models/vae.py (a conv Encoder with fc_mu / fc_logsigma, a ConvTranspose2d Decoder,
    reparameterisation by ``eps.mul(sigma).add_(mu)``) with trainvae.py's loss; models/mdrnn.py (gmm_loss's
    max-subtracted log-sum-exp of Normal log-probs, the MDRNN over sequences and the MDRNNCell loaded from its state
    dict with ``k.strip('_l0')``) with trainmdrnn.py's get_loss; models/controller.py with utils/misc.py's
    flatten / load_parameters, and a dream rollout sampling the mixture with a temperature."""
    nn = T.nn
    f = nn.functional
    F = f
    Normal = T.distributions.Normal
    LSIZE, ASIZE, RSIZE, NG = 3, 2, 5, 2

    class Decoder(nn.Module):
        """ VAE decoder """
        def __init__(self, img_channels, latent_size):
            super(Decoder, self).__init__()
            self.latent_size = latent_size
            self.img_channels = img_channels
            self.fc1 = nn.Linear(latent_size, 8)
            self.deconv1 = nn.ConvTranspose2d(8, 4, 3, stride=2)
            self.deconv2 = nn.ConvTranspose2d(4, img_channels, 4, stride=1)

        def forward(self, x):  # pylint: disable=arguments-differ
            x = F.relu(self.fc1(x))
            x = x.unsqueeze(-1).unsqueeze(-1)
            x = F.relu(self.deconv1(x))
            reconstruction = F.sigmoid(self.deconv2(x))
            return reconstruction

    class Encoder(nn.Module):  # pylint: disable=too-many-instance-attributes
        """ VAE encoder """
        def __init__(self, img_channels, latent_size):
            super(Encoder, self).__init__()
            self.latent_size = latent_size
            self.img_channels = img_channels
            self.conv1 = nn.Conv2d(img_channels, 4, 2, stride=2)
            self.conv2 = nn.Conv2d(4, 6, 2, stride=1)
            self.fc_mu = nn.Linear(24, latent_size)
            self.fc_logsigma = nn.Linear(24, latent_size)

        def forward(self, x):  # pylint: disable=arguments-differ
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = x.view(x.size(0), -1)
            mu = self.fc_mu(x)
            logsigma = self.fc_logsigma(x)
            return mu, logsigma

    class VAE(nn.Module):
        """ Variational Autoencoder """
        def __init__(self, img_channels, latent_size):
            super(VAE, self).__init__()
            self.encoder = Encoder(img_channels, latent_size)
            self.decoder = Decoder(img_channels, latent_size)

        def forward(self, x, eps):  # pylint: disable=arguments-differ
            mu, logsigma = self.encoder(x)
            sigma = logsigma.exp()
            # eps = torch.randn_like(sigma)
            z = eps.mul(sigma).add_(mu)
            recon_x = self.decoder(z)
            return recon_x, mu, logsigma

    def vae_loss_function(recon_x, x, mu, logsigma):
        """ VAE loss function """
        BCE = F.mse_loss(recon_x, x, reduction='sum')
        # see Appendix B from VAE paper: Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
        KLD = -0.5 * T.sum(1 + 2 * logsigma - mu.pow(2) - (2 * logsigma).exp())
        return BCE + KLD

    def gmm_loss(batch, mus, sigmas, logpi, reduce=True):  # pylint: disable=too-many-arguments
        """ Computes the gmm loss. """
        batch = batch.unsqueeze(-2)
        normal_dist = Normal(mus, sigmas)
        g_log_probs = normal_dist.log_prob(batch)
        g_log_probs = logpi + T.sum(g_log_probs, dim=-1)
        max_log_probs = T.max(g_log_probs, dim=-1, keepdim=True)[0]
        g_log_probs = g_log_probs - max_log_probs
        g_probs = T.exp(g_log_probs)
        probs = T.sum(g_probs, dim=-1)
        log_prob = max_log_probs.squeeze() + T.log(probs)
        if reduce:
            return - T.mean(log_prob)
        return - log_prob

    class _MDRNNBase(nn.Module):
        def __init__(self, latents, actions, hiddens, gaussians):
            super().__init__()
            self.latents = latents
            self.actions = actions
            self.hiddens = hiddens
            self.gaussians = gaussians
            self.gmm_linear = nn.Linear(hiddens, (2 * latents + 1) * gaussians + 2)

    class MDRNN(_MDRNNBase):
        """ MDRNN model for multi steps forward """
        def __init__(self, latents, actions, hiddens, gaussians):
            super().__init__(latents, actions, hiddens, gaussians)
            self.rnn = nn.LSTM(latents + actions, hiddens)

        def forward(self, actions, latents):  # pylint: disable=arguments-differ, too-many-locals
            seq_len, bs = actions.size(0), actions.size(1)
            ins = T.cat([actions, latents], dim=-1)
            outs, _ = self.rnn(ins)
            gmm_outs = self.gmm_linear(outs)
            stride = self.gaussians * self.latents
            mus = gmm_outs[:, :, :stride]
            mus = mus.view(seq_len, bs, self.gaussians, self.latents)
            sigmas = gmm_outs[:, :, stride:2 * stride]
            sigmas = sigmas.view(seq_len, bs, self.gaussians, self.latents)
            sigmas = T.exp(sigmas)
            pi = gmm_outs[:, :, 2 * stride: 2 * stride + self.gaussians]
            pi = pi.view(seq_len, bs, self.gaussians)
            logpi = f.log_softmax(pi, dim=-1)
            rs = gmm_outs[:, :, -2]
            ds = gmm_outs[:, :, -1]
            return mus, sigmas, logpi, rs, ds

    class MDRNNCell(_MDRNNBase):
        """ MDRNN model for one step forward """
        def __init__(self, latents, actions, hiddens, gaussians):
            super().__init__(latents, actions, hiddens, gaussians)
            self.rnn = nn.LSTMCell(latents + actions, hiddens)

        def forward(self, action, latent, hidden):  # pylint: disable=arguments-differ
            in_al = T.cat([action, latent], dim=1)
            next_hidden = self.rnn(in_al, hidden)
            out_rnn = next_hidden[0]
            out_full = self.gmm_linear(out_rnn)
            stride = self.gaussians * self.latents
            mus = out_full[:, :stride]
            mus = mus.view(-1, self.gaussians, self.latents)
            sigmas = out_full[:, stride:2 * stride]
            sigmas = sigmas.view(-1, self.gaussians, self.latents)
            sigmas = T.exp(sigmas)
            pi = out_full[:, 2 * stride:2 * stride + self.gaussians]
            pi = pi.view(-1, self.gaussians)
            logpi = f.log_softmax(pi, dim=-1)
            r = out_full[:, -2]
            d = out_full[:, -1]
            return mus, sigmas, logpi, r, d, next_hidden

    class Controller(nn.Module):
        """ Controller """
        def __init__(self, latents, recurrents, actions):
            super().__init__()
            self.fc = nn.Linear(latents + recurrents, actions)

        def forward(self, *inputs):
            cat_in = T.cat(inputs, dim=1)
            return self.fc(cat_in)

    def flatten_parameters(params):
        return T.cat([p.detach().view(-1) for p in params], dim=0).cpu().numpy()

    def unflatten_parameters(params, example, device):
        params = T.Tensor(params).to(device)
        idx = 0
        unflattened = []
        for e_p in example:
            unflattened += [params[idx:idx + e_p.numel()].view(e_p.size())]
            idx += e_p.numel()
        return unflattened

    def load_parameters(params, controller):
        proto = next(controller.parameters())
        params = unflatten_parameters(params, controller.parameters(), proto.device)
        for p, p_0 in zip(controller.parameters(), params):
            p.data.copy_(p_0)

    vae, mdrnn, controller = VAE(1, LSIZE), MDRNN(LSIZE, ASIZE, RSIZE, NG), Controller(LSIZE, RSIZE, ASIZE)
    if sd is None:
        return [_state(vae), _state(mdrnn), _state(controller)]
    _load(T, vae, sd[0])
    _load(T, mdrnn, sd[1])
    _load(T, controller, sd[2])
    out = []
    # trainvae.py
    optimizer = T.optim.Adam(vae.parameters())
    for data, e in zip(frames, eps):
        data = T.from_numpy(data)
        optimizer.zero_grad()
        recon_batch, mu, logvar = vae(data, T.from_numpy(e))
        loss = vae_loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        out += [loss, recon_batch, _grads(vae)]
        optimizer.step()
    # trainmdrnn.py: latents from the trained VAE (to_latent), then the MDRNN
    optimizer = T.optim.RMSprop(mdrnn.parameters(), lr=1e-3, alpha=.9)
    for obs, next_obs, action, reward, terminal, e in seqs:
        with T.no_grad():
            bs, sl = obs.shape[:2]
            o = T.from_numpy(np.concatenate([obs, next_obs])).view(-1, 1, 6, 6)
            obs_mu, obs_logsigma = vae.encoder(o)
            latent_obs, latent_next_obs = (obs_mu + obs_logsigma.exp() * T.from_numpy(e)).view(
                2, bs, sl, LSIZE).unbind(0)
        action, reward, terminal = [T.from_numpy(a) for a in (action, reward, terminal)]
        latent_obs, action, reward, terminal, latent_next_obs = [
            arr.transpose(1, 0) for arr in [latent_obs, action, reward, terminal, latent_next_obs]]
        mus, sigmas, logpi, rs, ds = mdrnn(action, latent_obs)
        gmm = gmm_loss(latent_next_obs, mus, sigmas, logpi)
        bce = f.binary_cross_entropy_with_logits(ds, terminal)
        mse = f.mse_loss(rs, reward)
        scale = LSIZE + 2
        loss = (gmm + bce + mse) / scale
        optimizer.zero_grad()
        loss.backward()
        out += [loss, gmm, bce, mse, _grads(mdrnn)]
        optimizer.step()
    # controller: CMA-ES hands load_parameters a flat vector; the dream rollout in the MDRNNCell
    mdrnn_cell = MDRNNCell(LSIZE, ASIZE, RSIZE, NG)
    mdrnn_cell.load_state_dict({k.strip('_l0'): v for k, v in mdrnn.state_dict().items()})
    flat = flatten_parameters(controller.parameters())
    load_parameters(flat + 0.1 * np.cos(np.arange(flat.size)), controller)
    out.append(controller.state_dict())
    with T.no_grad():
        z = T.from_numpy(dream_draws[0][1])
        hidden = [T.zeros(1, RSIZE) for _ in range(2)]
        cumulative = 0
        for u, n in dream_draws[1:]:
            action = T.tanh(controller(z, hidden[0]))
            mus, sigmas, logpi, r, d, hidden = mdrnn_cell(action, z, hidden)
            pi = F.softmax(logpi / temperature, dim=-1)
            k = int(_sample(pi, u)[0])
            z = mus[:, k] + sigmas[:, k] * math.sqrt(temperature) * T.from_numpy(n)
            cumulative += r.item()
            out += [action, z, pi, T.sigmoid(d)]
        out.append(cumulative)
    return out


def test_world_models_vae_mdn_rnn_and_dream_rollout(torch):
    rng = _rng(6)
    frames = [rng.random((4, 1, 6, 6)) for _ in range(2)]
    eps = [rng.standard_normal((4, 3)) for _ in range(2)]
    bs, sl = 2, 4
    seqs = [(rng.random((bs, sl, 1, 6, 6)), rng.random((bs, sl, 1, 6, 6)), rng.uniform(-1, 1, (bs, sl, 2)),
             rng.standard_normal((bs, sl)), (rng.random((bs, sl)) < 0.2).astype(float),
             rng.standard_normal((2 * bs * sl, 3))) for _ in range(2)]
    dream = [(rng.random(1), rng.standard_normal((1, 3))) for _ in range(6)]
    sd = world_models(torch, None, None, None, None, None)
    _compare(world_models(tg, sd, frames, eps, seqs, dream), world_models(torch, sd, frames, eps, seqs, dream))


# --------------------------------------------------------------------------------------------------------- DreamerV3
def dreamer_v3(T, sd, data, draws, steps=2):
    """NM512/dreamerv3-torch, shrunk: networks.RSSM (img_step / obs_step with is_first resets to the learned
    initial state, observe's loop, get_feat, 4 x 4 categorical latents, kl_loss balancing rep / dyn with the
    free-nats clip) with nn.GRUCell as the deterministic core, tools.OneHotDist (unimix, straight-through
    ``sample += probs - probs.detach()``) on OneHotCategoricalStraightThrough inside Independent, DiscDist's twohot
    symlog log_prob, SymlogDist, the Bernoulli continuation head, tools.Optimizer (zero_grad, GradScaler, backward
    with retain_graph, clip_grad_norm_, step, zero_grad), tools.RequiresGrad, WorldModel._train and
    ImagBehavior._train (imagination with the actor, lambda_return's backward loop, cumprod weights, RewardEMA's
    quantiles, the 'both' REINFORCE / dynamics mix, the slow critic by copy.deepcopy and an EMA of .data).
    Categorical draws come from numpy uniforms by Gumbel-max in place of ``super().sample()``; Optimizer keeps
    the gradients it clipped (to compare them); static_scan is written as the loops it runs."""
    import copy
    nn = T.nn
    F = nn.functional
    torchd = T.distributions
    OBS, ACT, H = 5, 3, 3
    draw = iter(draws or ())

    def symlog(x):
        return T.sign(x) * T.log(T.abs(x) + 1.0)

    def symexp(x):
        return T.sign(x) * (T.exp(T.abs(x)) - 1.0)

    class OneHotDist(torchd.OneHotCategoricalStraightThrough):
        def __init__(self, logits=None, probs=None, unimix_ratio=0.0):
            if logits is not None and unimix_ratio > 0.0:
                probs = F.softmax(logits, dim=-1)
                probs = probs * (1.0 - unimix_ratio) + unimix_ratio / probs.shape[-1]
                logits = T.log(probs)
                super().__init__(logits=logits, probs=None)
            else:
                super().__init__(logits=logits, probs=probs)

        def mode(self):
            _mode = F.one_hot(T.argmax(super().logits, axis=-1), super().logits.shape[-1])
            return _mode.detach() + super().logits - super().logits.detach()

        def sample(self, sample_shape=(), seed=None):
            if seed is not None:
                raise ValueError("need to check")
            u = T.from_numpy(next(draw)).reshape(super().logits.shape)
            sample = F.one_hot(T.argmax(super().logits - T.log(-T.log(u)), -1),  # super().sample(sample_shape)
                               super().logits.shape[-1]).to(super().logits.dtype).detach()
            probs = super().probs
            while len(probs.shape) < len(sample.shape):
                probs = probs[None]
            sample += probs - probs.detach()
            return sample

    class DiscDist:
        def __init__(self, logits, low=-20.0, high=20.0, transfwd=symlog, transbwd=symexp, device="cpu"):
            self.logits = logits
            self.probs = T.softmax(logits, -1)
            self.buckets = T.linspace(low, high, steps=15, device=device)
            self.width = (self.buckets[-1] - self.buckets[0]) / 15
            self.transfwd = transfwd
            self.transbwd = transbwd

        def mean(self):
            _mean = self.probs * self.buckets
            return self.transbwd(T.sum(_mean, dim=-1, keepdim=True))

        def mode(self):
            _mode = self.probs * self.buckets
            return self.transbwd(T.sum(_mode, dim=-1, keepdim=True))

        # Inside OneHotCategorical, log_prob is calculated using only max element in targets
        def log_prob(self, x):
            x = self.transfwd(x)
            # x(time, batch, 1)
            below = T.sum((self.buckets <= x[..., None]).to(T.int32), dim=-1) - 1
            above = len(self.buckets) - T.sum((self.buckets > x[..., None]).to(T.int32), dim=-1)
            # this is implemented using clip at the original repo as the gradients are not backpropagated for the
            # out of limits.
            below = T.clip(below, 0, len(self.buckets) - 1)
            above = T.clip(above, 0, len(self.buckets) - 1)
            equal = below == above
            dist_to_below = T.where(equal, 1, T.abs(self.buckets[below] - x))
            dist_to_above = T.where(equal, 1, T.abs(self.buckets[above] - x))
            total = dist_to_below + dist_to_above
            weight_below = dist_to_above / total
            weight_above = dist_to_below / total
            target = (F.one_hot(below, num_classes=len(self.buckets)) * weight_below[..., None]
                      + F.one_hot(above, num_classes=len(self.buckets)) * weight_above[..., None])
            log_pred = self.logits - T.logsumexp(self.logits, -1, keepdim=True)
            target = target.squeeze(-2)
            return (target * log_pred).sum(-1)

    class SymlogDist:
        def __init__(self, mode, dist="mse", agg="sum", tol=1e-8):
            self._mode = mode
            self._dist = dist
            self._agg = agg
            self._tol = tol

        def mode(self):
            return symexp(self._mode)

        def log_prob(self, value):
            assert self._mode.shape == value.shape
            distance = (self._mode - symlog(value)) ** 2.0
            distance = T.where(distance < self._tol, 0, distance)
            loss = distance.sum(list(range(len(distance.shape)))[2:])
            return -loss

    class Bernoulli:
        def __init__(self, dist=None):
            super().__init__()
            self._dist = dist
            self.mean = dist.mean

        def log_prob(self, x):
            _logits = self._dist.base_dist.logits
            log_probs0 = -F.softplus(_logits)
            log_probs1 = -F.softplus(-_logits)
            return T.sum(log_probs0 * (1 - x) + log_probs1 * x, -1)

    class MLP(nn.Module):
        def __init__(self, inp_dim, shape, dist, units=8):
            super().__init__()
            self._dist = dist
            self.layers = nn.Sequential(nn.Linear(inp_dim, units, bias=False), nn.LayerNorm(units, eps=1e-03),
                                        nn.SiLU())
            self.mean_layer = nn.Linear(units, shape)

        def forward(self, features):
            x = self.layers(features)
            mean = self.mean_layer(x)
            if self._dist == "symlog_disc":
                return DiscDist(logits=mean)
            if self._dist == "symlog_mse":
                return SymlogDist(mean)
            if self._dist == "binary":
                return Bernoulli(torchd.independent.Independent(torchd.bernoulli.Bernoulli(logits=mean), 1))
            if self._dist == "onehot":
                return OneHotDist(mean, unimix_ratio=0.01)
            return mean

    class RSSM(nn.Module):
        def __init__(self, stoch=4, deter=8, hidden=8, discrete=4, unimix_ratio=0.01, num_actions=ACT, embed=6):
            super(RSSM, self).__init__()
            self._stoch, self._deter, self._hidden, self._discrete = stoch, deter, hidden, discrete
            self._unimix_ratio = unimix_ratio
            self._num_actions = num_actions
            inp_dim = self._stoch * self._discrete + num_actions
            self._img_in_layers = nn.Sequential(nn.Linear(inp_dim, hidden, bias=False),
                                                nn.LayerNorm(hidden, eps=1e-03), nn.SiLU())
            self._cell = nn.GRUCell(hidden, deter)
            self._img_out_layers = nn.Sequential(nn.Linear(deter, hidden, bias=False),
                                                 nn.LayerNorm(hidden, eps=1e-03), nn.SiLU())
            self._obs_out_layers = nn.Sequential(nn.Linear(deter + embed, hidden, bias=False),
                                                 nn.LayerNorm(hidden, eps=1e-03), nn.SiLU())
            self._imgs_stat_layer = nn.Linear(hidden, stoch * discrete)
            self._obs_stat_layer = nn.Linear(hidden, stoch * discrete)
            self.W = T.nn.Parameter(T.zeros((1, self._deter)), requires_grad=True)

        def initial(self, batch_size):
            deter = T.zeros(batch_size, self._deter)
            state = dict(logit=T.zeros([batch_size, self._stoch, self._discrete]),
                         stoch=T.zeros([batch_size, self._stoch, self._discrete]), deter=deter)
            state["deter"] = T.tanh(self.W).repeat(batch_size, 1)
            state["stoch"] = self.get_stoch(state["deter"])
            return state

        def observe(self, embed, action, is_first, state=None):
            def swap(x):
                return x.permute([1, 0] + list(range(2, len(x.shape))))
            embed, action, is_first = swap(embed), swap(action), swap(is_first)
            posts, priors = [], []
            for a, e, f in zip(action, embed, is_first):  # tools.static_scan
                state, prior = self.obs_step(state, a, e, f)
                posts.append(state)
                priors.append(prior)
            post = {k: swap(T.stack([p[k] for p in posts], 0)) for k in posts[0]}
            prior = {k: swap(T.stack([p[k] for p in priors], 0)) for k in priors[0]}
            return post, prior

        def get_feat(self, state):
            stoch = state["stoch"]
            shape = list(stoch.shape[:-2]) + [self._stoch * self._discrete]
            stoch = stoch.reshape(shape)
            return T.cat([stoch, state["deter"]], -1)

        def get_dist(self, state, dtype=None):
            logit = state["logit"]
            return torchd.independent.Independent(OneHotDist(logit, unimix_ratio=self._unimix_ratio), 1)

        def obs_step(self, prev_state, prev_action, embed, is_first, sample=True):
            # initialize all prev_state
            if prev_state is None or T.sum(is_first) == len(is_first):
                prev_state = self.initial(len(is_first))
                prev_action = T.zeros((len(is_first), self._num_actions))
            # overwrite the prev_state only where is_first=True
            elif T.sum(is_first) > 0:
                is_first = is_first[:, None]
                prev_action *= 1.0 - is_first
                init_state = self.initial(len(is_first))
                for key, val in prev_state.items():
                    is_first_r = T.reshape(is_first, is_first.shape + (1,) * (len(val.shape) - len(is_first.shape)))
                    prev_state[key] = val * (1.0 - is_first_r) + init_state[key] * is_first_r
            prior = self.img_step(prev_state, prev_action)
            x = T.cat([prior["deter"], embed], -1)
            x = self._obs_out_layers(x)
            stats = self._suff_stats_layer("obs", x)
            stoch = self.get_dist(stats).sample() if sample else self.get_dist(stats).mode()
            post = {"stoch": stoch, "deter": prior["deter"], **stats}
            return post, prior

        def img_step(self, prev_state, prev_action, sample=True):
            prev_stoch = prev_state["stoch"]
            shape = list(prev_stoch.shape[:-2]) + [self._stoch * self._discrete]
            prev_stoch = prev_stoch.reshape(shape)
            x = T.cat([prev_stoch, prev_action], -1)
            x = self._img_in_layers(x)
            deter = self._cell(x, prev_state["deter"])
            x = self._img_out_layers(deter)
            stats = self._suff_stats_layer("ims", x)
            stoch = self.get_dist(stats).sample() if sample else self.get_dist(stats).mode()
            return {"stoch": stoch, "deter": deter, **stats}

        def get_stoch(self, deter):
            x = self._img_out_layers(deter)
            stats = self._suff_stats_layer("ims", x)
            dist = self.get_dist(stats)
            return dist.mode()

        def _suff_stats_layer(self, name, x):
            x = self._imgs_stat_layer(x) if name == "ims" else self._obs_stat_layer(x)
            logit = x.reshape(list(x.shape[:-1]) + [self._stoch, self._discrete])
            return {"logit": logit}

        def kl_loss(self, post, prior, free, dyn_scale, rep_scale):
            kld = torchd.kl.kl_divergence
            dist = lambda x: self.get_dist(x)  # noqa: E731
            sg = lambda x: {k: v.detach() for k, v in x.items()}  # noqa: E731
            rep_loss = value = kld(dist(post), dist(sg(prior)))
            dyn_loss = kld(dist(sg(post)), dist(prior))
            # this is implemented using maximum at the original repo as the gradients are not backpropagated for
            # the out of limits.
            rep_loss = T.clip(rep_loss, min=free)
            dyn_loss = T.clip(dyn_loss, min=free)
            loss = dyn_scale * dyn_loss + rep_scale * rep_loss
            return loss, value, dyn_loss, rep_loss

    class Optimizer:
        def __init__(self, name, parameters, lr, eps=1e-4, clip=None, use_amp=False):
            self._name = name
            self._clip = clip
            self._opt = T.optim.Adam(parameters, lr=lr, eps=eps)
            self._scaler = T.cuda.amp.GradScaler(enabled=use_amp)
            self.clipped = []

        def __call__(self, loss, params, retain_graph=True):
            assert len(loss.shape) == 0, loss.shape
            metrics = {}
            metrics[f"{self._name}_loss"] = loss.detach().cpu().numpy()
            self._opt.zero_grad()
            self._scaler.scale(loss).backward(retain_graph=retain_graph)
            self._scaler.unscale_(self._opt)
            params = list(params)
            norm = T.nn.utils.clip_grad_norm_(params, self._clip)
            self.clipped.append([p.grad.clone() for p in params if p.grad is not None])
            self._scaler.step(self._opt)
            self._scaler.update()
            self._opt.zero_grad()
            metrics[f"{self._name}_grad_norm"] = norm.detach().cpu().numpy()
            return metrics

    class RequiresGrad:
        def __init__(self, model):
            self._model = model

        def __enter__(self):
            self._model.requires_grad_(requires_grad=True)

        def __exit__(self, *args):
            self._model.requires_grad_(requires_grad=False)

    def lambda_return(reward, value, pcont, bootstrap, lambda_, axis):
        assert len(reward.shape) == len(value.shape), (reward.shape, value.shape)
        if bootstrap is None:
            bootstrap = T.zeros_like(value[-1])
        next_values = T.cat([value[1:], bootstrap[None]], 0)
        inputs = reward + pcont * next_values * (1 - lambda_)
        returns, agg = [], bootstrap
        for t in reversed(range(len(inputs))):  # static_scan(..., reverse=True)
            agg = inputs[t] + pcont[t] * lambda_ * agg
            returns.append(agg)
        return returns[::-1]

    class RewardEMA:
        """running mean and std"""
        def __init__(self, device, alpha=1e-2):
            self.device = device
            self.alpha = alpha
            self.range = T.tensor([0.05, 0.95], device=device)

        def __call__(self, x, ema_vals):
            flat_x = T.flatten(x.detach())
            x_quantile = T.quantile(input=flat_x, q=self.range)
            # this should be in-place operation
            ema_vals[:] = self.alpha * x_quantile + (1 - self.alpha) * ema_vals
            scale = T.clip(ema_vals[1] - ema_vals[0], min=1.0)
            offset = ema_vals[0]
            return offset.detach(), scale.detach()

    class WorldModel(nn.Module):
        def __init__(self):
            super(WorldModel, self).__init__()
            self.encoder = nn.Sequential(nn.Linear(OBS, 6, bias=False), nn.LayerNorm(6, eps=1e-03), nn.SiLU())
            self.dynamics = RSSM()
            feat_size = 4 * 4 + 8
            self.heads = nn.ModuleDict()
            self.heads["decoder"] = MLP(feat_size, OBS, "symlog_mse")
            self.heads["reward"] = MLP(feat_size, 15, "symlog_disc")
            self.heads["cont"] = MLP(feat_size, 1, "binary")
            self._model_opt = Optimizer("model", self.parameters(), 1e-2, eps=1e-8, clip=1000)
            self._scales = dict(reward=1.0, cont=1.0)

        def _train(self, data):
            with RequiresGrad(self):
                embed = self.encoder(symlog(data["image"]))
                post, prior = self.dynamics.observe(embed, data["action"], data["is_first"])
                kl_loss, kl_value, dyn_loss, rep_loss = self.dynamics.kl_loss(post, prior, 0.5, 0.5, 0.1)
                assert kl_loss.shape == embed.shape[:2], kl_loss.shape
                preds = {}
                for name, head in self.heads.items():
                    feat = self.dynamics.get_feat(post)
                    pred = head(feat)
                    preds[name] = pred
                losses = {}
                for name, pred in preds.items():
                    target = data["image"] if name == "decoder" else data[name]
                    loss = -pred.log_prob(target)
                    assert loss.shape == embed.shape[:2], (name, loss.shape)
                    losses[name] = loss
                scaled = {key: value * self._scales.get(key, 1.0) for key, value in losses.items()}
                model_loss = sum(scaled.values()) + kl_loss
                metrics = self._model_opt(T.mean(model_loss), self.parameters())
            metrics.update({f"{name}_loss": loss.mean() for name, loss in losses.items()})
            metrics.update(kl=kl_value.mean(), dyn_loss=dyn_loss.mean(), rep_loss=rep_loss.mean())
            post = {k: v.detach() for k, v in post.items()}
            return post, metrics

    class ImagBehavior(nn.Module):
        def __init__(self, world_model):
            super(ImagBehavior, self).__init__()
            self._world_model = world_model
            feat_size = 4 * 4 + 8
            self.actor = MLP(feat_size, ACT, "onehot")
            self.value = MLP(feat_size, 15, "symlog_disc")
            self._slow_value = copy.deepcopy(self.value)
            self._updates = 0
            self._actor_opt = Optimizer("actor", self.actor.parameters(), 1e-2, eps=1e-5, clip=100)
            self._value_opt = Optimizer("value", self.value.parameters(), 1e-2, eps=1e-5, clip=100)
            self.register_buffer("ema_vals", T.zeros((2,)))
            self.reward_ema = RewardEMA(device="cpu")

        def _train(self, start, objective):
            self._update_slow_target()
            metrics = {}
            with RequiresGrad(self.actor):
                imag_feat, imag_state, imag_action = self._imagine(start, self.actor, H)
                reward = objective(imag_feat, imag_state, imag_action)
                actor_ent = self.actor(imag_feat).entropy()
                state_ent = self._world_model.dynamics.get_dist(imag_state).entropy()
                target, weights, base = self._compute_target(imag_feat, imag_state, reward)
                actor_loss, mets = self._compute_actor_loss(imag_feat, imag_action, target, weights, base)
                actor_loss -= 3e-4 * actor_ent[:-1, ..., None]
                actor_loss = T.mean(actor_loss)
                value_input = imag_feat
            with RequiresGrad(self.value):
                value = self.value(value_input[:-1].detach())
                target = T.stack(target, dim=0)
                value_loss = -value.log_prob(target.detach())
                slow_target = self._slow_value(value_input[:-1].detach())
                value_loss -= value.log_prob(slow_target.mode().detach())
                value_loss = T.mean(weights[:-1] * value_loss[:, :, None])
            with RequiresGrad(self):
                metrics.update(self._actor_opt(actor_loss, self.actor.parameters()))
                metrics.update(self._value_opt(value_loss, self.value.parameters()))
            metrics.update(state_ent=state_ent.mean(), reward=reward, target=target, weights=weights, **mets)
            return imag_feat, imag_state, imag_action, weights, metrics

        def _imagine(self, start, policy, horizon):
            dynamics = self._world_model.dynamics
            flatten = lambda x: x.reshape([-1] + list(x.shape[2:]))  # noqa: E731
            start = {k: flatten(v) for k, v in start.items()}
            state, succs, feats, actions = start, [], [], []
            for _ in range(horizon):  # tools.static_scan(step, [torch.arange(horizon)], (start, None, None))
                feat = dynamics.get_feat(state)
                inp = feat.detach()
                action = policy(inp).sample()
                state = dynamics.img_step(state, action)
                succs.append(state)
                feats.append(feat)
                actions.append(action)
            succ = {k: T.stack([s[k] for s in succs], 0) for k in succs[0]}
            feats, actions = T.stack(feats, 0), T.stack(actions, 0)
            states = {k: T.cat([start[k][None], v[:-1]], 0) for k, v in succ.items()}
            return feats, states, actions

        def _compute_target(self, imag_feat, imag_state, reward):
            inp = self._world_model.dynamics.get_feat(imag_state)
            discount = 0.997 * self._world_model.heads["cont"](inp).mean
            value = self.value(imag_feat).mode()
            target = lambda_return(reward[1:], value[:-1], discount[1:], bootstrap=value[-1], lambda_=0.95, axis=0)
            weights = T.cumprod(T.cat([T.ones_like(discount[:1]), discount[:-1]], 0), 0).detach()
            return target, weights, value[:-1]

        def _compute_actor_loss(self, imag_feat, imag_action, target, weights, base):
            metrics = {}
            inp = imag_feat.detach()
            policy = self.actor(inp)
            # Q-val for actor is not transformed using symlog
            target = T.stack(target, dim=0)
            offset, scale = self.reward_ema(target, self.ema_vals)
            normed_target = (target - offset) / scale
            normed_base = (base - offset) / scale
            adv = normed_target - normed_base
            metrics.update(normed_target=normed_target, scale=scale, adv=adv)
            actor_target = (policy.log_prob(imag_action)[:-1][:, :, None]
                            * (target - self.value(imag_feat[:-1]).mode()).detach())
            mix = 0.3
            actor_target = mix * target + (1 - mix) * actor_target
            actor_loss = -weights[:-1] * actor_target
            return actor_loss, metrics

        def _update_slow_target(self):
            if self._updates % 1 == 0:
                mix = 0.02
                for s, d in zip(self.value.parameters(), self._slow_value.parameters()):
                    d.data = mix * s.data + (1 - mix) * d.data
            self._updates += 1

    wm = WorldModel()
    behavior = ImagBehavior(wm)
    if sd is None:
        return _state(behavior)
    _load(T, behavior, sd)
    out = []
    for step in range(steps):
        batch = {k: T.from_numpy(v[step]) for k, v in data.items()}
        post, metrics = wm._train(batch)
        out += [post, metrics]

        def reward(f, s, a):
            return wm.heads["reward"](wm.dynamics.get_feat(s)).mode()

        imag_feat, imag_state, imag_action, weights, metrics = behavior._train(post, reward)
        out += [imag_feat, imag_state, imag_action, weights, metrics]
    out += [wm._model_opt.clipped, behavior._actor_opt.clipped, behavior._value_opt.clipped, behavior.state_dict()]
    out.append([p.requires_grad for p in behavior.parameters()])
    return out


def test_dreamer_v3_rssm_kl_balancing_imagination_and_lambda_returns(torch):
    rng = _rng(7)
    steps, B, L = 2, 2, 4
    action = np.eye(3)[rng.integers(0, 3, (steps, B, L))]
    is_first = np.zeros((steps, B, L))
    is_first[:, :, 0] = 1
    is_first[0, 1, 2] = 1
    data = dict(image=rng.standard_normal((steps, B, L, 5)) * 3, action=action, is_first=is_first,
                reward=rng.standard_normal((steps, B, L, 1)) * 5, cont=(rng.random((steps, B, L, 1)) < 0.8) * 1.0)
    sizes = ([B * 4 * 4] * (2 * L) + [B * L * 3, B * L * 4 * 4] * 3) * steps  # observe's, then imagination's
    draws = [rng.random(n) for n in sizes]
    sd = dreamer_v3(torch, None, None, None)
    _compare(dreamer_v3(tg, sd, data, draws), dreamer_v3(torch, sd, data, draws))


# ----------------------------------------------------------------------------------------------- PlaNet / DreamerV1
def dreamer_v1(T, sd, data, noise, steps=2):
    """yusukeurakami/dreamer-pytorch (on Kaixhin/PlaNet): the TransitionModel (GRUCell belief, Gaussian prior and
    posterior states with softplus std devs, nonterminal masks), bottle, the model loss with kl_divergence of two
    Normals and torch.max against free nats, FreezeParameters over modules' hand-kept ``self.modules`` lists,
    imagine_ahead, lambda_return, the tanh-squashed actor (a TanhBijector Transform subclass in a
    TransformedDistribution in an Independent in SampleDist, its entropy by expand) and the Normal(value, 1)
    critic, each with Adam and clip_grad_norm_. torch.randn_like and Normal's rsample noise come from numpy (a
    Normal subclass overriding rsample, expand kept)."""
    nn = T.nn
    F = nn.functional
    from_numpy = iter(noise or ())
    Normal0 = T.distributions.Normal

    def randn_like(x):  # torch.randn_like
        return T.from_numpy(next(from_numpy).reshape(tuple(x.shape)))

    class Normal(Normal0):
        def rsample(self, sample_shape=T.Size()):
            shape = self._extended_shape(sample_shape)
            eps = T.from_numpy(next(from_numpy).reshape(tuple(shape)))
            return self.loc + eps * self.scale

    def bottle(f, x_tuple):
        x_sizes = tuple(map(lambda x: x.size(), x_tuple))
        y = f(*map(lambda x: x[0].view(x[1][0] * x[1][1], *x[1][2:]), zip(x_tuple, x_sizes)))
        y_size = y.size()
        output = y.view(x_sizes[0][0], x_sizes[0][1], *y_size[1:])
        return output

    class TransitionModel(nn.Module):
        __constants__ = ['min_std_dev']

        def __init__(self, belief_size, state_size, action_size, hidden_size, embedding_size, min_std_dev=0.1):
            super().__init__()
            self.act_fn = F.elu
            self.min_std_dev = min_std_dev
            self.fc_embed_state_action = nn.Linear(state_size + action_size, belief_size)
            self.rnn = nn.GRUCell(belief_size, belief_size)
            self.fc_embed_belief_prior = nn.Linear(belief_size, hidden_size)
            self.fc_state_prior = nn.Linear(hidden_size, 2 * state_size)
            self.fc_embed_belief_posterior = nn.Linear(belief_size + embedding_size, hidden_size)
            self.fc_state_posterior = nn.Linear(hidden_size, 2 * state_size)
            self.modules = [self.fc_embed_state_action, self.fc_embed_belief_prior, self.fc_state_prior,
                            self.fc_embed_belief_posterior, self.fc_state_posterior]

        def forward(self, prev_state, actions, prev_belief, observations=None, nonterminals=None):
            # Create lists for hidden states (cannot use single tensor as buffer because autograd won't work with
            # inplace writes)
            T_ = actions.size(0) + 1
            beliefs, prior_states, prior_means, prior_std_devs, posterior_states, posterior_means, \
                posterior_std_devs = [T.empty(0)] * T_, [T.empty(0)] * T_, [T.empty(0)] * T_, [T.empty(0)] * T_, \
                [T.empty(0)] * T_, [T.empty(0)] * T_, [T.empty(0)] * T_
            beliefs[0], prior_states[0], posterior_states[0] = prev_belief, prev_state, prev_state
            # Loop over time sequence
            for t in range(T_ - 1):
                _state = prior_states[t] if observations is None else posterior_states[t]
                _state = _state if nonterminals is None else _state * nonterminals[t]  # Mask if previous
                hidden = self.act_fn(self.fc_embed_state_action(T.cat([_state, actions[t]], dim=1)))
                beliefs[t + 1] = self.rnn(hidden, beliefs[t])
                hidden = self.act_fn(self.fc_embed_belief_prior(beliefs[t + 1]))
                prior_means[t + 1], _prior_std_dev = T.chunk(self.fc_state_prior(hidden), 2, dim=1)
                prior_std_devs[t + 1] = F.softplus(_prior_std_dev) + self.min_std_dev
                prior_states[t + 1] = prior_means[t + 1] + prior_std_devs[t + 1] * randn_like(prior_means[t + 1])
                if observations is not None:
                    t_ = t - 1  # Use t_ to deal with different time indexing for observations
                    hidden = self.act_fn(self.fc_embed_belief_posterior(
                        T.cat([beliefs[t + 1], observations[t_ + 1]], dim=1)))
                    posterior_means[t + 1], _posterior_std_dev = T.chunk(self.fc_state_posterior(hidden), 2, dim=1)
                    posterior_std_devs[t + 1] = F.softplus(_posterior_std_dev) + self.min_std_dev
                    posterior_states[t + 1] = (posterior_means[t + 1]
                                               + posterior_std_devs[t + 1] * randn_like(posterior_means[t + 1]))
            hidden = [T.stack(beliefs[1:], dim=0), T.stack(prior_states[1:], dim=0), T.stack(prior_means[1:], dim=0),
                      T.stack(prior_std_devs[1:], dim=0)]
            if observations is not None:
                hidden += [T.stack(posterior_states[1:], dim=0), T.stack(posterior_means[1:], dim=0),
                           T.stack(posterior_std_devs[1:], dim=0)]
            return hidden

    class SymbolicModel(nn.Module):  # SymbolicObservationModel / RewardModel / ValueModel
        def __init__(self, belief_size, state_size, out_size, hidden_size):
            super().__init__()
            self.fc1 = nn.Linear(belief_size + state_size, hidden_size)
            self.fc2 = nn.Linear(hidden_size, out_size)
            self.modules = [self.fc1, self.fc2]

        def forward(self, belief, state):
            hidden = F.elu(self.fc1(T.cat([belief, state], dim=1)))
            return self.fc2(hidden).squeeze(dim=1) if self.fc2.out_features == 1 else self.fc2(hidden)

    class SymbolicEncoder(nn.Module):
        def __init__(self, observation_size, embedding_size):
            super().__init__()
            self.fc1 = nn.Linear(observation_size, embedding_size)
            self.modules = [self.fc1]

        def forward(self, observation):
            return F.elu(self.fc1(observation))

    def atanh(x):
        return 0.5 * T.log((1 + x) / (1 - x))

    class TanhBijector(T.distributions.Transform):
        def __init__(self):
            super().__init__()
            self.bijective = True
            self.domain = T.distributions.constraints.real
            self.codomain = T.distributions.constraints.interval(-1.0, 1.0)

        @property
        def sign(self):
            return 1.

        def _call(self, x):
            return T.tanh(x)

        def _inverse(self, y):
            y = T.where((T.abs(y) <= 1.), T.clamp(y, -0.99999997, 0.99999997), y)
            y = atanh(y)
            return y

        def log_abs_det_jacobian(self, x, y):
            return 2. * (np.log(2) - x - F.softplus(-2. * x))

    class SampleDist:
        def __init__(self, dist, samples=3):
            self._dist = dist
            self._samples = samples

        @property
        def name(self):
            return 'SampleDist'

        def __getattr__(self, name):
            return getattr(self._dist, name)

        def entropy(self):
            dist = self._dist.expand((self._samples, *self._dist.batch_shape))
            sample = dist.rsample()
            logprob = dist.log_prob(sample)
            return -T.mean(logprob, 0)

    class ActorModel(nn.Module):
        def __init__(self, belief_size, state_size, hidden_size, action_size, min_std=1e-4, init_std=5,
                     mean_scale=5):
            super().__init__()
            self.act_fn = F.elu
            self.fc1 = nn.Linear(belief_size + state_size, hidden_size)
            self.fc5 = nn.Linear(hidden_size, 2 * action_size)
            self.modules = [self.fc1, self.fc5]
            self._min_std = min_std
            self._init_std = init_std
            self._mean_scale = mean_scale

        def forward(self, belief, state):
            raw_init_std = T.log(T.exp(T.tensor(self._init_std, dtype=T.float64)) - 1)
            x = T.cat([belief, state], dim=1)
            hidden = self.act_fn(self.fc1(x))
            action = self.fc5(hidden).squeeze(dim=1)
            action_mean, action_std_dev = T.chunk(action, 2, dim=1)
            action_mean = self._mean_scale * T.tanh(action_mean / self._mean_scale)
            action_std = F.softplus(action_std_dev + raw_init_std) + self._min_std
            return action_mean, action_std

        def get_action(self, belief, state, det=False):
            action_mean, action_std = self.forward(belief, state)
            dist = Normal(action_mean, action_std)
            dist = T.distributions.TransformedDistribution(dist, TanhBijector())
            dist = T.distributions.Independent(dist, 1)
            dist = SampleDist(dist)
            return dist.rsample(), dist

    def get_parameters(modules):
        model_parameters = []
        for module in modules:
            model_parameters += list(module.parameters())
        return model_parameters

    class FreezeParameters:
        def __init__(self, modules):
            self.modules = modules
            self.param_states = [p.requires_grad for p in get_parameters(self.modules)]

        def __enter__(self):
            for param in get_parameters(self.modules):
                param.requires_grad = False

        def __exit__(self, exc_type, exc_val, exc_tb):
            for i, param in enumerate(get_parameters(self.modules)):
                param.requires_grad = self.param_states[i]

    def imagine_ahead(prev_state, prev_belief, policy, transition_model, planning_horizon=12):
        flatten = lambda x: x.view([-1] + list(x.size()[2:]))  # noqa: E731
        prev_belief = flatten(prev_belief)
        prev_state = flatten(prev_state)
        T_ = planning_horizon
        beliefs, prior_states, prior_means, prior_std_devs = [T.empty(0)] * T_, [T.empty(0)] * T_, \
            [T.empty(0)] * T_, [T.empty(0)] * T_
        beliefs[0], prior_states[0] = prev_belief, prev_state
        entropies = []
        for t in range(T_ - 1):
            _state = prior_states[t]
            actions, dist = policy.get_action(beliefs[t].detach(), _state.detach())
            with T.no_grad():
                entropies.append(dist.entropy())
            hidden = transition_model.act_fn(transition_model.fc_embed_state_action(T.cat([_state, actions], dim=1)))
            beliefs[t + 1] = transition_model.rnn(hidden, beliefs[t])
            hidden = transition_model.act_fn(transition_model.fc_embed_belief_prior(beliefs[t + 1]))
            prior_means[t + 1], _prior_std_dev = T.chunk(transition_model.fc_state_prior(hidden), 2, dim=1)
            prior_std_devs[t + 1] = F.softplus(_prior_std_dev) + transition_model.min_std_dev
            prior_states[t + 1] = prior_means[t + 1] + prior_std_devs[t + 1] * randn_like(prior_means[t + 1])
        return [T.stack(beliefs, dim=0), T.stack(prior_states, dim=0), T.stack(prior_means[1:], dim=0),
                T.stack(prior_std_devs[1:], dim=0)], entropies

    def lambda_return(imged_reward, value_pred, bootstrap, discount=0.99, lambda_=0.95):
        next_values = T.cat([value_pred[1:], bootstrap[None]], 0)
        discount_tensor = discount * T.ones_like(imged_reward)
        inputs = imged_reward + discount_tensor * next_values * (1 - lambda_)
        last = bootstrap
        indices = reversed(range(len(inputs)))
        outputs = []
        for index in indices:
            inp, disc = inputs[index], discount_tensor[index]
            last = inp + disc * lambda_ * last
            outputs.append(last)
        outputs = list(reversed(outputs))
        outputs = T.stack(outputs, 0)
        return outputs

    BEL, ST, ACT, OBS, EMB, HID = 6, 3, 2, 4, 5, 7
    transition_model = TransitionModel(BEL, ST, ACT, HID, EMB)
    observation_model = SymbolicModel(BEL, ST, OBS, HID)
    reward_model = SymbolicModel(BEL, ST, 1, HID)
    encoder = SymbolicEncoder(OBS, EMB)
    actor_model = ActorModel(BEL, ST, HID, ACT)
    value_model = SymbolicModel(BEL, ST, 1, HID)
    models = [transition_model, observation_model, reward_model, encoder, actor_model, value_model]
    if sd is None:
        return [_state(m) for m in models]
    for m, s in zip(models, sd):
        _load(T, m, s)
    param_list = (list(transition_model.parameters()) + list(observation_model.parameters())
                  + list(reward_model.parameters()) + list(encoder.parameters()))
    model_optimizer = T.optim.Adam(param_list, lr=1e-2, eps=1e-4)
    actor_optimizer = T.optim.Adam(actor_model.parameters(), lr=1e-2, eps=1e-4)
    value_optimizer = T.optim.Adam(value_model.parameters(), lr=1e-2, eps=1e-4)
    model_modules = transition_model.modules + encoder.modules + observation_model.modules + reward_model.modules
    free_nats = T.full((1, ), 0.3)
    out = []
    for step in range(steps):
        observations, actions, rewards, nonterminals = [T.from_numpy(v[step]) for v in data]
        init_belief, init_state = T.zeros(observations.size(1), BEL), T.zeros(observations.size(1), ST)
        beliefs, prior_states, prior_means, prior_std_devs, posterior_states, posterior_means, posterior_std_devs = \
            transition_model(init_state, actions[:-1], init_belief, bottle(encoder, (observations[1:], )),
                             nonterminals[:-1])
        observation_loss = F.mse_loss(bottle(observation_model, (beliefs, posterior_states)), observations[1:],
                                      reduction='none').sum(dim=2).mean(dim=(0, 1))
        reward_loss = F.mse_loss(bottle(reward_model, (beliefs, posterior_states)), rewards[:-1],
                                 reduction='none').mean(dim=(0, 1))
        div = T.distributions.kl.kl_divergence(Normal(posterior_means, posterior_std_devs),
                                               Normal(prior_means, prior_std_devs)).sum(dim=2)
        kl_loss = T.max(div, free_nats).mean(dim=(0, 1))
        model_loss = observation_loss + reward_loss + kl_loss
        model_optimizer.zero_grad()
        model_loss.backward()
        out += [observation_loss, reward_loss, kl_loss, [p.grad for p in param_list]]
        out.append(nn.utils.clip_grad_norm_(param_list, 100.0, norm_type=2))
        model_optimizer.step()
        # Dreamer implementation: actor loss calculation and optimization
        with T.no_grad():
            actor_states = posterior_states.detach()
            actor_beliefs = beliefs.detach()
        with FreezeParameters(model_modules):
            imagination_traj, entropies = imagine_ahead(actor_states, actor_beliefs, actor_model, transition_model,
                                                        3)
        imged_beliefs, imged_prior_states, imged_prior_means, imged_prior_std_devs = imagination_traj
        with FreezeParameters(model_modules + value_model.modules):
            imged_reward = bottle(reward_model, (imged_beliefs, imged_prior_states))
            value_pred = bottle(value_model, (imged_beliefs, imged_prior_states))
        returns = lambda_return(imged_reward, value_pred, bootstrap=value_pred[-1], discount=0.99, lambda_=0.95)
        actor_loss = -T.mean(returns)
        actor_optimizer.zero_grad()
        actor_loss.backward()
        out += [returns, entropies, actor_loss, _grads(actor_model)]
        out.append([p.grad is None for p in param_list + list(value_model.parameters())])
        nn.utils.clip_grad_norm_(actor_model.parameters(), 100.0, norm_type=2)
        actor_optimizer.step()
        # Dreamer implementation: value loss calculation and optimization
        with T.no_grad():
            value_beliefs = imged_beliefs.detach()
            value_prior_states = imged_prior_states.detach()
            target_return = returns.detach()
        value_dist = Normal(bottle(value_model, (value_beliefs, value_prior_states)), 1)
        value_loss = -value_dist.log_prob(target_return).mean(dim=(0, 1))
        value_optimizer.zero_grad()
        value_loss.backward()
        out += [value_loss, _grads(value_model)]
        nn.utils.clip_grad_norm_(value_model.parameters(), 100.0, norm_type=2)
        value_optimizer.step()
    out += [m.state_dict() for m in models]
    return out


def test_planet_dreamer_v1_gaussian_rssm_tanh_actor_and_value(torch):
    rng = _rng(8)
    steps, L, B = 2, 5, 2
    data = [rng.standard_normal((steps, L, B, 4)), rng.uniform(-1, 1, (steps, L, B, 2)),
            rng.standard_normal((steps, L, B)), (rng.random((steps, L, B, 1)) < 0.8) * 1.0]
    sizes = ([(B, 3)] * (2 * (L - 1)) + [(B * (L - 1), 2), (3, B * (L - 1), 2), (B * (L - 1), 3)] * 2) * steps
    noise = [rng.standard_normal(s) for s in sizes]
    sd = dreamer_v1(torch, None, None, None)
    _compare(dreamer_v1(tg, sd, data, noise), dreamer_v1(torch, sd, data, noise))


# ------------------------------------------------------------------------------------------ a2c-ppo-acktr's GRU PPO
def a2c_ppo_acktr_gru(T, sd, uniforms, perms, num_updates=2):
    """ikostrikov/pytorch-a2c-ppo-acktr-gail with --recurrent-policy: NNBase._forward_gru (one GRU step when acting,
    over the sequence split at the steps where some mask is zero when training: ``nonzero().squeeze().cpu()``, the
    0-dim case, ``.numpy().tolist()``), MLPBase with init_ (orthogonal_ by the ``init`` helper), FixedCategorical,
    Policy.act / get_value / evaluate_actions, RolloutStorage (insert, after_update, compute_returns with GAE and
    bad_masks, recurrent_generator over a given permutation of the processes, _flatten_helper) and PPO.update."""
    nn = T.nn

    def init(module, weight_init, bias_init, gain=1):
        weight_init(module.weight.data, gain=gain)
        bias_init(module.bias.data)
        return module

    class FixedCategorical(T.distributions.Categorical):
        def sample(self, u=None):
            return T.from_numpy(_sample(self.probs, u)).unsqueeze(-1)  # super().sample().unsqueeze(-1)

        def log_probs(self, actions):
            return (super().log_prob(actions.squeeze(-1)).view(actions.size(0), -1).sum(-1).unsqueeze(-1))

        def mode(self):
            return self.probs.argmax(dim=-1, keepdim=True)

    class Categorical(nn.Module):
        def __init__(self, num_inputs, num_outputs):
            super(Categorical, self).__init__()
            init_ = lambda m: init(m, nn.init.orthogonal_, lambda x: nn.init.constant_(x, 0), gain=0.01)  # noqa
            self.linear = init_(nn.Linear(num_inputs, num_outputs))

        def forward(self, x):
            x = self.linear(x)
            return FixedCategorical(logits=x)

    class NNBase(nn.Module):
        def __init__(self, recurrent, recurrent_input_size, hidden_size):
            super(NNBase, self).__init__()
            self._hidden_size = hidden_size
            self._recurrent = recurrent
            if recurrent:
                self.gru = nn.GRU(recurrent_input_size, hidden_size)
                for name, param in self.gru.named_parameters():
                    if 'bias' in name:
                        nn.init.constant_(param, 0)
                    elif 'weight' in name:
                        nn.init.orthogonal_(param)

        @property
        def is_recurrent(self):
            return self._recurrent

        @property
        def recurrent_hidden_state_size(self):
            if self._recurrent:
                return self._hidden_size
            return 1

        @property
        def output_size(self):
            return self._hidden_size

        def _forward_gru(self, x, hxs, masks):
            if x.size(0) == hxs.size(0):
                x, hxs = self.gru(x.unsqueeze(0), (hxs * masks).unsqueeze(0))
                x = x.squeeze(0)
                hxs = hxs.squeeze(0)
            else:
                # x is a (T, N, -1) tensor that has been flatten to (T * N, -1)
                N = hxs.size(0)
                T_ = int(x.size(0) / N)
                # unflatten
                x = x.view(T_, N, x.size(1))
                # Same deal with masks
                masks = masks.view(T_, N)
                # Let's figure out which steps in the sequence have a zero for any agent
                # We will always assume t=0 has a zero in it as that makes the logic cleaner
                has_zeros = ((masks[1:] == 0.0).any(dim=-1).nonzero().squeeze().cpu())
                # +1 to correct the masks[1:]
                if has_zeros.dim() == 0:
                    # Deal with scalar
                    has_zeros = [has_zeros.item() + 1]
                else:
                    has_zeros = (has_zeros + 1).numpy().tolist()
                # add t=0 and t=T to the list
                has_zeros = [0] + has_zeros + [T_]
                hxs = hxs.unsqueeze(0)
                outputs = []
                for i in range(len(has_zeros) - 1):
                    # We can now process steps that don't have any zeros in masks together!
                    # This is much faster
                    start_idx = has_zeros[i]
                    end_idx = has_zeros[i + 1]
                    rnn_scores, hxs = self.gru(x[start_idx:end_idx], hxs * masks[start_idx].view(1, -1, 1))
                    outputs.append(rnn_scores)
                # assert len(outputs) == T
                # x is a (T, N, -1) tensor
                x = T.cat(outputs, dim=0)
                # flatten
                x = x.view(T_ * N, -1)
                hxs = hxs.squeeze(0)
            return x, hxs

    class MLPBase(NNBase):
        def __init__(self, num_inputs, recurrent=False, hidden_size=64):
            super(MLPBase, self).__init__(recurrent, num_inputs, hidden_size)
            if recurrent:
                num_inputs = hidden_size
            init_ = lambda m: init(m, nn.init.orthogonal_, lambda x: nn.init.constant_(x, 0), np.sqrt(2))  # noqa
            self.actor = nn.Sequential(init_(nn.Linear(num_inputs, hidden_size)), nn.Tanh(),
                                       init_(nn.Linear(hidden_size, hidden_size)), nn.Tanh())
            self.critic = nn.Sequential(init_(nn.Linear(num_inputs, hidden_size)), nn.Tanh(),
                                        init_(nn.Linear(hidden_size, hidden_size)), nn.Tanh())
            self.critic_linear = init_(nn.Linear(hidden_size, 1))
            self.train()

        def forward(self, inputs, rnn_hxs, masks):
            x = inputs
            if self.is_recurrent:
                x, rnn_hxs = self._forward_gru(x, rnn_hxs, masks)
            hidden_critic = self.critic(x)
            hidden_actor = self.actor(x)
            return self.critic_linear(hidden_critic), hidden_actor, rnn_hxs

    class Policy(nn.Module):
        def __init__(self, obs_shape, num_actions, base_kwargs=None):
            super(Policy, self).__init__()
            self.base = MLPBase(obs_shape[0], **base_kwargs)
            self.dist = Categorical(self.base.output_size, num_actions)

        @property
        def recurrent_hidden_state_size(self):
            return self.base.recurrent_hidden_state_size

        def act(self, inputs, rnn_hxs, masks, deterministic=False, u=None):
            value, actor_features, rnn_hxs = self.base(inputs, rnn_hxs, masks)
            dist = self.dist(actor_features)
            action = dist.mode() if deterministic else dist.sample(u)
            action_log_probs = dist.log_probs(action)
            dist.entropy().mean()  # (dist_entropy = ..., unused)
            return value, action, action_log_probs, rnn_hxs

        def get_value(self, inputs, rnn_hxs, masks):
            value, _, _ = self.base(inputs, rnn_hxs, masks)
            return value

        def evaluate_actions(self, inputs, rnn_hxs, masks, action):
            value, actor_features, rnn_hxs = self.base(inputs, rnn_hxs, masks)
            dist = self.dist(actor_features)
            action_log_probs = dist.log_probs(action)
            dist_entropy = dist.entropy().mean()
            return value, action_log_probs, dist_entropy, rnn_hxs

    def _flatten_helper(T_, N, _tensor):
        return _tensor.view(T_ * N, *_tensor.size()[2:])

    class RolloutStorage(object):
        def __init__(self, num_steps, num_processes, obs_shape, recurrent_hidden_state_size):
            self.obs = T.zeros(num_steps + 1, num_processes, *obs_shape)
            self.recurrent_hidden_states = T.zeros(num_steps + 1, num_processes, recurrent_hidden_state_size)
            self.rewards = T.zeros(num_steps, num_processes, 1)
            self.value_preds = T.zeros(num_steps + 1, num_processes, 1)
            self.returns = T.zeros(num_steps + 1, num_processes, 1)
            self.action_log_probs = T.zeros(num_steps, num_processes, 1)
            self.actions = T.zeros(num_steps, num_processes, 1)
            self.actions = self.actions.long()
            self.masks = T.ones(num_steps + 1, num_processes, 1)
            # Masks that indicate whether it's a true terminal state or time limit end state
            self.bad_masks = T.ones(num_steps + 1, num_processes, 1)
            self.num_steps = num_steps
            self.step = 0

        def insert(self, obs, recurrent_hidden_states, actions, action_log_probs, value_preds, rewards, masks,
                   bad_masks):
            self.obs[self.step + 1].copy_(obs)
            self.recurrent_hidden_states[self.step + 1].copy_(recurrent_hidden_states)
            self.actions[self.step].copy_(actions)
            self.action_log_probs[self.step].copy_(action_log_probs)
            self.value_preds[self.step].copy_(value_preds)
            self.rewards[self.step].copy_(rewards)
            self.masks[self.step + 1].copy_(masks)
            self.bad_masks[self.step + 1].copy_(bad_masks)
            self.step = (self.step + 1) % self.num_steps

        def after_update(self):
            self.obs[0].copy_(self.obs[-1])
            self.recurrent_hidden_states[0].copy_(self.recurrent_hidden_states[-1])
            self.masks[0].copy_(self.masks[-1])
            self.bad_masks[0].copy_(self.bad_masks[-1])

        def compute_returns(self, next_value, use_gae, gamma, gae_lambda, use_proper_time_limits=True):
            if use_proper_time_limits:
                if use_gae:
                    self.value_preds[-1] = next_value
                    gae = 0
                    for step in reversed(range(self.rewards.size(0))):
                        delta = self.rewards[step] + gamma * self.value_preds[
                            step + 1] * self.masks[step + 1] - self.value_preds[step]
                        gae = delta + gamma * gae_lambda * self.masks[step + 1] * gae
                        gae = gae * self.bad_masks[step + 1]
                        self.returns[step] = gae + self.value_preds[step]

        def recurrent_generator(self, advantages, num_mini_batch, perm):
            num_processes = self.rewards.size(1)
            assert num_processes >= num_mini_batch
            num_envs_per_batch = num_processes // num_mini_batch
            # perm = torch.randperm(num_processes)
            for start_ind in range(0, num_processes, num_envs_per_batch):
                obs_batch = []
                recurrent_hidden_states_batch = []
                actions_batch = []
                value_preds_batch = []
                return_batch = []
                masks_batch = []
                old_action_log_probs_batch = []
                adv_targ = []
                for offset in range(num_envs_per_batch):
                    ind = perm[start_ind + offset]
                    obs_batch.append(self.obs[:-1, ind])
                    recurrent_hidden_states_batch.append(self.recurrent_hidden_states[0:1, ind])
                    actions_batch.append(self.actions[:, ind])
                    value_preds_batch.append(self.value_preds[:-1, ind])
                    return_batch.append(self.returns[:-1, ind])
                    masks_batch.append(self.masks[:-1, ind])
                    old_action_log_probs_batch.append(self.action_log_probs[:, ind])
                    adv_targ.append(advantages[:, ind])
                T_, N = self.num_steps, num_envs_per_batch
                # These are all tensors of size (T, N, -1)
                obs_batch = T.stack(obs_batch, 1)
                actions_batch = T.stack(actions_batch, 1)
                value_preds_batch = T.stack(value_preds_batch, 1)
                return_batch = T.stack(return_batch, 1)
                masks_batch = T.stack(masks_batch, 1)
                old_action_log_probs_batch = T.stack(old_action_log_probs_batch, 1)
                adv_targ = T.stack(adv_targ, 1)
                # States is just a (N, -1) tensor
                recurrent_hidden_states_batch = T.stack(recurrent_hidden_states_batch, 1).view(N, -1)
                # Flatten the (T, N, ...) tensors to (T * N, ...)
                obs_batch = _flatten_helper(T_, N, obs_batch)
                actions_batch = _flatten_helper(T_, N, actions_batch)
                value_preds_batch = _flatten_helper(T_, N, value_preds_batch)
                return_batch = _flatten_helper(T_, N, return_batch)
                masks_batch = _flatten_helper(T_, N, masks_batch)
                old_action_log_probs_batch = _flatten_helper(T_, N, old_action_log_probs_batch)
                adv_targ = _flatten_helper(T_, N, adv_targ)
                yield obs_batch, recurrent_hidden_states_batch, actions_batch, value_preds_batch, return_batch, \
                    masks_batch, old_action_log_probs_batch, adv_targ

    class PPO():
        def __init__(self, actor_critic, clip_param, ppo_epoch, num_mini_batch, value_loss_coef, entropy_coef,
                     lr=None, eps=None, max_grad_norm=None, use_clipped_value_loss=True):
            self.actor_critic = actor_critic
            self.clip_param = clip_param
            self.ppo_epoch = ppo_epoch
            self.num_mini_batch = num_mini_batch
            self.value_loss_coef = value_loss_coef
            self.entropy_coef = entropy_coef
            self.max_grad_norm = max_grad_norm
            self.use_clipped_value_loss = use_clipped_value_loss
            self.optimizer = T.optim.Adam(actor_critic.parameters(), lr=lr, eps=eps)
            self.record = []

        def update(self, rollouts, perms):
            advantages = rollouts.returns[:-1] - rollouts.value_preds[:-1]
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-5)
            value_loss_epoch = 0
            action_loss_epoch = 0
            dist_entropy_epoch = 0
            for e in range(self.ppo_epoch):
                data_generator = rollouts.recurrent_generator(advantages, self.num_mini_batch, next(perms))
                for sample in data_generator:
                    obs_batch, recurrent_hidden_states_batch, actions_batch, value_preds_batch, return_batch, \
                        masks_batch, old_action_log_probs_batch, adv_targ = sample
                    # Reshape to do in a single forward pass for all steps
                    values, action_log_probs, dist_entropy, _ = self.actor_critic.evaluate_actions(
                        obs_batch, recurrent_hidden_states_batch, masks_batch, actions_batch)
                    ratio = T.exp(action_log_probs - old_action_log_probs_batch)
                    surr1 = ratio * adv_targ
                    surr2 = T.clamp(ratio, 1.0 - self.clip_param, 1.0 + self.clip_param) * adv_targ
                    action_loss = -T.min(surr1, surr2).mean()
                    if self.use_clipped_value_loss:
                        value_pred_clipped = value_preds_batch + (values - value_preds_batch).clamp(
                            -self.clip_param, self.clip_param)
                        value_losses = (values - return_batch).pow(2)
                        value_losses_clipped = (value_pred_clipped - return_batch).pow(2)
                        value_loss = 0.5 * T.max(value_losses, value_losses_clipped).mean()
                    self.optimizer.zero_grad()
                    (value_loss * self.value_loss_coef + action_loss - dist_entropy * self.entropy_coef).backward()
                    self.record += [value_loss, action_loss, dist_entropy, _grads(self.actor_critic)]
                    nn.utils.clip_grad_norm_(self.actor_critic.parameters(), self.max_grad_norm)
                    self.optimizer.step()
                    value_loss_epoch += value_loss.item()
                    action_loss_epoch += action_loss.item()
                    dist_entropy_epoch += dist_entropy.item()
            num_updates = self.ppo_epoch * self.num_mini_batch
            return value_loss_epoch / num_updates, action_loss_epoch / num_updates, dist_entropy_epoch / num_updates

    num_processes, num_steps, obs_dim = 4, 6, 3
    envs = _VecEnv(num_processes, obs_dim, 2)
    actor_critic = Policy((obs_dim,), 2, base_kwargs={'recurrent': True, 'hidden_size': 5})
    if sd is None:
        return _state(actor_critic)
    _load(T, actor_critic, sd)
    agent = PPO(actor_critic, 0.2, 2, 2, 0.5, 0.01, lr=7e-3, eps=1e-5, max_grad_norm=0.5)
    rollouts = RolloutStorage(num_steps, num_processes, (obs_dim,), actor_critic.recurrent_hidden_state_size)
    obs, _ = envs.reset()
    rollouts.obs[0].copy_(T.from_numpy(obs))
    out = []
    draws, perms = iter(uniforms), iter(perms)
    for j in range(num_updates):
        for step in range(num_steps):
            # Sample actions
            with T.no_grad():
                value, action, action_log_prob, recurrent_hidden_states = actor_critic.act(
                    rollouts.obs[step], rollouts.recurrent_hidden_states[step], rollouts.masks[step], u=next(draws))
            obs, reward, done, trunc, infos = envs.step(action.numpy().reshape(-1))
            # If done then clean the history of observations.
            masks = T.FloatTensor([[0.0] if done_ else [1.0] for done_ in done]).double()
            bad_masks = T.FloatTensor([[0.0] if t else [1.0] for t in trunc]).double()
            rollouts.insert(T.from_numpy(obs), recurrent_hidden_states, action, action_log_prob, value,
                            T.from_numpy(reward).unsqueeze(1), masks, bad_masks)
        with T.no_grad():
            next_value = actor_critic.get_value(rollouts.obs[-1], rollouts.recurrent_hidden_states[-1],
                                                rollouts.masks[-1]).detach()
        rollouts.compute_returns(next_value, True, 0.99, 0.95, True)
        out += [rollouts.returns.clone(), rollouts.actions.clone(), rollouts.masks.clone(),
                rollouts.recurrent_hidden_states.clone()]
        out.append(list(agent.update(rollouts, perms)))
        rollouts.after_update()
    out += [agent.record, actor_critic.state_dict()]
    return out


def test_a2c_ppo_acktr_forward_gru_split_at_masks(torch):
    rng = _rng(9)
    uniforms = rng.random((12, 4))
    perms = [rng.permutation(4) for _ in range(4)]
    sd = a2c_ppo_acktr_gru(torch, None, None, None)
    _compare(a2c_ppo_acktr_gru(tg, sd, uniforms, perms), a2c_ppo_acktr_gru(torch, sd, uniforms, perms))


# --------------------------------------------------------------------------------------------------------- DreamerV2
def dreamer_v2(T, sd, data, draws, steps=2, horizon=3):
    """RajGhugare19/dreamerv2: RSSMDiscState namedtuples, rssm_observe / rssm_imagine with nonterms masks,
    get_stoch_state (OneHotCategorical sample + probs - probs.detach(), flattened), get_dist as Independent
    OneHotCategoricalStraightThrough, _kl_loss's balancing (alpha = 0.8) with torch.max against new_full free nats,
    the DiscreteActionModel's straight-through actions, compute_return's flipped backward loop, the REINFORCE actor
    loss with cumprod discounts and entropy, the Normal / Bernoulli heads, a hard-copied target critic, and three
    Adam optimizers with clip_grad_norm_. The one-hot draws come from numpy through a ``sample`` override (the
    OneHotCategoricalStraightThrough's rsample calls it, in torch)."""
    import collections
    nn = T.nn
    td = T.distributions
    draw = iter(draws or ())
    RSSMDiscState = collections.namedtuple('RSSMDiscState', ['logit', 'stoch', 'deter'])
    CAT, CLS, DET, ACT, OBS = 3, 3, 6, 2, 4

    def _from_numpy_sample(self, sample_shape=T.Size()):  # stands in for torch's multinomial draw
        u = T.from_numpy(next(draw)).reshape(tuple(self._extended_shape(sample_shape)))
        return nn.functional.one_hot(T.argmax(self.logits - T.log(-T.log(u)), -1),
                                     self.logits.shape[-1]).to(self.logits.dtype)

    class OneHotCategorical(td.OneHotCategorical):
        sample = _from_numpy_sample

    class OneHotCategoricalStraightThrough(td.OneHotCategoricalStraightThrough):
        sample = _from_numpy_sample

    class RSSM(nn.Module):
        def __init__(self):
            super().__init__()
            self.category_size, self.class_size = CAT, CLS
            self.fc_embed_state_action = nn.Sequential(nn.Linear(CAT * CLS + ACT, DET), nn.ELU())
            self.rnn = nn.GRUCell(DET, DET)
            self.fc_prior = nn.Sequential(nn.Linear(DET, DET), nn.ELU(), nn.Linear(DET, CAT * CLS))
            self.fc_posterior = nn.Sequential(nn.Linear(DET + OBS, DET), nn.ELU(), nn.Linear(DET, CAT * CLS))

        def rssm_imagine(self, prev_action, prev_rssm_state, nonterms=True):
            state_action_embed = self.fc_embed_state_action(T.cat([prev_rssm_state.stoch * nonterms, prev_action],
                                                                  dim=-1))
            deter_state = self.rnn(state_action_embed, prev_rssm_state.deter * nonterms)
            prior_logit = self.fc_prior(deter_state)
            stats = {'logit': prior_logit}
            prior_stoch_state = self.get_stoch_state(stats)
            return RSSMDiscState(prior_logit, prior_stoch_state, deter_state)

        def rssm_observe(self, obs_embed, prev_action, prev_nonterm, prev_rssm_state):
            prior_rssm_state = self.rssm_imagine(prev_action, prev_rssm_state, prev_nonterm)
            deter_state = prior_rssm_state.deter
            x = T.cat([deter_state, obs_embed], dim=-1)
            posterior_logit = self.fc_posterior(x)
            stats = {'logit': posterior_logit}
            posterior_stoch_state = self.get_stoch_state(stats)
            posterior_rssm_state = RSSMDiscState(posterior_logit, posterior_stoch_state, deter_state)
            return prior_rssm_state, posterior_rssm_state

        def rollout_observation(self, seq_len, obs_embed, action, nonterms, prev_rssm_state):
            priors, posteriors = [], []
            for t in range(seq_len):
                prev_action = action[t] * nonterms[t]
                prior_rssm_state, posterior_rssm_state = self.rssm_observe(obs_embed[t], prev_action, nonterms[t],
                                                                           prev_rssm_state)
                priors.append(prior_rssm_state)
                posteriors.append(posterior_rssm_state)
                prev_rssm_state = posterior_rssm_state
            prior = self.rssm_stack_states(priors, dim=0)
            post = self.rssm_stack_states(posteriors, dim=0)
            return prior, post

        def get_stoch_state(self, stats):
            logit = stats['logit']
            shape = logit.shape
            logit = T.reshape(logit, shape=(*shape[:-1], self.category_size, self.class_size))
            dist = OneHotCategoricalStraightThrough(logits=logit)
            stoch = dist.rsample()
            return T.flatten(stoch, start_dim=-2, end_dim=-1)

        def get_dist(self, rssm_state):
            shape = rssm_state.logit.shape
            logit = T.reshape(rssm_state.logit, shape=(*shape[:-1], self.category_size, self.class_size))
            return td.Independent(td.OneHotCategoricalStraightThrough(logits=logit), 1)

        def rssm_stack_states(self, rssm_states, dim):
            return RSSMDiscState(T.stack([state.logit for state in rssm_states], dim=dim),
                                 T.stack([state.stoch for state in rssm_states], dim=dim),
                                 T.stack([state.deter for state in rssm_states], dim=dim))

        def get_model_state(self, rssm_state):
            return T.cat((rssm_state.deter, rssm_state.stoch), dim=-1)

        def rssm_detach(self, rssm_state):
            return RSSMDiscState(rssm_state.logit.detach(), rssm_state.stoch.detach(), rssm_state.deter.detach())

        def rssm_seq_to_batch(self, rssm_state, batch_size, seq_len):
            return RSSMDiscState(*[T.reshape(x[:seq_len], (batch_size * seq_len, *x.shape[2:]))
                                   for x in rssm_state])

        def _init_rssm_state(self, batch_size, **kwargs):
            return RSSMDiscState(T.zeros(batch_size, CAT * CLS), T.zeros(batch_size, CAT * CLS),
                                 T.zeros(batch_size, DET))

    class DenseModel(nn.Module):
        def __init__(self, output_shape, input_size, dist='normal'):
            super().__init__()
            self._output_shape, self.dist = output_shape, dist
            self.model = nn.Sequential(nn.Linear(input_size, 7), nn.ELU(), nn.Linear(7, int(np.prod(output_shape))))

        def forward(self, input):
            dist_inputs = self.model(input)
            if self.dist == 'normal':
                return td.independent.Independent(td.Normal(dist_inputs, 1), len(self._output_shape))
            if self.dist == 'binary':
                return td.independent.Independent(td.Bernoulli(logits=dist_inputs), len(self._output_shape))

    class DiscreteActionModel(nn.Module):
        def __init__(self, action_size, deter_size, stoch_size):
            super().__init__()
            self.model = nn.Sequential(nn.Linear(deter_size + stoch_size, 7), nn.ELU(), nn.Linear(7, action_size))

        def forward(self, model_state):
            action_dist = self.get_action_dist(model_state)
            action = action_dist.sample()
            action = action + action_dist.probs - action_dist.probs.detach()
            return action, action_dist

        def get_action_dist(self, modelstate):
            logits = self.model(modelstate)
            return OneHotCategorical(logits=logits)

    def get_parameters(modules):
        model_parameters = []
        for module in modules:
            model_parameters += list(module.parameters())
        return model_parameters

    class FreezeParameters:
        def __init__(self, modules):
            self.modules = modules
            self.param_states = [p.requires_grad for p in get_parameters(self.modules)]

        def __enter__(self):
            for param in get_parameters(self.modules):
                param.requires_grad = False

        def __exit__(self, exc_type, exc_val, exc_tb):
            for i, param in enumerate(get_parameters(self.modules)):
                param.requires_grad = self.param_states[i]

    def compute_return(reward, value, discount, bootstrap, lambda_):
        next_values = T.cat([value[1:], bootstrap[None]], 0)
        target = reward + discount * next_values * (1 - lambda_)
        timesteps = list(range(reward.shape[0] - 1, -1, -1))
        outputs = []
        accumulated_reward = bootstrap
        for t in timesteps:
            inp = target[t]
            discount_factor = discount[t]
            accumulated_reward = inp + discount_factor * lambda_ * accumulated_reward
            outputs.append(accumulated_reward)
        return T.flip(T.stack(outputs), [0])

    modelstate_size = DET + CAT * CLS
    RSSM_ = RSSM()
    ActionModel = DiscreteActionModel(ACT, DET, CAT * CLS)
    RewardDecoder = DenseModel((1,), modelstate_size)
    ValueModel = DenseModel((1,), modelstate_size)
    TargetValueModel = DenseModel((1,), modelstate_size)
    DiscountModel = DenseModel((1,), modelstate_size, dist='binary')
    ObsEncoder = nn.Sequential(nn.Linear(OBS, OBS), nn.ELU())
    ObsDecoder = DenseModel((OBS,), modelstate_size)
    mods = [RSSM_, ActionModel, RewardDecoder, ValueModel, TargetValueModel, DiscountModel, ObsEncoder, ObsDecoder]
    if sd is None:
        return [_state(m) for m in mods]
    for m, s in zip(mods, sd):
        _load(T, m, s)
    TargetValueModel.load_state_dict(ValueModel.state_dict())
    world_list = [ObsEncoder, RSSM_, RewardDecoder, ObsDecoder, DiscountModel]
    model_optimizer = T.optim.Adam(get_parameters(world_list), 2e-3)
    actor_optimizer = T.optim.Adam(get_parameters([ActionModel]), 4e-3)
    value_optimizer = T.optim.Adam(get_parameters([ValueModel]), 1e-3)
    free_nats, alpha, discount_, lambda_, actor_entropy_scale = 0.1, 0.8, 0.99, 0.95, 1e-3
    out = []
    for step in range(steps):
        obs, actions, rewards, terms = [T.from_numpy(v[step]) for v in data]
        seq_len, batch_size = obs.shape[:2]
        nonterms = 1 - terms
        # representation loss
        embed = ObsEncoder(obs)
        prev_rssm_state = RSSM_._init_rssm_state(batch_size)
        prior, posterior = RSSM_.rollout_observation(seq_len, embed, actions, nonterms, prev_rssm_state)
        post_modelstate = RSSM_.get_model_state(posterior)
        obs_dist = ObsDecoder(post_modelstate[:-1])
        reward_dist = RewardDecoder(post_modelstate[:-1])
        pcont_dist = DiscountModel(post_modelstate[:-1])
        obs_loss = -T.mean(obs_dist.log_prob(obs[:-1]))
        reward_loss = -T.mean(reward_dist.log_prob(rewards[1:]))
        pcont_loss = -T.mean(pcont_dist.log_prob(nonterms[1:]))
        prior_dist = RSSM_.get_dist(prior)
        post_dist = RSSM_.get_dist(posterior)
        kl_lhs = T.mean(td.kl.kl_divergence(RSSM_.get_dist(RSSM_.rssm_detach(posterior)), prior_dist))
        kl_rhs = T.mean(td.kl.kl_divergence(post_dist, RSSM_.get_dist(RSSM_.rssm_detach(prior))))
        kl_lhs = T.max(kl_lhs, kl_lhs.new_full(kl_lhs.size(), free_nats))
        kl_rhs = T.max(kl_rhs, kl_rhs.new_full(kl_rhs.size(), free_nats))
        kl_loss = alpha * kl_lhs + (1 - alpha) * kl_rhs
        model_loss = kl_loss + reward_loss + obs_loss + pcont_loss
        model_optimizer.zero_grad()
        model_loss.backward()
        out += [obs_loss, reward_loss, pcont_loss, kl_lhs, kl_rhs, [p.grad for p in get_parameters(world_list)]]
        out.append(nn.utils.clip_grad_norm_(get_parameters(world_list), 100))
        model_optimizer.step()
        # actor loss: imagination from the detached posterior
        with T.no_grad():
            batched_posterior = RSSM_.rssm_detach(RSSM_.rssm_seq_to_batch(posterior, batch_size, seq_len - 1))
        with FreezeParameters(world_list):
            rssm_state = batched_posterior
            next_rssm_states, imag_log_probs, action_entropy = [], [], []
            for t in range(horizon):
                action, action_dist = ActionModel((RSSM_.get_model_state(rssm_state)).detach())
                rssm_state = RSSM_.rssm_imagine(action, rssm_state)
                next_rssm_states.append(rssm_state)
                imag_log_probs.append(action_dist.log_prob(T.round(action.detach())))
                action_entropy.append(action_dist.entropy())
            imag_rssm_states = RSSM_.rssm_stack_states(next_rssm_states, dim=0)
            imag_log_prob, policy_entropy = T.stack(imag_log_probs, dim=0), T.stack(action_entropy, dim=0)
        imag_modelstates = RSSM_.get_model_state(imag_rssm_states)
        with FreezeParameters(world_list + [ValueModel, TargetValueModel, DiscountModel]):
            imag_reward = RewardDecoder(imag_modelstates).mean
            imag_value = TargetValueModel(imag_modelstates).mean
            discount_arr = discount_ * T.round(DiscountModel(imag_modelstates).base_dist.probs)
        lambda_returns = compute_return(imag_reward[:-1], imag_value[:-1], discount_arr[:-1],
                                        bootstrap=imag_value[-1], lambda_=lambda_)
        advantage = (lambda_returns - imag_value[:-1]).detach()
        objective = imag_log_prob[1:].unsqueeze(-1) * advantage
        discount_arr = T.cat([T.ones_like(discount_arr[:1]), discount_arr[1:]])
        discount = T.cumprod(discount_arr[:-1], 0)
        policy_entropy = policy_entropy[1:].unsqueeze(-1)
        actor_loss = -T.sum(T.mean(discount * (objective + actor_entropy_scale * policy_entropy), dim=1))
        # value loss
        with T.no_grad():
            value_modelstates = imag_modelstates[:-1].detach()
            value_discount = discount.detach()
            value_target = lambda_returns.detach()
        value_dist = ValueModel(value_modelstates)
        value_loss = -T.mean(value_discount * value_dist.log_prob(value_target).unsqueeze(-1))
        actor_optimizer.zero_grad()
        value_optimizer.zero_grad()
        actor_loss.backward()
        value_loss.backward()
        out += [lambda_returns, actor_loss, value_loss, _grads(ActionModel), _grads(ValueModel)]
        nn.utils.clip_grad_norm_(get_parameters([ActionModel]), 100)
        nn.utils.clip_grad_norm_(get_parameters([ValueModel]), 100)
        actor_optimizer.step()
        value_optimizer.step()
        if step % 1 == 0:  # update_target
            mix = 1.0
            for param, target_param in zip(ValueModel.parameters(), TargetValueModel.parameters()):
                target_param.data.copy_(mix * param.data + (1 - mix) * target_param.data)
    out += [m.state_dict() for m in mods]
    return out


def test_dreamer_v2_kl_balancing_and_straight_through_rsample(torch):
    rng = _rng(10)
    steps, L, B = 2, 4, 2
    data = [rng.standard_normal((steps, L, B, 4)), np.eye(2)[rng.integers(0, 2, (steps, L, B))],
            rng.standard_normal((steps, L, B, 1)), (rng.random((steps, L, B, 1)) < 0.2) * 1.0]
    sizes = ([B * 3 * 3] * (2 * L) + [B * (L - 1) * 2, B * (L - 1) * 3 * 3] * 3) * steps
    draws = [rng.random(n) for n in sizes]
    sd = dreamer_v2(torch, None, None, None)
    _compare(dreamer_v2(tg, sd, data, draws), dreamer_v2(torch, sd, data, draws))

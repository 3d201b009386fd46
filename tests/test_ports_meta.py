"""Few-shot and meta-learning programs, ported: each written once, as its authors write it, against a module ``T``
(torch or tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and the same episodes
(sampled in numpy) for a few meta-steps in float64; losses, gradients of every parameter and final weights agree to
~1e-10. Skipped without torch.

Programs: Matching Networks with full context embeddings (a bidirectional LSTM g over the support, the attLSTM f
with read-attention, cosine similarities, attention-weighted label sums, NLL); Prototypical Networks (prototypes
by mean over shots, squared euclidean distances by torch.cdist and by the expanded form, log_softmax) and Relation
Networks (concatenated feature pairs, relation module, MSE on one-hot); MAML++ (per-step per-layer learned inner
learning rates in a ParameterDict, multi-step loss with annealed importance weights, derivative-order annealing,
BatchNorm with per-step running statistics, autograd.grad with create_graph / allow_unused, torch.func's
functional_call); Meta-SGD, Reptile (param.data updates, interpolated state dicts) and ANIL (head-only inner loop,
the body under no_grad, then with grad); LEO (relation-net encoder, a decoder of classifier weights, latent inner
loop by autograd.grad, orthogonality regulariser, KL terms); Ravi & Larochelle's Meta-LSTM learner (the cell state
is the learner's parameters, gates from preprocessed gradients, loss and previous parameters); functorch's MAML
(functional_call, func.grad inner loop, vmap over the tasks, BatchNorm without running statistics);
learn2learn's MAML (clone_module / update_module) around an LSTM sequence classifier; SNAIL (dilated causal
convolution TC blocks, masked attention blocks).
"""

import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, rng as _rng, state as _state


def _episodes(rng, n_ep, n_way, k_shot, n_query, dim):
    """n_ep episodes: (support x, support y, query x, query y), class-dependent means so the tasks are learnable."""
    out = []
    for _ in range(n_ep):
        means = rng.standard_normal((n_way, dim))
        xs = means[:, None] + 0.5 * rng.standard_normal((n_way, k_shot, dim))
        xq = means[:, None] + 0.5 * rng.standard_normal((n_way, n_query, dim))
        ys = np.repeat(np.arange(n_way), k_shot)
        yq = np.repeat(np.arange(n_way), n_query)
        out.append((xs.reshape(-1, dim), ys, xq.reshape(-1, dim), yq))
    return out

# ------------------------------------------------------------------------------------------------------- the programs
def matching_nets_fce(T, sd, episodes, n_way):
    """Matching Networks with full context embeddings (after gitabcworld/MatchingNetworks): g is a bidirectional
    LSTM over the support embeddings (plus skip), f the attLSTM: an LSTMCell run K steps on the query embedding
    with read-attention over g(support); cosine similarities, softmax attention, attention-weighted one-hot label
    sums, log + NLL; Adam."""
    nn, F = T.nn, T.nn.functional

    class BidirectionalLSTM(nn.Module):
        def __init__(self, layer_sizes, vector_dim):
            super().__init__()
            self.hidden_size = layer_sizes[0]
            self.lstm = nn.LSTM(input_size=vector_dim, num_layers=len(layer_sizes), hidden_size=self.hidden_size,
                                bidirectional=True)

        def forward(self, inputs):
            # inputs: [seq, batch, dim]
            output, (hn, cn) = self.lstm(inputs)
            return output

    class AttentionalLSTM(nn.Module):
        def __init__(self, dim, K):
            super().__init__()
            self.K = K
            self.lstm_cell = nn.LSTMCell(dim, dim)

        def forward(self, f_x, g_S):
            # f_x [q, d], g_S [s, d]
            h = f_x
            c = T.zeros_like(f_x)
            r = T.zeros_like(f_x)
            for _ in range(self.K):
                h_hat, c = self.lstm_cell(f_x, (h + r, c))
                h = h_hat + f_x
                a = F.softmax(T.mm(h, g_S.t()), dim=1)
                r = T.mm(a, g_S)
            return h

    class DistanceNetwork(nn.Module):
        def forward(self, support_set, input_image):
            eps = 1e-10
            similarities = []
            for support_image in support_set:
                sum_support = T.sum(T.pow(support_image, 2), 1)
                support_magnitude = sum_support.clamp(eps, float("inf")).rsqrt()
                dot_product = input_image.unsqueeze(1).bmm(support_image.unsqueeze(2)).squeeze()
                cosine_similarity = dot_product * support_magnitude
                similarities.append(cosine_similarity)
            similarities = T.stack(similarities)
            return similarities

    class AttentionalClassify(nn.Module):
        def forward(self, similarities, support_set_y):
            softmax = nn.Softmax(dim=1)
            softmax_similarities = softmax(similarities)
            preds = softmax_similarities.unsqueeze(1).bmm(support_set_y).squeeze()
            return preds

    class MatchingNetwork(nn.Module):
        def __init__(self, dim, emb):
            super().__init__()
            self.g = nn.Sequential(nn.Linear(dim, emb), nn.Tanh())
            self.lstm = BidirectionalLSTM([emb // 2], emb)
            self.att = AttentionalLSTM(emb, K=3)
            self.dn = DistanceNetwork()
            self.classify = AttentionalClassify()

        def forward(self, support_images, support_labels_one_hot, target_image):
            encoded = [self.g(support_images[i]) for i in range(support_images.size(0))]
            s = T.stack(encoded)  # [s, 1, emb]... here batch 1
            s = self.lstm(s) + s
            g_S = s[:, 0]
            f_x = self.g(target_image)
            f_x = self.att(f_x, g_S)
            # DistanceNetwork expects a list of support vectors, each [batch(q), d]
            support = [g_S[i].unsqueeze(0).expand(f_x.size(0), -1) for i in range(g_S.size(0))]
            similarities = self.dn(support_set=support, input_image=f_x).t()
            preds = self.classify(similarities, support_set_y=support_labels_one_hot.unsqueeze(0)
                                  .expand(f_x.size(0), -1, -1))
            return preds

    m = MatchingNetwork(4, 6)
    if sd is None:
        return _state(m)
    _load(T, m, sd)
    opt = T.optim.Adam(m.parameters(), lr=1e-2)
    out = []
    for xs, ys, xq, yq in episodes:
        one_hot = F.one_hot(T.tensor(ys), n_way).to(T.float64)
        preds = m(T.tensor(xs).unsqueeze(1), one_hot, T.tensor(xq))
        loss = F.nll_loss(T.log(preds + 1e-12), T.tensor(yq))
        acc = (preds.argmax(1) == T.tensor(yq)).float().mean()
        opt.zero_grad()
        loss.backward()
        out += [preds, loss, acc, _grads(m)]
        opt.step()
    out.append(m.state_dict())
    return out

def test_matching_networks_full_context_embeddings(torch):
    eps = _episodes(_rng(), 3, 3, 2, 2, 4)
    sd = matching_nets_fce(torch, None, None, 3)
    _compare(matching_nets_fce(tg, sd, eps, 3), matching_nets_fce(torch, sd, eps, 3))

def protonet_and_relation(T, sd, episodes, n_way, k_shot):
    """Prototypical Networks (jakesnell/prototypical-networks): an encoder, prototypes by the mean over shots,
    squared euclidean distances (their euclidean_dist's expanded (a-b)^2 form, and torch.cdist(...)**2),
    log_softmax, gather of the true class; Relation Networks (floodsung/LearningToCompare_FSL): concatenated
    (prototype, query) feature pairs, a relation module with a sigmoid, MSE against one-hot; Adam with StepLR."""
    nn, F = T.nn, T.nn.functional

    def euclidean_dist(x, y):
        n, m, d = x.size(0), y.size(0), x.size(1)
        assert d == y.size(1)
        x = x.unsqueeze(1).expand(n, m, d)
        y = y.unsqueeze(0).expand(n, m, d)
        return T.pow(x - y, 2).sum(2)

    class Protonet(nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def loss(self, xs, xq, n_class, n_support, n_query):
            target_inds = T.arange(0, n_class).view(n_class, 1, 1).expand(n_class, n_query, 1).long()
            x = T.cat([xs.view(n_class * n_support, *xs.size()[2:]), xq.view(n_class * n_query, *xq.size()[2:])], 0)
            z = self.encoder.forward(x)
            z_dim = z.size(-1)
            z_proto = z[:n_class * n_support].view(n_class, n_support, z_dim).mean(1)
            zq = z[n_class * n_support:]
            dists = euclidean_dist(zq, z_proto)
            dists2 = T.cdist(zq, z_proto) ** 2
            log_p_y = F.log_softmax(-dists, dim=1).view(n_class, n_query, -1)
            log_p_y2 = F.log_softmax(-dists2, dim=1).view(n_class, n_query, -1)
            loss_val = -log_p_y.gather(2, target_inds).squeeze().view(-1).mean()
            loss_val2 = -log_p_y2.gather(2, target_inds).squeeze().view(-1).mean()
            _, y_hat = log_p_y.max(2)
            acc_val = T.eq(y_hat, target_inds.squeeze()).float().mean()
            return loss_val + loss_val2, {"loss": loss_val.item(), "acc": acc_val.item()}, z_proto, zq

    class RelationNetwork(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.fc1 = nn.Linear(input_size * 2, hidden_size)
            self.fc2 = nn.Linear(hidden_size, 1)

        def forward(self, x):
            out = F.relu(self.fc1(x))
            out = T.sigmoid(self.fc2(out))
            return out

    # (no bias before the BatchNorm: its gradient is rounding noise, which Adam's normalisation would amplify)
    encoder = nn.Sequential(nn.Linear(4, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 5))
    model = Protonet(encoder)
    relation = RelationNetwork(5, 6)
    if sd is None:
        return _state(model), _state(relation)
    _load(T, model, sd[0])
    _load(T, relation, sd[1])
    opt = T.optim.Adam(list(model.parameters()) + list(relation.parameters()), lr=1e-2)
    sched = T.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
    mse = nn.MSELoss()
    out = []
    for xs, ys, xq, yq in episodes:
        n_query = len(yq) // n_way
        xs_t = T.tensor(xs).view(n_way, k_shot, -1)
        xq_t = T.tensor(xq).view(n_way, n_query, -1)
        loss, info, z_proto, zq = model.loss(xs_t, xq_t, n_way, k_shot, n_query)
        n_q = zq.size(0)
        pairs = T.cat((z_proto.unsqueeze(0).repeat(n_q, 1, 1), zq.unsqueeze(1).repeat(1, n_way, 1)), 2)
        relations = relation(pairs.view(-1, 10)).view(-1, n_way)
        one_hot = T.zeros(n_q, n_way).scatter_(1, T.tensor(yq).view(-1, 1), 1)
        rel_loss = mse(relations, one_hot)
        opt.zero_grad()
        (loss + rel_loss).backward()
        out += [loss, rel_loss, relations, info["acc"], _grads(model), _grads(relation)]
        opt.step()
        sched.step()
    out += [model.state_dict(), relation.state_dict()]
    return out

def test_prototypical_and_relation_networks(torch):
    eps = _episodes(_rng(1), 4, 3, 2, 3, 4)
    sd = protonet_and_relation(torch, None, None, 3, 2)
    _compare(protonet_and_relation(tg, sd, eps, 3, 2), protonet_and_relation(torch, sd, eps, 3, 2))

def maml_plus_plus(T, sd, tasks, n_way, second_order):
    """MAML++ (AntreasAntoniou/HowToTrainYourMAMLPytorch): a classifier with a MetaBatchNormLayer keeping
    per-step running statistics (buffers [num_steps, C] indexed by the step, updated in place by F.batch_norm,
    backed up and restored), learned per-step per-layer inner learning rates (LSLR: a ParameterDict keyed by the
    parameter names with '.' -> '-'), the multi-step loss with annealed importance weights (torch.Tensor of a
    numpy vector), derivative-order annealing (create_graph only after the first epochs), inner steps by
    torch.autograd.grad(create_graph=..., allow_unused=True) and a functional forward by torch.func's
    functional_call; Adam with CosineAnnealingLR over the meta-parameters."""
    nn, F = T.nn, T.nn.functional
    num_steps = 3

    class MetaBatchNormLayer(nn.Module):
        def __init__(self, num_features, num_steps, eps=1e-5, momentum=0.1):
            super().__init__()
            self.num_features, self.eps, self.momentum = num_features, eps, momentum
            self.running_mean = nn.Parameter(T.zeros(num_steps, num_features), requires_grad=False)
            self.running_var = nn.Parameter(T.ones(num_steps, num_features), requires_grad=False)
            self.bias = nn.Parameter(T.zeros(num_features), requires_grad=True)
            self.weight = nn.Parameter(T.ones(num_features), requires_grad=True)
            self.backup_running_mean = T.zeros(self.running_mean.shape)
            self.backup_running_var = T.ones(self.running_var.shape)

        def forward(self, input, num_step, backup_running_statistics=False):
            running_mean = self.running_mean[num_step]
            running_var = self.running_var[num_step]
            if backup_running_statistics:
                self.backup_running_mean.data = T.clone(self.running_mean.data)
                self.backup_running_var.data = T.clone(self.running_var.data)
            return F.batch_norm(input, running_mean, running_var, self.weight, self.bias, training=True,
                                momentum=self.momentum, eps=self.eps)

        def restore_backup_stats(self):
            self.running_mean = nn.Parameter(self.backup_running_mean, requires_grad=False)
            self.running_var = nn.Parameter(self.backup_running_var, requires_grad=False)

    class VGGLiteMeta(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer0 = nn.Linear(4, 8)
            self.norm_layer0 = MetaBatchNormLayer(8, num_steps)
            self.layer1 = nn.Linear(8, 8)
            self.unused = nn.Linear(2, 2)  # (a parameter the loss never reaches: allow_unused)
            self.linear = nn.Linear(8, n_way)

        def forward(self, x, num_step, backup_running_statistics=False):
            out = F.leaky_relu(self.norm_layer0(self.layer0(x), num_step, backup_running_statistics))
            out = F.leaky_relu(self.layer1(out))
            return self.linear(out)

    class LSLRGradientDescentLearningRule(nn.Module):
        def __init__(self, init_learning_rate=1e-1, total_num_inner_loop_steps=num_steps):
            super().__init__()
            self.init_learning_rate = T.ones(1) * init_learning_rate
            self.total_num_inner_loop_steps = total_num_inner_loop_steps

        def initialise(self, names_weights_dict):
            self.names_learning_rates_dict = nn.ParameterDict()
            for idx, (key, param) in enumerate(names_weights_dict.items()):
                self.names_learning_rates_dict[key.replace(".", "-")] = nn.Parameter(
                    data=T.ones(self.total_num_inner_loop_steps + 1) * self.init_learning_rate,
                    requires_grad=True)

        def update_params(self, names_weights_dict, names_grads_wrt_params_dict, num_step):
            updated = dict()
            for key in names_grads_wrt_params_dict.keys():
                g = names_grads_wrt_params_dict[key]
                if g is None:
                    updated[key] = names_weights_dict[key]
                    continue
                updated[key] = names_weights_dict[key] - \
                    self.names_learning_rates_dict[key.replace(".", "-")][num_step] * g
            return updated

    classifier = VGGLiteMeta()
    names_weights = {name: p for name, p in classifier.named_parameters() if p.requires_grad
                     and "norm_layer" not in name}
    rule = LSLRGradientDescentLearningRule()
    rule.initialise(names_weights)
    if sd is None:
        return _state(classifier), _state(rule)
    _load(T, classifier, sd[0])
    _load(T, rule, sd[1])
    params = list(classifier.parameters()) + list(rule.parameters())
    optimizer = T.optim.Adam([p for p in params if p.requires_grad], lr=1e-2, amsgrad=False)
    scheduler = T.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4, eta_min=1e-4)
    msl_epochs, first_order_to_second_order_epoch = 2, 0

    def get_per_step_loss_importance_vector(current_epoch):
        loss_weights = np.ones(shape=(num_steps)) * (1.0 / num_steps)
        decay_rate = 1.0 / num_steps / msl_epochs
        min_value_for_non_final_losses = 0.03 / num_steps
        for i in range(len(loss_weights) - 1):
            loss_weights[i] = np.maximum(loss_weights[i] - (current_epoch * decay_rate), min_value_for_non_final_losses)
        loss_weights[-1] = np.minimum(loss_weights[-1] + (current_epoch * (num_steps - 1) * decay_rate),
                                      1.0 - ((num_steps - 1) * min_value_for_non_final_losses))
        return T.Tensor(loss_weights)

    out = []
    for epoch, batch in enumerate(tasks):
        use_second_order = second_order and epoch > first_order_to_second_order_epoch
        per_step_weights = get_per_step_loss_importance_vector(epoch)
        total_losses = []
        for xs, ys, xt, yt in batch:
            x_support, y_support = T.tensor(xs), T.tensor(ys)
            x_target, y_target = T.tensor(xt), T.tensor(yt)
            names_weights_copy = {n: p for n, p in classifier.named_parameters() if p.requires_grad
                                  and "norm_layer" not in n}
            task_losses = []
            for num_step in range(num_steps):
                buffers_and_rest = {n: p for n, p in classifier.named_parameters() if "norm_layer" in n}
                support_preds = T.func.functional_call(
                    classifier, {**names_weights_copy, **buffers_and_rest}, (x_support, num_step),
                    {"backup_running_statistics": num_step == 0})
                support_loss = F.cross_entropy(support_preds, y_support)
                grads = T.autograd.grad(support_loss, list(names_weights_copy.values()),
                                        create_graph=use_second_order, allow_unused=True)
                names_grads_copy = dict(zip(names_weights_copy.keys(), grads))
                assert names_grads_copy["unused.weight"] is None
                names_weights_copy = rule.update_params(names_weights_copy, names_grads_copy, num_step)
                target_preds = T.func.functional_call(classifier, {**names_weights_copy, **buffers_and_rest},
                                                      (x_target, num_step))
                target_loss = F.cross_entropy(target_preds, y_target)
                task_losses.append(per_step_weights[num_step] * target_loss)
            total_losses.append(T.sum(T.stack(task_losses)))
            out.append(target_preds)
        loss = T.mean(T.stack(total_losses))
        optimizer.zero_grad()
        loss.backward()
        out += [loss, _grads(classifier), _grads(rule), classifier.norm_layer0.running_mean.clone()]
        optimizer.step()
        scheduler.step()
    classifier.norm_layer0.restore_backup_stats()
    out += [classifier.state_dict(), rule.state_dict()]
    return out

@pytest.mark.parametrize("second_order", [False, True])
def test_maml_plus_plus(torch, second_order):
    rng = _rng(2)
    tasks = [_episodes(rng, 2, 3, 2, 2, 4) for _ in range(3)]
    sd = maml_plus_plus(torch, None, None, 3, second_order)
    _compare(maml_plus_plus(tg, sd, tasks, 3, second_order), maml_plus_plus(torch, sd, tasks, 3, second_order))

def metasgd_reptile_anil(T, sd, tasks, n_way):
    """Meta-SGD (Li et al.: a learned per-parameter inner lr, alpha, a ParameterList, trained with the weights
    through create_graph inner steps on a functional MLP), Reptile (openai/supervised-reptile's torch version:
    inner SGD by param.data -= lr * param.grad.data, the meta update by interpolating deep-copied state dicts) and
    ANIL (Raghu et al.: a head-only inner loop on features from a body run under torch.no_grad, then the query
    loss with the body's graph)."""
    import copy
    nn, F = T.nn, T.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, n_way)

        def forward(self, x, params=None):
            if params is None:
                params = list(self.parameters())
            h = F.relu(F.linear(x, params[0], params[1]))
            return F.linear(h, params[2], params[3])

    msgd = MLP()
    alpha = nn.ParameterList([nn.Parameter(T.full_like(p, 0.1)) for p in msgd.parameters()])
    reptile = MLP()
    body = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 6), nn.ReLU())
    head = nn.Linear(6, n_way)
    mods = [msgd, alpha, reptile, body, head]
    if sd is None:
        return [_state(m) for m in mods]
    for m, s in zip(mods, sd):
        _load(T, m, s)
    meta_opt = T.optim.Adam(list(msgd.parameters()) + list(alpha.parameters()), lr=1e-2)
    anil_opt = T.optim.SGD(list(body.parameters()) + list(head.parameters()), lr=0.1, momentum=0.9, nesterov=True)
    out = []
    for it, batch in enumerate(tasks):
        # Meta-SGD
        meta_loss = 0.
        for xs, ys, xq, yq in batch:
            fast = list(msgd.parameters())
            for _ in range(2):
                loss = F.cross_entropy(msgd(T.tensor(xs), fast), T.tensor(ys))
                grads = T.autograd.grad(loss, fast, create_graph=True)
                fast = [w - a * g for w, a, g in zip(fast, alpha, grads)]
            meta_loss = meta_loss + F.cross_entropy(msgd(T.tensor(xq), fast), T.tensor(yq))
        meta_loss = meta_loss / len(batch)
        meta_opt.zero_grad()
        meta_loss.backward()
        out += [meta_loss, _grads(msgd), _grads(alpha)]
        meta_opt.step()
        # Reptile
        weights_before = copy.deepcopy(reptile.state_dict())
        xs, ys, xq, yq = batch[0]
        x_all, y_all = np.concatenate([xs, xq]), np.concatenate([ys, yq])
        for start in range(0, len(x_all), 4):
            xb, yb = T.tensor(x_all[start:start + 4]), T.tensor(y_all[start:start + 4])
            reptile.zero_grad()
            loss = F.cross_entropy(reptile(xb), yb)
            loss.backward()
            for param in reptile.parameters():
                param.data -= 0.02 * param.grad.data
        weights_after = reptile.state_dict()
        outerstepsize = 0.1 * (1 - it / len(tasks))
        reptile.load_state_dict({name: weights_before[name] + (weights_after[name] - weights_before[name])
                                 * outerstepsize for name in weights_before})
        out.append(loss)
        # ANIL
        anil_opt.zero_grad()
        total = 0.
        for xs, ys, xq, yq in batch:
            with T.no_grad():
                feats = body(T.tensor(xs))
            assert not feats.requires_grad
            w, b = head.weight, head.bias
            for _ in range(3):
                loss = F.cross_entropy(F.linear(feats, w, b), T.tensor(ys))
                gw, gb = T.autograd.grad(loss, (w, b), create_graph=True)
                w, b = w - 0.5 * gw, b - 0.5 * gb
            q_loss = F.cross_entropy(F.linear(body(T.tensor(xq)), w, b), T.tensor(yq))
            (q_loss / len(batch)).backward()
            total += q_loss.item()
        out += [total, _grads(body), _grads(head)]
        anil_opt.step()
    return out + [m.state_dict() for m in mods]

def test_meta_sgd_reptile_anil(torch):
    rng = _rng(3)
    tasks = [_episodes(rng, 2, 3, 2, 2, 4) for _ in range(3)]
    sd = metasgd_reptile_anil(torch, None, None, 3)
    _compare(metasgd_reptile_anil(tg, sd, tasks, 3), metasgd_reptile_anil(torch, sd, tasks, 3))

def meta_lstm_learner(T, sd, tasks, n_way):
    """Ravi & Larochelle's meta-learner LSTM (markdtw/meta-learning-lstm-pytorch): an nn.LSTMCell over the
    preprocessed (loss, grad) pairs of every learner parameter, then a MetaLSTMCell whose cell state IS the
    flattened learner parameters (cI), with forget / input gates from [h, c_prev, f_prev / i_prev]; the learner
    with gradients gets cI copied in by p.data.copy_, the learner without gradients gets cI's slices put into its
    _parameters (plain tensors, the graph kept); clip_grad_norm_ and Adam on the meta-learner."""
    import copy
    nn = T.nn

    def preprocess_grad_loss(x):
        p = 10
        indicator = (x.abs() >= np.exp(-p)).to(T.float32)
        x_proc1 = indicator * T.log(x.abs() + 1e-8) / p + (1 - indicator) * -1
        x_proc2 = indicator * T.sign(x) + (1 - indicator) * np.exp(p) * x
        return T.stack((x_proc1, x_proc2), 1)

    class Learner(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.ModuleDict({"features": nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU()),
                                        "cls": nn.Linear(5, n_way)})
            self.criterion = nn.CrossEntropyLoss()

        def forward(self, x):
            return self.model.cls(self.model.features(x))

        def get_flat_params(self):
            return T.cat([p.view(-1) for p in self.model.parameters()], 0)

        def copy_flat_params(self, cI):
            idx = 0
            for p in self.model.parameters():
                plen = p.view(-1).size(0)
                p.data.copy_(cI[idx: idx + plen].view_as(p))
                idx += plen

        def transfer_params(self, learner_w_grad, cI):
            self.load_state_dict(learner_w_grad.state_dict())
            idx = 0
            for m in self.model.modules():
                if isinstance(m, (nn.Linear, nn.BatchNorm1d)):
                    wlen = m._parameters["weight"].view(-1).size(0)
                    m._parameters["weight"] = cI[idx: idx + wlen].view_as(m._parameters["weight"]).clone()
                    idx += wlen
                    if m._parameters["bias"] is not None:
                        blen = m._parameters["bias"].view(-1).size(0)
                        m._parameters["bias"] = cI[idx: idx + blen].view_as(m._parameters["bias"]).clone()
                        idx += blen

    class MetaLSTMCell(nn.Module):
        def __init__(self, input_size, hidden_size, n_learner_params):
            super().__init__()
            self.input_size, self.hidden_size, self.n_learner_params = input_size, hidden_size, n_learner_params
            self.WF = nn.Parameter(T.Tensor(input_size + 2, hidden_size))
            self.WI = nn.Parameter(T.Tensor(input_size + 2, hidden_size))
            self.cI = nn.Parameter(T.Tensor(n_learner_params, 1))
            self.bI = nn.Parameter(T.Tensor(1, hidden_size))
            self.bF = nn.Parameter(T.Tensor(1, hidden_size))
            for weight in self.parameters():
                nn.init.uniform_(weight, -0.01, 0.01)
            nn.init.uniform_(self.bF, 4, 6)
            nn.init.uniform_(self.bI, -5, -4)

        def init_cI(self, flat_params):
            self.cI.data.copy_(flat_params.unsqueeze(1))

        def forward(self, inputs, hx=None):
            x_all, grad = inputs
            batch, _ = x_all.size()
            if hx is None:
                f_prev = T.zeros((batch, self.hidden_size)).to(self.WF.device)
                i_prev = T.zeros((batch, self.hidden_size)).to(self.WI.device)
                c_prev = self.cI
                hx = [f_prev, i_prev, c_prev]
            f_prev, i_prev, c_prev = hx
            f_next = T.mm(T.cat((x_all, c_prev, f_prev), 1), self.WF) + self.bF.expand_as(f_prev)
            i_next = T.mm(T.cat((x_all, c_prev, i_prev), 1), self.WI) + self.bI.expand_as(i_prev)
            c_next = T.sigmoid(f_next).mul(c_prev) - T.sigmoid(i_next).mul(grad)
            return c_next, [f_next, i_next, c_next]

    class MetaLearner(nn.Module):
        def __init__(self, input_size, hidden_size, n_learner_params):
            super().__init__()
            self.lstm = nn.LSTMCell(input_size=input_size, hidden_size=hidden_size)
            self.metalstm = MetaLSTMCell(input_size=hidden_size, hidden_size=1, n_learner_params=n_learner_params)

        def forward(self, inputs, hs=None):
            loss, grad_prep, grad = inputs
            loss = loss.expand_as(grad_prep)
            inputs = T.cat((loss, grad_prep), 1)
            if hs is None:
                hs = [None, None]
            lstmhx, lstmcx = self.lstm(inputs, hs[0])
            flat_learner_unsqzd, metalstm_hs = self.metalstm([lstmhx, grad], hs[1])
            return flat_learner_unsqzd.squeeze(), [(lstmhx, lstmcx), metalstm_hs]

    learner_w_grad = Learner()
    learner_wo_grad = copy.deepcopy(learner_w_grad)
    n_params = learner_w_grad.get_flat_params().size(0)
    metalearner = MetaLearner(4, 3, n_params)
    metalearner.metalstm.init_cI(learner_w_grad.get_flat_params())
    if sd is None:
        return _state(learner_w_grad), _state(metalearner)
    _load(T, learner_w_grad, sd[0])
    _load(T, metalearner, sd[1])
    optim = T.optim.Adam(metalearner.parameters(), 1e-2)
    batch_size = 3
    out = []
    for xs, ys, xq, yq in tasks:
        train_input, train_target = T.tensor(xs), T.tensor(ys)
        learner_w_grad.train()
        cI = metalearner.metalstm.cI.data
        hs = [None]
        for _ in range(2):
            for i in range(0, len(train_input), batch_size):
                x, y = train_input[i:i + batch_size], train_target[i:i + batch_size]
                learner_w_grad.copy_flat_params(cI)
                output = learner_w_grad(x)
                loss = learner_w_grad.criterion(output, y)
                learner_w_grad.zero_grad()
                loss.backward()
                grad = T.cat([p.grad.data.view(-1) / batch_size for p in learner_w_grad.parameters()], 0)
                grad_prep = preprocess_grad_loss(grad)
                loss_prep = preprocess_grad_loss(loss.data.unsqueeze(0))
                metalearner_input = [loss_prep, grad_prep, grad.unsqueeze(1)]
                cI, h = metalearner(metalearner_input, hs[-1])
                hs.append(h)
        learner_wo_grad.transfer_params(learner_w_grad, cI)
        output = learner_wo_grad(T.tensor(xq))
        loss = learner_wo_grad.criterion(output, T.tensor(yq))
        optim.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(metalearner.parameters(), 0.25)
        out += [cI, output, loss, _grads(metalearner)]
        optim.step()
    return out + [metalearner.state_dict(), learner_w_grad.state_dict()]

def test_meta_lstm_learner(torch):
    tasks = _episodes(_rng(4), 3, 3, 2, 2, 4)
    sd = meta_lstm_learner(torch, None, None, 3)
    _compare(meta_lstm_learner(tg, sd, tasks, 3), meta_lstm_learner(torch, sd, tasks, 3))

def leo(T, sd, tasks, noise, n_way, k_shot):
    """LEO (Rusu et al.; a torch port of deepmind/leo): an encoder and a relation net over all pairs of support
    embeddings averaged per class, reparameterised latents (noise sampled in numpy), a decoder producing the
    classifier weights, an inner loop in latent space by autograd.grad(create_graph=True), a fine-tuning loop on
    the decoded weights, KL terms from torch.distributions.Normal, the encoder penalty against detached latents,
    the orthogonality regulariser on the decoder weights (torch.mm(w, w.t()), torch.eye), weight decay; Adam and
    clip_grad_value_."""
    nn, F = T.nn, T.nn.functional
    embed, hidden = 4, 3

    class LEO(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(embed, hidden, bias=False)
            self.relation_net = nn.Sequential(nn.Linear(2 * hidden, 2 * hidden, bias=False), nn.ReLU(),
                                              nn.Linear(2 * hidden, 2 * hidden, bias=False))
            self.decoder = nn.Linear(hidden, 2 * embed, bias=False)
            self.inner_lr = nn.Parameter(T.tensor(1.0))
            self.finetuning_lr = nn.Parameter(T.tensor(1e-3))
            self.dropout = nn.Dropout(p=0.0)

        def sample(self, distribution_params, eps):
            means, unnormalized_stddev = T.chunk(distribution_params, 2, dim=-1)
            stddev = T.exp(unnormalized_stddev)
            stddev = stddev - (1. - 0.99)
            stddev = T.clamp(stddev, min=1e-10)
            samples = means + stddev * eps
            kl = T.mean(T.distributions.Normal(means, stddev).log_prob(samples)
                        - T.distributions.Normal(T.zeros_like(means), T.ones_like(stddev)).log_prob(samples))
            return samples, kl

        def encode(self, inputs, eps):
            # inputs [N, K, embed]
            x = self.encoder(self.dropout(inputs))
            N, K, H = x.size()
            flat = x.reshape(N * K, H)
            left = flat.unsqueeze(1).repeat(1, N * K, 1)
            right = flat.unsqueeze(0).repeat(N * K, 1, 1)
            pairs = T.cat((left, right), dim=-1)
            rel = self.relation_net(pairs).view(N, K, N * K, 2 * H)
            rel = T.mean(rel, dim=2)
            params = T.mean(rel, dim=1)
            return self.sample(params, eps)

        def decode(self, latents, eps):
            weights_dist_params = self.decoder(latents)
            return self.sample(weights_dist_params, eps)

        def calculate_inner_loss(self, inputs, labels, weights):
            logits = T.einsum("ne,we->nw", inputs, weights)
            return F.cross_entropy(logits, labels), logits

    def orthogonality(weight):
        w2 = T.mm(weight, weight.t())
        wn = T.norm(weight, dim=1, keepdim=True) + 1e-20
        correlation_matrix = w2 / T.mm(wn, wn.t())
        d = correlation_matrix.size(0)
        return T.mean((correlation_matrix - T.eye(d)) ** 2)

    model = LEO()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for (xs, ys, xq, yq), (e1, e2s) in zip(tasks, noise):
        tr_in = T.tensor(xs).view(n_way, k_shot, embed)
        tr_flat, tr_lab = T.tensor(xs), T.tensor(ys)
        latents, kl = model.encode(tr_in, T.tensor(e1))
        latents_init = latents
        weights, _ = model.decode(latents, T.tensor(e2s[0]))
        for step in range(2):
            train_loss, _ = model.calculate_inner_loss(tr_flat, tr_lab, weights)
            loss_grad = T.autograd.grad(train_loss, latents, create_graph=True)[0]
            latents = latents - model.inner_lr * loss_grad
            weights, _ = model.decode(latents, T.tensor(e2s[step + 1]))
        for _ in range(2):
            train_loss, _ = model.calculate_inner_loss(tr_flat, tr_lab, weights)
            loss_grad = T.autograd.grad(train_loss, [weights], create_graph=True)[0]
            weights = weights - model.finetuning_lr * loss_grad
        val_loss, logits = model.calculate_inner_loss(T.tensor(xq), T.tensor(yq), weights)
        encoder_penalty = T.mean((latents_init - latents.detach()) ** 2)
        l2 = sum(T.sum(p ** 2) for n, p in model.named_parameters() if "lr" not in n)
        ortho = orthogonality(model.decoder.weight)
        total = val_loss + 0.01 * kl + 1e-3 * encoder_penalty + 1e-4 * l2 + 0.1 * ortho
        opt.zero_grad()
        total.backward()
        nn.utils.clip_grad_value_(model.parameters(), 0.1)
        out += [logits, val_loss, kl, ortho, total, _grads(model)]
        opt.step()
    return out + [model.state_dict()]

def test_leo_latent_embedding_optimization(torch):
    rng = _rng(5)
    tasks = _episodes(rng, 3, 3, 2, 2, 4)
    noise = [(rng.standard_normal((3, 3)), rng.standard_normal((3, 3, 4))) for _ in tasks]
    sd = leo(torch, None, None, None, 3, 2)
    _compare(leo(tg, sd, tasks, noise, 3, 2), leo(torch, sd, tasks, noise, 3, 2))


def functorch_maml(T, sd, tasks, n_way, bn=True, use_vmap=True):
    """functorch's maml-omniglot-transforms example: the net's parameters and buffers as dicts, fnet by
    torch.func.functional_call, the inner loop by torch.func.grad of the support loss (a dict of gradients),
    vmap over the tasks of the meta-batch of the query loss and accuracy (use_vmap False: a loop over the tasks,
    stacked), BatchNorm1d without running statistics (track_running_stats=False; bn False: none); Adam."""
    import functools
    nn, F = T.nn, T.nn.functional
    from_func = T.func

    def loss_for_task(net, n_inner_iter, x_spt, y_spt, x_qry, y_qry):
        params, buffers, fnet = net
        querysz = x_qry.size(0)

        def compute_loss(new_params, buffers, x, y):
            logits = fnet(new_params, buffers, x)
            loss = F.cross_entropy(logits, y)
            return loss

        new_params = params
        for _ in range(n_inner_iter):
            grads = from_func.grad(compute_loss)(new_params, buffers, x_spt, y_spt)
            new_params = {k: new_params[k] - g * 1e-1 for k, g, in grads.items()}
        qry_logits = fnet(new_params, buffers, x_qry)
        qry_loss = F.cross_entropy(qry_logits, y_qry)
        qry_acc = (qry_logits.argmax(dim=1) == y_qry).sum() / querysz
        return qry_loss, qry_acc

    norm = [nn.BatchNorm1d(8, momentum=1, affine=True, track_running_stats=False)] if bn else []
    # (no bias before the BatchNorm: its gradient is rounding noise, which Adam's normalisation would amplify)
    net = nn.Sequential(nn.Linear(4, 8, bias=not bn), *norm, nn.ReLU(inplace=True), nn.Linear(8, n_way))
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    meta_opt = T.optim.Adam(net.parameters(), lr=1e-2)
    out = []
    for batch in tasks:
        x_spt, y_spt, x_qry, y_qry = (T.tensor(np.stack(a)) for a in zip(*batch))
        net.train()
        params = dict(net.named_parameters())
        buffers = dict(net.named_buffers())
        fnet = lambda p, b, x: from_func.functional_call(net, (p, b), (x,))  # noqa: E731
        compute_loss_for_task = functools.partial(loss_for_task, (params, buffers, fnet), 2)
        meta_opt.zero_grad()
        if use_vmap:
            qry_losses, qry_accs = from_func.vmap(compute_loss_for_task)(x_spt, y_spt, x_qry, y_qry)
        else:
            qry_losses, qry_accs = (T.stack(r) for r in zip(*(compute_loss_for_task(*a) for a in
                                                              zip(x_spt, y_spt, x_qry, y_qry))))
        qry_losses.sum().backward()
        out += [qry_losses, qry_accs, _grads(net)]
        meta_opt.step()
    return out + [net.state_dict()]


@pytest.mark.parametrize("bn", [False, True])
def test_functorch_maml_vmap_grad(torch, bn):
    """With the BatchNorm, torch 2.13's vmap of func.grad gets the second-order term through batch_norm's input
    wrong (its meta-gradient differs from its own loop over the tasks, which central differences confirm): ours,
    by vmap, is compared with torch's loop there, and with our loop."""
    rng = _rng(6)
    tasks = [_episodes(rng, 3, 3, 2, 2, 4) for _ in range(3)]
    sd = functorch_maml(torch, None, None, 3, bn)
    ours = functorch_maml(tg, sd, tasks, 3, bn)
    _compare(ours, functorch_maml(torch, sd, tasks, 3, bn, use_vmap=not bn))
    _compare(ours, functorch_maml(tg, sd, tasks, 3, bn, use_vmap=False))


def learn2learn_maml_lstm(T, sd, tasks, n_way, first_order):
    """learn2learn's MAML wrapper as it is written (clone_module: module.__new__, __dict__ copies, parameters
    cloned into _parameters memoised by param.data_ptr, flatten_parameters' modules re-applied by
    _apply(lambda x: x); update_module: p.update set on parameters, p + p.update put into _parameters memoised by
    the tensor) around a sequence classifier with an nn.LSTM (batch_first) and a head: adapt by autograd.grad with
    create_graph (not first_order), the query losses of the meta-batch averaged; Adam."""
    nn, F = T.nn, T.nn.functional

    def clone_module(module, memo=None):
        if memo is None:
            memo = {}
        if not isinstance(module, T.nn.Module):
            return module
        clone = module.__new__(type(module))
        clone.__dict__ = module.__dict__.copy()
        clone._parameters = clone._parameters.copy()
        clone._buffers = clone._buffers.copy()
        clone._modules = clone._modules.copy()
        if hasattr(clone, "_parameters"):
            for param_key in module._parameters:
                if module._parameters[param_key] is not None:
                    param = module._parameters[param_key]
                    param_ptr = param.data_ptr
                    if param_ptr in memo:
                        clone._parameters[param_key] = memo[param_ptr]
                    else:
                        cloned = param.clone()
                        clone._parameters[param_key] = cloned
                        memo[param_ptr] = cloned
        if hasattr(clone, "_buffers"):
            for buffer_key in module._buffers:
                if clone._buffers[buffer_key] is not None and clone._buffers[buffer_key].requires_grad:
                    buff = module._buffers[buffer_key]
                    buff_ptr = buff.data_ptr
                    if buff_ptr in memo:
                        clone._buffers[buffer_key] = memo[buff_ptr]
                    else:
                        cloned = buff.clone()
                        clone._buffers[buffer_key] = cloned
                        memo[buff_ptr] = cloned
        if hasattr(clone, "_modules"):
            for module_key in clone._modules:
                clone._modules[module_key] = clone_module(module._modules[module_key], memo=memo)
        if hasattr(clone, "flatten_parameters"):
            clone = clone._apply(lambda x: x)
        return clone

    def update_module(module, updates=None, memo=None):
        if memo is None:
            memo = {}
        if updates is not None:
            params = list(module.parameters())
            for p, g in zip(params, updates):
                p.update = g
        for param_key in module._parameters:
            p = module._parameters[param_key]
            if p in memo:
                module._parameters[param_key] = memo[p]
            else:
                if p is not None and hasattr(p, "update") and p.update is not None:
                    updated = p + p.update
                    p.update = None
                    memo[p] = updated
                    module._parameters[param_key] = updated
        for module_key in module._modules:
            module._modules[module_key] = update_module(module._modules[module_key], updates=None, memo=memo)
        if hasattr(module, "flatten_parameters"):
            module._apply(lambda x: x)
        return module

    def maml_update(model, lr, grads=None):
        if grads is not None:
            params = list(model.parameters())
            for p, g in zip(params, grads):
                if g is not None:
                    p.update = - lr * g
        return update_module(model)

    class MAML(nn.Module):
        def __init__(self, model, lr, first_order=False):
            super().__init__()
            self.module, self.lr, self.first_order = model, lr, first_order

        def forward(self, *args, **kwargs):
            return self.module(*args, **kwargs)

        def adapt(self, loss):
            second_order = not self.first_order
            gradients = T.autograd.grad(loss, self.module.parameters(), retain_graph=second_order,
                                        create_graph=second_order, allow_unused=False)
            self.module = maml_update(self.module, self.lr, gradients)

        def clone(self):
            return MAML(clone_module(self.module), lr=self.lr, first_order=self.first_order)

    class SeqClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(2, 5, batch_first=True)
            self.head = nn.Linear(5, n_way)

        def forward(self, x):
            out, (h, c) = self.lstm(x)
            return self.head(h[-1])

    model = SeqClassifier()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    maml = MAML(model, lr=0.5, first_order=first_order)
    opt = T.optim.Adam(maml.parameters(), 1e-2)
    out = []
    for batch in tasks:
        opt.zero_grad()
        meta_loss = 0.0
        for xs, ys, xq, yq in batch:
            learner = maml.clone()
            for _ in range(2):
                learner.adapt(F.cross_entropy(learner(T.tensor(xs).view(-1, 2, 2)), T.tensor(ys)))
            logits = learner(T.tensor(xq).view(-1, 2, 2))
            meta_loss = meta_loss + F.cross_entropy(logits, T.tensor(yq))
            out.append(logits)
        (meta_loss / len(batch)).backward()
        out += [meta_loss, _grads(model)]
        opt.step()
    return out + [model.state_dict()]


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")  # (_apply's, torch's too)
@pytest.mark.parametrize("first_order", [False, True])
def test_learn2learn_maml_clone_module_lstm(torch, first_order):
    rng = _rng(7)
    tasks = [_episodes(rng, 2, 3, 2, 2, 4) for _ in range(3)]
    sd = learn2learn_maml_lstm(torch, None, None, 3, first_order)
    _compare(learn2learn_maml_lstm(tg, sd, tasks, 3, first_order),
             learn2learn_maml_lstm(torch, sd, tasks, 3, first_order))


def snail(T, sd, tasks, n_way, k_shot):
    """SNAIL (eambutu/snail-pytorch): episodes as sequences of (embedding, one-hot label) with the last label
    zeroed, TC blocks of dense blocks (causal Conv1d by padding dilation * (k - 1) and cutting the tail,
    tanh * sigmoid gating, concatenation), attention blocks (a causal mask by masked_fill_ on temp.data with -inf,
    softmax over dim 1 as written, bmm, concatenation), a final Linear on the last step; Adam."""
    nn, F = T.nn, T.nn.functional

    class CasualConv1d(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1, dilation=1, groups=1, bias=True):
            super().__init__()
            self.dilation = dilation
            padding = dilation * (kernel_size - 1)
            self.conv1d = nn.Conv1d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)

        def forward(self, input):
            out = self.conv1d(input)
            return out[:, :, :-self.dilation]

    class DenseBlock(nn.Module):
        def __init__(self, in_channels, dilation, filters, kernel_size=2):
            super().__init__()
            self.casualconv1 = CasualConv1d(in_channels, filters, kernel_size, dilation=dilation)
            self.casualconv2 = CasualConv1d(in_channels, filters, kernel_size, dilation=dilation)

        def forward(self, input):
            xf = self.casualconv1(input)
            xg = self.casualconv2(input)
            activations = F.tanh(xf) * F.sigmoid(xg)
            return T.cat((input, activations), dim=1)

    class TCBlock(nn.Module):
        def __init__(self, in_channels, seq_length, filters):
            super().__init__()
            self.dense_blocks = nn.ModuleList([DenseBlock(in_channels + i * filters, 2 ** (i + 1), filters)
                                               for i in range(int(math.ceil(math.log(seq_length, 2))))])

        def forward(self, input):
            input = T.transpose(input, 1, 2)
            for block in self.dense_blocks:
                input = block(input)
            return T.transpose(input, 1, 2)

    class AttentionBlock(nn.Module):
        def __init__(self, in_channels, key_size, value_size):
            super().__init__()
            self.linear_query = nn.Linear(in_channels, key_size)
            self.linear_keys = nn.Linear(in_channels, key_size)
            self.linear_values = nn.Linear(in_channels, value_size)
            self.sqrt_key_size = math.sqrt(key_size)

        def forward(self, input):
            mask = np.array([[1 if i > j else 0 for i in range(input.shape[1])] for j in range(input.shape[1])])
            mask = T.BoolTensor(mask)
            keys = self.linear_keys(input)
            query = self.linear_query(input)
            values = self.linear_values(input)
            temp = T.bmm(query, T.transpose(keys, 1, 2))
            temp.data.masked_fill_(mask, -float("inf"))
            temp = F.softmax(temp / self.sqrt_key_size, dim=1)
            temp = T.bmm(temp, values)
            return T.cat((input, temp), dim=2)

    class SnailFewShot(nn.Module):
        def __init__(self, N, K, emb=4):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(4, emb), nn.ReLU())
            num_channels = emb + N
            num_filters = int(math.ceil(math.log(N * K + 1, 2)))
            self.attention1 = AttentionBlock(num_channels, 4, 3)
            num_channels += 3
            self.tc1 = TCBlock(num_channels, N * K + 1, 4)
            num_channels += num_filters * 4
            self.attention2 = AttentionBlock(num_channels, 4, 3)
            num_channels += 3
            self.fc = nn.Linear(num_channels, N)
            self.N, self.K = N, K

        def forward(self, input, labels):
            x = self.encoder(input)
            batch_size = int(labels.size()[0] / (self.N * self.K + 1))
            last_idxs = [(i + 1) * (self.N * self.K + 1) - 1 for i in range(batch_size)]
            labels[last_idxs] = T.Tensor(T.zeros((batch_size, labels.size()[1])))
            x = T.cat((x, labels), 1)
            x = x.view((batch_size, self.N * self.K + 1, -1))
            x = self.attention1(x)
            x = self.tc1(x)
            x = self.attention2(x)
            x = self.fc(x)
            return x

    model = SnailFewShot(n_way, k_shot)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optim = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for batch in tasks:
        xs_all, ys_all, last_targets = [], [], []
        for xs, ys, xq, yq in batch:  # each episode: the support then one query
            xs_all += [xs, xq[:1]]
            ys_all += [ys, yq[:1]]
            last_targets.append(yq[0])
        x = T.tensor(np.concatenate(xs_all))
        y = T.tensor(np.concatenate(ys_all))
        labels = F.one_hot(y, n_way).double()
        model_output = model(x, labels)
        last_model = model_output[:, -1, :]
        loss = F.cross_entropy(last_model, T.tensor(np.array(last_targets)))
        optim.zero_grad()
        loss.backward()
        out += [model_output, loss, _grads(model)]
        optim.step()
    return out + [model.state_dict()]


def test_snail_tc_and_attention_blocks(torch):
    rng = _rng(8)
    tasks = [_episodes(rng, 2, 3, 2, 1, 4) for _ in range(3)]
    sd = snail(torch, None, None, 3, 2)
    _compare(snail(tg, sd, tasks, 3, 2), snail(torch, sd, tasks, 3, 2))
